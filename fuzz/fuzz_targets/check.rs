//! The checker on a one-file project: never a panic or a hang; every diagnostic renders.
#![no_main]

#[path = "../oracles.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracles::check(&oracles::text(data), oracles::one_format(data));
});
