//! Rows at the edge of the API: request bodies checked and converted into
//! typed rows, stored rows rendered as JSON. No rules here: what a caller
//! may see is decided by `authz` and passed in.

pub mod input;
pub mod output;
