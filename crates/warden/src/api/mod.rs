//! The HTTP surface: axum routers for resources, auth and health,
//! assembled into one router that any axum app can mount.

pub mod auth;
mod form_token;
pub mod headers;
pub mod limits;
pub mod openapi;
pub mod resources;

use crate::app::App;
use crate::problem::{Kind, Problem};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::trace::TraceLayer;

impl App {
    /// The whole API as a router: `/api/*`, `/auth/*`, `/healthz`, and the
    /// HTML pages (`/`, `/ui/*`).
    pub fn router(&self) -> Router {
        let limits = self.config().limits;
        let max_body = limits.max_body_bytes as usize;
        Router::new()
            .route(
                "/api/{resource}",
                get(resources::list_or_page).post(resources::create),
            )
            .route(
                "/api/{resource}/{id}",
                get(resources::read_or_page)
                    .patch(resources::patch)
                    .put(resources::put)
                    .delete(resources::delete),
            )
            .route("/auth/token", post(auth::token))
            .route("/auth/register", post(auth::register))
            .route("/auth/login", get(crate::ui::login).post(auth::login))
            .route("/auth/logout", post(auth::logout))
            .route("/auth/me", get(auth::me))
            .route("/openapi.json", get(openapi::document))
            .route("/healthz", get(|| async { "ok" }))
            .merge(crate::ui::router())
            .fallback(|| async { Problem::new(Kind::NotFound, "no such endpoint") })
            .method_not_allowed_fallback(|| async {
                Problem::new(
                    Kind::MethodNotAllowed,
                    "this endpoint does not take that method",
                )
            })
            // Each `Router::layer` call wraps every route once more, and
            // each wrap boxes every request's future again (moving it to
            // the heap): one call for the whole stack, outermost first.
            .layer(
                ServiceBuilder::new()
                    .layer(SetSensitiveHeadersLayer::new([
                        AUTHORIZATION,
                        COOKIE,
                        SET_COOKIE,
                    ]))
                    // Outside the limits: their 503s and 429s get them too.
                    .layer(axum::middleware::from_fn(headers::set))
                    .layer(TraceLayer::new_for_http())
                    .layer(limits::layer(&limits))
                    .layer(axum::middleware::map_response(crate::problem::plain_errors))
                    .layer(DefaultBodyLimit::max(max_body))
                    .layer(axum::middleware::from_fn_with_state(
                        max_body,
                        form_token::form_token,
                    )),
            )
            .with_state(self.clone())
    }
}
