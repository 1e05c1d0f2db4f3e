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

/// The current time in Unix seconds, as the credential tables store it.
pub fn now() -> i64 {
    i64::try_from(crate::token::now_seconds()).unwrap_or(i64::MAX)
}
