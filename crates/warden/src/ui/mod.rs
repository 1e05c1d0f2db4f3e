//! Server-rendered HTML pages for every resource of a config: login, home,
//! and per resource list (search, sort, pages), view, edit, new and delete
//! with confirmation, under `/ui`; a browser's `GET /api/<resource>[/<id>]`
//! gets the same pages. Pages call `Authz` exactly as the JSON handlers do
//! and show an action disabled when `Authz::may`/`may_on` says the caller
//! may not take it. This module must not read the store, decide access,
//! or render a field the JSON answer leaves out.

mod error;
mod flash;
mod form;
mod pages;
pub mod redirect;
mod templates;

pub use pages::{logged_out, login, login_page};

use crate::app::App;
use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// The page routes: `/`, `/ui`, `/ui/style.css` and `/ui/<resource>/...`.
pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui") }))
        .route("/ui", get(pages::home))
        .route("/ui/style.css", get(stylesheet))
        .route("/ui/{resource}", get(pages::list))
        .route(
            "/ui/{resource}/new",
            get(pages::new_form).post(pages::create),
        )
        .route("/ui/{resource}/{id}", get(pages::view))
        .route(
            "/ui/{resource}/{id}/edit",
            get(pages::edit_form).post(pages::update),
        )
        .route(
            "/ui/{resource}/{id}/delete",
            get(pages::delete_form).post(pages::delete),
        )
        .layer(axum::middleware::from_fn(login_redirect))
}

/// A browser's `GET /api/<resource>`: the list page (see `wants_html`).
pub async fn list_page(app: App, request: Request) -> Response {
    let uri = request.uri().clone();
    to_login_when_unauthenticated(&uri, pages::list.call(request, app).await)
}

/// A browser's `GET /api/<resource>/<id>`: the row's page.
pub async fn view_page(app: App, request: Request) -> Response {
    let uri = request.uri().clone();
    to_login_when_unauthenticated(&uri, pages::view.call(request, app).await)
}

async fn login_redirect(request: Request, next: Next) -> Response {
    let uri = request.uri().clone();
    let response = next.run(request).await;
    to_login_when_unauthenticated(&uri, response)
}

/// A page that needs a login sends the browser to the login page, which
/// sends it back here (`next`) afterwards.
fn to_login_when_unauthenticated(uri: &Uri, response: Response) -> Response {
    if response.status() != StatusCode::UNAUTHORIZED {
        return response;
    }
    let here = uri.path_and_query().map_or("/ui", |pq| pq.as_str());
    let query = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
    Redirect::to(&format!("/auth/login?{query}")).into_response()
}

/// Whether the client prefers HTML to JSON: `text/html` (or XHTML) is
/// acceptable and ranks above `application/json`, by quality and then by
/// order. Browsers send `text/html,...,*/*;q=0.8`; API clients send JSON
/// types, `*/*`, or nothing.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut html: Option<(f32, usize)> = None;
    let mut json: Option<(f32, usize)> = None;
    for (position, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let slot = match media.as_str() {
            "text/html" | "application/xhtml+xml" => &mut html,
            "application/json" | "application/problem+json" => &mut json,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some((quality, position));
        }
    }
    match (html, json) {
        (Some((q, _)), None) => q > 0.0,
        (Some((hq, hp)), Some((jq, jp))) => hq > jq || (hq >= jq && hq > 0.0 && hp < jp),
        _ => false,
    }
}

async fn stylesheet() -> Response {
    let mut response = templates::STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        assert!(wants_html(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(wants_html(&accept("text/html")));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&accept("application/json, text/html")));
        assert!(wants_html(&accept("text/html, application/json")));
        assert!(!wants_html(&accept("text/html;q=0.5, application/json")));
        assert!(!wants_html(&accept("text/html;q=0")));
        assert!(!wants_html(&HeaderMap::new()));
    }
}
