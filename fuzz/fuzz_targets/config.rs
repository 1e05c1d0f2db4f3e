//! cargo-fuzz entry for `config`. The body is `fuzz/bodies/config.rs`,
//! which `crates/warden/tests/fuzz_replay.rs` also runs in CI over the
//! seeds, the regressions and mutations of them.

#![no_main]

#[path = "../bodies/config.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
