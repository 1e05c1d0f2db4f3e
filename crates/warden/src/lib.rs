//! The warden engine: config, store, authentication, authorization and the
//! HTTP API, mountable into any axum app.

pub mod auth;
pub mod config;
pub mod store;
pub mod timestamp;
