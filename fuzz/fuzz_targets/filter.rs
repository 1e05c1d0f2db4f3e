//! cargo-fuzz entry for `filter`. The body is `fuzz/bodies/filter.rs`,
//! which `crates/warden/tests/fuzz_replay.rs` also runs in CI over the
//! seeds, the regressions and mutations of them.

#![no_main]

#[path = "../bodies/filter.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
