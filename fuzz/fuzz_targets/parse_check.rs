//! cargo-fuzz entry for `parse_check`. The body is `fuzz/bodies/parse_check.rs`,
//! which `crates/warden/tests/fuzz_replay.rs` also runs in CI over the
//! seeds, the regressions and mutations of them.

#![no_main]

#[path = "../bodies/parse_check.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
