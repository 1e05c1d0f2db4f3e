//! Who is calling: passwords now; tokens, sessions and scopes later.

pub mod password;
