//! The test harness of crates/warden (its tests/common: a server on a free
//! port over a fresh database per backend, a client, fixtures), shared
//! rather than copied, and `warden serve` as a child process: only this
//! crate's tests can run the binary.
#![allow(dead_code)]

#[path = "../../../warden/tests/common/mod.rs"]
mod harness;
pub mod process;

// Not every test file uses every item.
#[allow(unused_imports)]
pub use harness::*;
