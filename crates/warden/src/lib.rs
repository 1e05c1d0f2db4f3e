//! warden: authorization-first REST backend. One TOML file (or the same
//! thing built in code) declares resources, users and one rule per action;
//! warden serves a JSON and HTML API over SQLite or PostgreSQL and enforces
//! every rule inside the SQL query. This crate is also a library for your
//! own axum app:
//!
//! | item | what it is for |
//! |---|---|
//! | [`Warden`] | the engine: [`Warden::from_file`] or [`Warden::builder`], then [`Builder::build`] |
//! | [`Warden::router`] | the built-in API as an axum `Router` to `merge` |
//! | [`Principal`], [`MaybePrincipal`] | extractors: who is calling (401 when required and absent) |
//! | [`Warden::require_scopes`] | a layer: 401/403 unless the caller holds the scopes |
//! | [`Warden::guard`] → [`Guard`] | list, read, create, update, delete, [`Guard::authorize`] an action on a row, or [`Guard::list_scope`] for your own `SELECT` |
//! | [`Warden::log_in`], [`Warden::issue_token`] | credentials for your own login route |
//! | [`serve`] | serve your router as `warden serve` does (client addresses, graceful shutdown) |
//! | [`Error`] | why a guarded action was refused; `IntoResponse` as problem+json |
//! | [`Auth`], [`Resource`], [`Field`] | a config written in Rust |
//! | [`admin`] | what the `warden` command does (check, test, migrate, seed, explain, accounts), for your own commands |
//!
//! ```
//! # tokio_test::block_on(async {
//! use axum::{Router, extract::{Path, State}, routing::post};
//! use warden::{Action, Principal, Warden};
//!
//! /// A route of your own that only the post's owner may use: the
//! /// `update` rule of `posts` decides, with warden's statuses.
//! async fn publish(
//!     State(warden): State<Warden>,
//!     principal: Principal,
//!     Path(id): Path<String>,
//! ) -> Result<String, warden::Error> {
//!     let post = warden.guard(Some(&principal)).authorize(Action::Update, "posts", &id).await?;
//!     Ok(format!("publishing {}", post.json["title"]))
//! }
//!
//! let warden = Warden::from_file("../../examples/posts/warden.toml")
//!     .database("sqlite::memory:")
//!     .jwt_secret("a-secret-of-at-least-32-bytes-long!!")
//!     .build()
//!     .await?;
//! let app: Router = Router::new()
//!     .route("/posts/{id}/publish", post(publish))
//!     .with_state(warden.clone())
//!     .merge(warden.router());
//! # drop(app);
//! # Ok::<(), warden::BuildError>(())
//! # }).unwrap();
//! ```
//!
//! The `warden` binary (package `warden-cli`) uses only these items. The
//! modules hidden from these docs are the engine's inside, for its own
//! tests, fuzzing and benchmark; they are not a stable interface.

pub mod admin;
mod library;

pub use auth::login::LoginError;
pub use auth::session::SessionError;
pub use authz::{AuthzError as Error, Item, Page};
pub use library::{
    Auth, BuildError, Builder, Field, Guard, ListScope, MaybePrincipal, Principal, RequireScopes,
    RequireScopesLayer, Resource, Warden,
};
pub use password::PasswordError;
pub use query::{Cursor, ListQuery, QueryError, SortKey};
pub use rows::input::InputError;
pub use server::serve_router as serve;
pub use warden_policy::{Action, Dialect, Value};
pub use {sea_query, sea_query_sqlx, sqlx};

#[doc(hidden)]
pub mod api;
#[doc(hidden)]
pub mod app;
#[doc(hidden)]
pub mod auth;
#[doc(hidden)]
pub mod authz;
#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod explain;
#[doc(hidden)]
pub mod login_name;
#[doc(hidden)]
pub mod password;
#[doc(hidden)]
pub mod policy;
#[doc(hidden)]
pub mod problem;
mod query;
#[doc(hidden)]
pub mod rls;
#[doc(hidden)]
pub mod rows;
#[doc(hidden)]
pub mod rule_tests;
#[doc(hidden)]
pub mod server;
#[doc(hidden)]
pub mod store;
#[doc(hidden)]
pub mod timestamp;
#[doc(hidden)]
pub mod token;
#[doc(hidden)]
pub mod ui;
