//! The parser on arbitrary bytes: never a panic or a hang; formatting is idempotent and keeps
//! the tree.
#![no_main]

#[path = "../oracles.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracles::parse(&oracles::text(data));
});
