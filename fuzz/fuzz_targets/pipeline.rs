//! The whole pipeline in memory (`sight.toml` NUL spec → compile → emit): a checked project
//! always emits, inside the output root, and its YAML and JSON artifacts parse.
#![no_main]

#[path = "../oracles.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracles::pipeline(data, oracles::one_format(data));
});
