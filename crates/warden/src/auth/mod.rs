//! Who is calling: passwords, access tokens, sessions, login limits, and
//! the per-request caller. Deciding what a caller may do is `authz`'s job.

pub mod accounts;
pub mod caller;
pub mod client;
pub mod csrf;
pub mod limit;
pub mod login;
pub mod secret;
pub mod session;
