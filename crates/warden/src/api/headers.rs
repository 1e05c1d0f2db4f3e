//! Headers that tell browsers and caches how to treat an answer: on every
//! answer `X-Content-Type-Options: nosniff`; on HTML pages a strict
//! Content-Security-Policy (the pages run no script, load only
//! `/ui/style.css`, post forms only here and may not be framed),
//! `X-Frame-Options: DENY` and `Referrer-Policy: same-origin`; and
//! `Cache-Control: no-store` on every answer to a request that carried
//! credentials (an `Authorization` or `Cookie` header), every answer that
//! sets a cookie and every `/auth/*` answer, unless its handler chose a
//! `Cache-Control` itself (the shared stylesheet). It must not change a
//! status or a body.

use axum::extract::Request;
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, REFERRER_POLICY,
    SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The pages' policy: nothing but the one stylesheet (the templates have
/// no script, no inline style, no image, no font), forms posted only to
/// this site (the login's redirect included), no `<base>`, never framed.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; form-action 'self'; \
                               frame-ancestors 'none'; base-uri 'none'";

/// `same-origin`, not `no-referrer`: with `no-referrer` browsers send
/// `Origin: null` on the pages' own form posts, which an origin check of
/// those posts would have to refuse.
const REFERRER: &str = "same-origin";

/// The middleware (`axum::middleware::from_fn`).
pub async fn set(request: Request, next: Next) -> Response {
    let private =
        carries_credentials(request.headers()) || request.uri().path().starts_with("/auth/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if is_html(headers) {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        );
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(REFERRER_POLICY, HeaderValue::from_static(REFERRER));
    }
    if (private || headers.contains_key(SET_COOKIE)) && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Any `Authorization` or `Cookie` header: the answer may be the caller's
/// own, whether or not the credential turned out valid.
fn carries_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(AUTHORIZATION) || headers.contains_key(COOKIE)
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"))
}
