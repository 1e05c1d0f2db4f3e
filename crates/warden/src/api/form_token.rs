//! HTML forms cannot set headers, so a cookie-authenticated form post
//! carries its CSRF token as the `csrf_token` field: [`form_token`] copies
//! that field into the `X-CSRF-Token` header, where the caller extractor
//! checks it. It must not check the token itself, and touches only unsafe,
//! form-encoded requests that carry a cookie but no such header.

use crate::auth::caller::CSRF_HEADER;
use crate::problem::{Kind, Problem};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// `max_body`: the configured body limit (`[limits] max_body_bytes`).
pub async fn form_token(State(max_body): State<usize>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if request.method().is_safe()
        || !is_form
        || !headers.contains_key(COOKIE)
        || headers.contains_key(CSRF_HEADER)
    {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, max_body).await else {
        return Problem::new(Kind::PayloadTooLarge, "the form is too large").into_response();
    };
    let token = form_urlencoded_value(&bytes, "csrf_token");
    if let Some(value) = token.and_then(|t| HeaderValue::from_str(&t).ok()) {
        parts.headers.insert(CSRF_HEADER, value);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn form_urlencoded_value(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}
