//! Who is calling: passwords, access tokens, and the per-request caller.

pub mod caller;
pub mod password;
pub mod token;
