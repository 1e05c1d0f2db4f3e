//! The warden engine: config, store, authentication, authorization and the
//! HTTP API, mountable into any axum app.

pub mod api;
pub mod app;
pub mod auth;
pub mod authz;
pub mod config;
pub mod explain;
pub mod policy;
pub mod policy_tests;
pub mod rls;
pub mod rows;
pub mod server;
pub mod store;
pub mod timestamp;
pub mod ui;
