//! A changed password ends every other session of the account — access
//! tokens, refresh tokens, cookies — whether the
//! user changes it (with the current password) or an administrator the
//! rules allow changes it; and a login that verified the old password
//! cannot start a session after the change. `warden user passwd` is
//! tested with the binary, in crates/warden-cli/tests/password_changes.rs.

mod common;

use common::sessions::{assert_all_ended, cookie_works, refreshes, sessions, token_works, tokens};
use common::{PASSWORD, TestApp, backends, fixture_config, on_each_backend_config};
use reqwest::Method;
use serde_json::{Value as Json, json};
use warden::config::Config;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
const NEW_PASSWORD: &str = "a-new-password-9";

/// The auth fixture where administrators (the `admin:read` scope) may
/// read and update every user.
fn admins_manage_users() -> Config {
    let path = fixture_config("auth");
    let source = std::fs::read_to_string(&path).expect("config");
    let rules = "rules.read   = \"row.id == user.id\"\nrules.update = \"row.id == user.id\"";
    assert!(source.contains(rules));
    let source = source.replace(
        rules,
        "rules.read   = \"row.id == user.id || has_scope(\\\"admin:read\\\")\"\nrules.update = \"row.id == user.id || has_scope(\\\"admin:read\\\")\"",
    );
    Config::parse(&path, &source).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn changing_your_own_password_ends_your_other_sessions_but_not_this_one() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let others = sessions(&app, ALICE, 1).await;
        let bob = sessions(&app, BOB, 2).await;
        let (access, refresh) = tokens(&app, ALICE, PASSWORD).await.expect("login");
        let reply = app
            .json_with(
                Method::PATCH,
                "/api/users/1",
                Some(&access),
                &[],
                Some(json!({"password": NEW_PASSWORD, "current_password": PASSWORD})),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        assert_all_ended(&app, &others, 1, "alice's other sessions").await;
        assert!(
            token_works(&app, &access, 1).await,
            "the session that changed it"
        );
        assert!(refreshes(&app, &refresh).await, "its refresh family too");
        assert!(
            tokens(&app, ALICE, PASSWORD).await.is_none(),
            "old password"
        );
        assert!(tokens(&app, ALICE, NEW_PASSWORD).await.is_some());
        assert!(token_works(&app, &bob.access, 2).await, "another account");
        assert!(cookie_works(&app, &bob.cookie).await, "another account");

        // Changed again through a cookie session (a form would send the
        // same): that cookie stays, the bearer family above ends.
        let session = app
            .post_json(
                "/auth/login",
                json!({"email": ALICE, "password": NEW_PASSWORD}),
            )
            .await
            .session();
        let reply = app
            .as_browser(
                Some(&session),
                Method::PATCH,
                "/api/users/1",
                Some(json!({"password": PASSWORD, "current_password": NEW_PASSWORD})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(
            cookie_works(&app, &session.cookie).await,
            "the cookie that changed it"
        );
        assert!(
            !token_works(&app, &access, 1).await,
            "the earlier bearer session"
        );
    })
    .await;
}

#[tokio::test]
async fn your_own_password_change_needs_the_current_password() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let others = sessions(&app, ALICE, 1).await;
        let access = others.access.clone();
        let patch = |body: Json| {
            let app = &app;
            let access = access.clone();
            async move {
                app.json_with(
                    Method::PATCH,
                    "/api/users/1",
                    Some(&access),
                    &[],
                    Some(body),
                )
                .await
            }
        };
        let missing = patch(json!({"password": NEW_PASSWORD})).await;
        missing.assert_problem(400, "validation", "no current_password");
        assert_eq!(missing.json["errors"][0]["field"], "current_password");
        let typed = patch(json!({"password": NEW_PASSWORD, "current_password": 12345678})).await;
        typed.assert_problem(400, "validation", "current_password not a string");
        // The fixture allows 3 failures per account: each wrong current
        // password is one, and the fourth check is refused before argon2.
        for attempt in 1..=3 {
            let wrong =
                patch(json!({"password": NEW_PASSWORD, "current_password": "not-it-at-all"})).await;
            wrong.assert_problem(
                400,
                "validation",
                &format!("wrong current_password #{attempt}"),
            );
            assert_eq!(wrong.json["errors"][0]["field"], "current_password");
            assert_eq!(
                wrong.json["errors"][0]["message"],
                "is not your current password"
            );
        }
        let limited = patch(json!({"password": NEW_PASSWORD, "current_password": PASSWORD})).await;
        limited.assert_problem(429, "too-many-requests", "past the login limit");
        assert!(limited.header("retry-after").is_some());
        // Nothing changed, nothing ended.
        assert!(token_works(&app, &others.access, 1).await);
        assert!(cookie_works(&app, &others.cookie).await);
        assert!(refreshes(&app, &others.refresh).await);
        let reply = app.password_grant(BOB, PASSWORD).await;
        assert_eq!(reply.status, 200, "other accounts may still log in");
        // Changing other fields needs no password.
        let renamed = patch(json!({"name": "Alice"})).await;
        assert_eq!(renamed.status, 200, "{}", renamed.text);
    })
    .await;
}

#[tokio::test]
async fn an_admin_changing_someone_elses_password_ends_all_their_sessions() {
    for backend in backends() {
        let app = TestApp::spawn_config(admins_manage_users(), backend, true).await;
        let alice = sessions(&app, ALICE, 1).await;
        let (admin, _) = tokens(&app, CAROL, PASSWORD).await.expect("admin login");
        let reply = app
            .json_with(
                Method::PATCH,
                "/api/users/1",
                Some(&admin),
                &[],
                Some(json!({"password": NEW_PASSWORD})),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        assert_all_ended(&app, &alice, 1, "every session of alice").await;
        assert!(tokens(&app, ALICE, NEW_PASSWORD).await.is_some());
        assert!(
            token_works(&app, &admin, 3).await,
            "the admin's own session"
        );
    }
}

#[tokio::test]
async fn a_login_that_verified_the_old_password_starts_no_session_after_a_change() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        // The race, with its steps in the worst order: the login has
        // verified the old password; the password changes (and the
        // account's sessions end); only then does the login's session
        // start.
        let verified = warden::auth::login::authenticate(&app.app, ALICE, PASSWORD, None)
            .await
            .expect("the old password verifies");
        warden::auth::accounts::set_password(
            app.app.config(),
            app.app.store(),
            ALICE,
            NEW_PASSWORD,
        )
        .await
        .expect("change");
        let cookie = warden::auth::session::start_cookie_session(
            &app.app,
            &verified.user,
            Some(&verified.password_hash),
        )
        .await;
        assert!(
            matches!(cookie, Err(warden::SessionError::PasswordChanged)),
            "{:?}: a cookie session started on the old password",
            app.backend
        );
        let family = warden::auth::session::start_token_family(
            &app.app,
            &verified.user,
            Vec::new(),
            Some(&verified.password_hash),
        )
        .await;
        assert!(
            matches!(family, Err(warden::SessionError::PasswordChanged)),
            "a token family started on the old password"
        );
        // A login with the new password starts its session as usual.
        let fresh = warden::auth::login::authenticate(&app.app, ALICE, NEW_PASSWORD, None)
            .await
            .expect("new password");
        warden::auth::session::start_cookie_session(
            &app.app,
            &fresh.user,
            Some(&fresh.password_hash),
        )
        .await
        .expect("a session on the current password");
    })
    .await;
}
