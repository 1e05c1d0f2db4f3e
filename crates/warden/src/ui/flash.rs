//! Flash messages: one line of text shown on the next page after an
//! action, carried by a short-lived cookie. It must carry only text the
//! server wrote, and pages show it escaped like any other value.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const FLASH_COOKIE: &str = "warden_flash";
const MAX_LENGTH: usize = 300;

/// Adds the message to a response (usually a redirect).
pub fn set(response: &mut Response, message: &str) {
    let value = URL_SAFE_NO_PAD.encode(message);
    append(
        response,
        &format!("{FLASH_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age=60"),
    );
}

/// The message the request carries, if any.
pub fn take(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == FLASH_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))?;
    let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    (!text.is_empty()).then(|| text.chars().take(MAX_LENGTH).collect())
}

/// Ends the message once a page has shown it.
pub fn clear(response: &mut Response) {
    append(
        response,
        &format!("{FLASH_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"),
    );
}

fn append(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    #[test]
    fn a_message_survives_the_round_trip() {
        let mut response = ().into_response();
        set(&mut response, "Saved employee 10003.");
        let cookie = response
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("a=b; {cookie}"))
                .unwrap_or(HeaderValue::from_static("")),
        );
        assert_eq!(take(&headers).as_deref(), Some("Saved employee 10003."));
    }

    #[test]
    fn garbage_is_no_message() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("warden_flash=%%%"));
        assert_eq!(take(&headers), None);
    }
}
