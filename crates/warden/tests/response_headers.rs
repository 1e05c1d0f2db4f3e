//! What answers tell browsers and caches: every answer is
//! `X-Content-Type-Options: nosniff`; HTML pages carry a strict
//! Content-Security-Policy with `frame-ancestors 'none'`,
//! `X-Frame-Options: DENY` and `Referrer-Policy: same-origin`; answers to
//! requests with credentials (bearer or cookie), answers that set a cookie
//! and every `/auth/*` answer are `Cache-Control: no-store`. On the posts
//! example, SQLite and PostgreSQL.

mod common;

use common::{PASSWORD, Reply, on_each_backend};
use reqwest::Method;

const BROWSER: (&str, &str) = ("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; form-action 'self'; \
                           frame-ancestors 'none'; base-uri 'none'";

#[track_caller]
fn assert_page_headers(reply: &Reply, context: &str) {
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{context}: not a page: {:?}",
        reply.headers
    );
    assert_eq!(
        reply.header("content-security-policy"),
        Some(PAGE_POLICY),
        "{context}"
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{context}");
    assert_eq!(
        reply.header("referrer-policy"),
        Some("same-origin"),
        "{context}"
    );
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{context}"
    );
}

#[tokio::test]
async fn pages_may_not_be_framed_sniffed_or_run_scripts() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        for (path, token, status) in [
            ("/auth/login", None, 200),
            ("/ui/posts", None, 200),
            ("/api/posts/4", None, 200),
            ("/ui/posts/4/edit", Some(token.as_str()), 200),
            ("/ui/posts/5/edit", Some(token.as_str()), 403),
            ("/ui/nothing-here", Some(token.as_str()), 404),
        ] {
            let reply = app.raw(Method::GET, path, token, &[BROWSER], None).await;
            let context = format!("{:?} GET {path}", app.backend);
            assert_eq!(reply.status, status, "{context}: {}", reply.text);
            assert_page_headers(&reply, &context);
        }
        // A failed form login answers the login page again.
        let reply = app
            .raw(
                Method::POST,
                "/auth/login",
                None,
                &[
                    BROWSER,
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                Some(b"login=user21%40example.com&password=wrong".to_vec()),
            )
            .await;
        assert_eq!(reply.status, 401, "{}", reply.text);
        assert_page_headers(&reply, "failed form login");
    })
    .await;
}

#[tokio::test]
async fn every_answer_is_nosniff() {
    on_each_backend("posts", |app| async move {
        for (method, path, status) in [
            (Method::GET, "/api/posts", 200),
            (Method::GET, "/api/posts/4", 200),
            (Method::GET, "/api/posts/999", 404),
            (Method::GET, "/api/votes", 401),
            (Method::DELETE, "/healthz", 405),
            (Method::GET, "/healthz", 200),
            (Method::GET, "/openapi.json", 200),
            (Method::GET, "/ui/style.css", 200),
            (Method::GET, "/nowhere", 404),
        ] {
            let reply = app.raw(method.clone(), path, None, &[], None).await;
            let context = format!("{:?} {method} {path}", app.backend);
            assert_eq!(reply.status, status, "{context}: {}", reply.text);
            assert_eq!(
                reply.header("x-content-type-options"),
                Some("nosniff"),
                "{context}"
            );
            // JSON and plain answers are no pages.
            if path != "/ui/style.css" {
                assert!(
                    reply.header("content-security-policy").is_none(),
                    "{context}"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn answers_to_credentials_and_from_auth_are_not_stored() {
    on_each_backend("posts", |app| async move {
        let context = format!("{:?}", app.backend);
        let token = app.login("user21@example.com").await;
        let cache = |reply: &Reply| reply.header("cache-control").map(str::to_owned);
        let no_store = Some("no-store".to_owned());

        // Anonymous public data may be cached by whoever wants to.
        let anonymous = app.raw(Method::GET, "/api/posts", None, &[], None).await;
        assert_eq!(cache(&anonymous), None, "{context}: anonymous list");

        // With a bearer token: the answer, a refusal, an error alike.
        for (method, path) in [
            (Method::GET, "/api/posts"),
            (Method::GET, "/api/posts/4"),
            (Method::GET, "/api/users/21"),
            (Method::GET, "/api/users/22"),
            (Method::DELETE, "/api/posts/5"),
            (Method::GET, "/api/nothing"),
        ] {
            let reply = app.raw(method.clone(), path, Some(&token), &[], None).await;
            assert_eq!(cache(&reply), no_store, "{context}: bearer {method} {path}");
        }
        // A bad token is a credential too: the 401 is not stored either.
        let reply = app
            .raw(Method::GET, "/api/posts", Some("not-a-token"), &[], None)
            .await;
        assert_eq!(reply.status, 401);
        assert_eq!(cache(&reply), no_store, "{context}: bad bearer");

        // A cookie session: logging in sets the cookie, reads send it.
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let login = browser
            .post(app.url("/auth/login"))
            .json(&serde_json::json!({"login": "user21@example.com", "password": PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), 200);
        assert!(login.headers().contains_key("set-cookie"));
        assert_eq!(header(&login, "cache-control"), Some("no-store"));
        let read = browser
            .get(app.url("/api/posts/4"))
            .send()
            .await
            .expect("read");
        assert_eq!(read.status(), 200);
        assert_eq!(
            header(&read, "cache-control"),
            Some("no-store"),
            "{context}: cookie read"
        );

        // Every /auth answer, with or without credentials.
        for (method, path, token) in [
            (Method::GET, "/auth/login", None),
            (Method::GET, "/auth/me", Some(token.as_str())),
            (Method::GET, "/auth/me", None),
            (Method::POST, "/auth/register", None),
            (Method::POST, "/auth/logout", None),
        ] {
            let reply = app.raw(method.clone(), path, token, &[], None).await;
            assert_eq!(cache(&reply), no_store, "{context}: {method} {path}");
        }

        // The shared stylesheet keeps its own caching, credentials or not.
        let css = app
            .raw(Method::GET, "/ui/style.css", Some(&token), &[], None)
            .await;
        assert_eq!(
            cache(&css).as_deref(),
            Some("public, max-age=3600"),
            "{context}"
        );
    })
    .await;
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}
