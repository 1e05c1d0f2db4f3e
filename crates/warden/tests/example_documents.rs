//! Seed 003 (Flask "documents" with cookie sessions) replayed against the
//! `documents` example: logging in sets a session cookie; every route
//! needs a login except the document list, login and signup (the
//! tutorial's allow-list); 401 = not authenticated, 403 = authenticated
//! but not permitted; an admin role; and the tutorial's closing question
//! answered: only the author deletes.

mod common;

use common::{PASSWORD, Session, TestApp, field_values, on_each_backend};
use reqwest::Method;
use serde_json::{Value as Json, json};

/// ada (1) wrote document 1, ben (2) document 2; cleo (3) is an admin.
const ADA: &str = "ada";
const BEN: &str = "ben";
const CLEO: &str = "cleo";

async fn log_in(app: &TestApp, username: &str) -> Session {
    let reply = app
        .post_json(
            "/auth/login",
            json!({"username": username, "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
    let set_cookie = reply.header("set-cookie").expect("set-cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    reply.session()
}

fn edit() -> Json {
    json!({"title": "Edited", "content": "New text."})
}

#[tokio::test]
async fn anyone_lists_documents_without_logging_in() {
    on_each_backend("documents", |app| async move {
        let reply = app
            .as_browser(None, Method::GET, "/api/documents", None)
            .await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        let items = reply.json["items"].as_array().expect("items");
        assert_eq!(field_values(items, "id"), [json!(1), json!(2)]);
        assert_eq!(items[0]["title"], "Ada's plan");
    })
    .await;
}

#[tokio::test]
async fn anonymous_gets_401_on_every_document_route_but_the_list() {
    on_each_backend("documents", |app| async move {
        for (method, path, body) in [
            (Method::GET, "/api/documents/1", None),
            (Method::PATCH, "/api/documents/1", Some(edit())),
            (Method::PUT, "/api/documents/1", Some(edit())),
            (Method::DELETE, "/api/documents/1", None),
            (Method::POST, "/api/documents", Some(edit())),
            (Method::GET, "/api/documents/999", None),
            (Method::GET, "/api/users", None),
            (Method::GET, "/api/users/1", None),
            (Method::GET, "/auth/me", None),
        ] {
            let context = format!("{method} {path}");
            let reply = app.as_browser(None, method, path, body).await;
            reply.assert_problem(401, "unauthenticated", &context);
        }
        // The document is still there.
        let ada = log_in(&app, ADA).await;
        let reply = app
            .as_browser(Some(&ada), Method::GET, "/api/documents/1", None)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    })
    .await;
}

#[tokio::test]
async fn login_and_signup_are_public() {
    on_each_backend("documents", |app| async move {
        let reply = app
            .post_json(
                "/auth/register",
                json!({"username": "dora", "password": PASSWORD}),
            )
            .await;
        assert_eq!(reply.status, 201, "{:?}: {}", app.backend, reply.text);
        assert!(reply.json.get("password").is_none(), "{}", reply.text);
        let dora = log_in(&app, "dora").await;
        let reply = app
            .as_browser(Some(&dora), Method::GET, "/auth/me", None)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json["user"]["username"], "dora");
        // A wrong password is 401, not a session.
        let reply = app
            .post_json(
                "/auth/login",
                json!({"username": ADA, "password": "wrong-password"}),
            )
            .await;
        reply.assert_problem(401, "unauthenticated", "wrong password");
        assert!(reply.header("set-cookie").is_none());
    })
    .await;
}

#[tokio::test]
async fn logged_in_ben_reads_adas_document() {
    on_each_backend("documents", |app| async move {
        let ben = log_in(&app, BEN).await;
        let reply = app
            .as_browser(Some(&ben), Method::GET, "/api/documents/1", None)
            .await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        assert_eq!(reply.json["content"], "Only logged-in users read this.");
        let reply = app
            .as_browser(Some(&ben), Method::GET, "/api/documents/999", None)
            .await;
        reply.assert_problem(404, "not-found", "a missing document, logged in");
    })
    .await;
}

#[tokio::test]
async fn ben_gets_403_editing_or_deleting_adas_document() {
    on_each_backend("documents", |app| async move {
        let ben = log_in(&app, BEN).await;
        for method in [Method::PATCH, Method::DELETE] {
            let body = (method == Method::PATCH).then(edit);
            let reply = app
                .as_browser(Some(&ben), method, "/api/documents/1", body)
                .await;
            reply.assert_problem(403, "forbidden", "ben on ada's document");
        }
        let reply = app
            .as_browser(Some(&ben), Method::GET, "/api/users/1", None)
            .await;
        reply.assert_problem(403, "forbidden", "ben reads ada's account");
    })
    .await;
}

#[tokio::test]
async fn a_cookie_write_without_the_csrf_token_is_refused() {
    on_each_backend("documents", |app| async move {
        let ada = log_in(&app, ADA).await;
        let reply = app
            .json_with(
                Method::DELETE,
                "/api/documents/1",
                None,
                &[("cookie", &ada.cookie)],
                None,
            )
            .await;
        reply.assert_problem(403, "forbidden", "no CSRF token");
        let reply = app
            .as_browser(Some(&ada), Method::GET, "/api/documents/1", None)
            .await;
        assert_eq!(reply.status, 200, "not deleted: {}", reply.text);
    })
    .await;
}

#[tokio::test]
async fn ada_edits_and_deletes_her_document() {
    on_each_backend("documents", |app| async move {
        let ada = log_in(&app, ADA).await;
        let reply = app
            .as_browser(Some(&ada), Method::PATCH, "/api/documents/1", Some(edit()))
            .await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        assert_eq!(reply.json["title"], "Edited");
        assert_eq!(reply.json["author_id"], 1);
        let reply = app
            .as_browser(Some(&ada), Method::DELETE, "/api/documents/1", None)
            .await;
        assert_eq!(reply.status, 204, "{}", reply.text);
        let reply = app
            .as_browser(Some(&ada), Method::GET, "/api/documents/1", None)
            .await;
        reply.assert_problem(404, "not-found", "deleted");
    })
    .await;
}

#[tokio::test]
async fn admin_cleo_edits_any_document_but_only_the_author_deletes() {
    on_each_backend("documents", |app| async move {
        let cleo = log_in(&app, CLEO).await;
        let reply = app
            .as_browser(Some(&cleo), Method::GET, "/auth/me", None)
            .await;
        assert_eq!(reply.json["roles"], json!(["admin"]), "{}", reply.text);
        let reply = app
            .as_browser(Some(&cleo), Method::PATCH, "/api/documents/2", Some(edit()))
            .await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        assert_eq!(reply.json["author_id"], 2, "still ben's");
        let reply = app
            .as_browser(Some(&cleo), Method::DELETE, "/api/documents/2", None)
            .await;
        reply.assert_problem(403, "forbidden", "an admin deletes ben's document");
        // Admins see every account; others only their own.
        let reply = app
            .as_browser(Some(&cleo), Method::GET, "/api/users", None)
            .await;
        let ids = field_values(reply.json["items"].as_array().expect("items"), "id");
        assert_eq!(ids, [json!(1), json!(2), json!(3)]);
        let ben = log_in(&app, BEN).await;
        let reply = app
            .as_browser(Some(&ben), Method::GET, "/api/users", None)
            .await;
        let ids = field_values(reply.json["items"].as_array().expect("items"), "id");
        assert_eq!(ids, [json!(2)]);
        // The author deletes.
        let reply = app
            .as_browser(Some(&ben), Method::DELETE, "/api/documents/2", None)
            .await;
        assert_eq!(reply.status, 204, "{}", reply.text);
    })
    .await;
}

#[tokio::test]
async fn a_logged_in_user_creates_a_document_authored_by_them() {
    on_each_backend("documents", |app| async move {
        let ben = log_in(&app, BEN).await;
        let reply = app
            .as_browser(
                Some(&ben),
                Method::POST,
                "/api/documents",
                Some(json!({"title": "Ben's second", "content": "More."})),
            )
            .await;
        assert_eq!(reply.status, 201, "{:?}: {}", app.backend, reply.text);
        assert_eq!(reply.json["author_id"], 2);
    })
    .await;
}

#[tokio::test]
async fn after_logout_the_cookie_is_anonymous_again() {
    on_each_backend("documents", |app| async move {
        let ada = log_in(&app, ADA).await;
        let reply = app
            .as_browser(Some(&ada), Method::POST, "/auth/logout", None)
            .await;
        assert_eq!(reply.status, 204, "{:?}: {}", app.backend, reply.text);
        let reply = app
            .as_browser(Some(&ada), Method::GET, "/api/documents/1", None)
            .await;
        reply.assert_problem(401, "unauthenticated", "after logout");
        let reply = app
            .as_browser(Some(&ada), Method::GET, "/api/documents", None)
            .await;
        assert_eq!(reply.status, 200, "the list stays public");
    })
    .await;
}
