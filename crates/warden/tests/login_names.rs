//! One login name, one account, black-box: case, surrounding space and
//! fullwidth look-alikes of a login are the same name wherever a login is
//! written or read over HTTP — registration, both login endpoints, writes
//! of the login field. Seed files, `warden user add` and databases holding
//! names from before are tested with the binary, in
//! crates/warden-cli/tests/login_names.rs.

mod common;

use common::{PASSWORD, Reply, TestApp, backends, fixture_config, on_each_backend_config};
use reqwest::Method;
use serde_json::json;
use warden::config::Config;

/// `user22@example.com` as people type it, and as look-alikes do.
const SPELLINGS: [&str; 4] = [
    "USER22@example.com",
    " user22@example.com",
    "User22@Example.COM\t",
    "ｕｓｅｒ２２＠ｅｘａｍｐｌｅ．ｃｏｍ",
];

async fn register(app: &TestApp, email: &str) -> Reply {
    app.post_json(
        "/auth/register",
        json!({"email": email, "password": PASSWORD}),
    )
    .await
}

#[tokio::test]
async fn case_space_and_fullwidth_variants_of_a_login_are_one_account() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let context = format!("{:?}", app.backend);
        let first = register(&app, "user22@example.com").await;
        assert_eq!(first.status, 201, "{context}: {}", first.text);
        let id = first.json["id"].clone();
        for spelling in SPELLINGS {
            let again = register(&app, spelling).await;
            again.assert_problem(409, "conflict", &format!("{context}: {spelling:?}"));
        }
        // Every spelling logs in to that one account, on both endpoints.
        for spelling in SPELLINGS {
            let token = app.password_grant(spelling, PASSWORD).await;
            assert_eq!(token.status, 200, "{context}: {spelling:?}: {}", token.text);
            let cookie = app
                .post_json(
                    "/auth/login",
                    json!({"email": spelling, "password": PASSWORD}),
                )
                .await;
            assert_eq!(
                cookie.status, 200,
                "{context}: {spelling:?}: {}",
                cookie.text
            );
            assert_eq!(cookie.json["id"], id, "{context}: {spelling:?}");
            assert_eq!(cookie.json["user"]["email"], "user22@example.com");
        }
        // A new account is stored under its normalised name.
        let mixed = register(&app, "  Mixed.Case@Example.ORG ").await;
        assert_eq!(mixed.status, 201, "{context}: {}", mixed.text);
        assert_eq!(mixed.json["email"], "mixed.case@example.org", "{context}");
        let blank = register(&app, " \u{3000} ").await;
        blank.assert_problem(400, "validation", &context);
    })
    .await;
}

#[tokio::test]
async fn a_written_login_field_is_stored_normalised_and_stays_unique() {
    // The `auth` fixture with the login field writable after create.
    let mut config = Config::load(&fixture_config("auth")).unwrap_or_else(|e| panic!("{e}"));
    if let Some(email) = config
        .resources
        .get_mut("users")
        .and_then(|users| users.fields.get_mut("email"))
    {
        email.immutable = false;
    }
    for backend in backends() {
        let app = TestApp::spawn_config(config.clone(), backend, true).await;
        let context = format!("{:?}", app.backend);
        let alice = app.login("alice@example.com").await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/users/1",
                Some(&alice),
                Some(json!({"email": " New.Alice@Example.com "})),
            )
            .await;
        assert_eq!(status, 200, "{context}: {body}");
        assert_eq!(body["email"], "new.alice@example.com", "{context}");
        let bob = app.login("bob@example.com").await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/users/2",
                Some(&bob),
                Some(json!({"email": "ＮＥＷ.ａｌｉｃｅ@example.com"})),
            )
            .await;
        assert_eq!(status, 409, "{context}: {body}");
        assert_eq!(
            app.password_grant("NEW.ALICE@EXAMPLE.COM", PASSWORD)
                .await
                .status,
            200
        );
    }
}
