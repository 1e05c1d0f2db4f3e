//! A bearer token's caller is remembered between reads; these check that a
//! remembered caller never outlives a change to what it was built from.
//! Each change is made in the database behind the app's back (as another
//! instance or `warden user` would), after reads that warmed the memory,
//! and the very next read must see it: on one row and on a list.

mod common;

use common::{PASSWORD, Reply, TestApp, fixture_config, on_each_backend_config};
use reqwest::Method;
use sea_query::{Alias, Expr, ExprTrait, Query};
use warden::config::FieldKind;
use warden_policy::Value;

const ALICE: &str = "alice@example.com";

async fn token(app: &TestApp, user: &str) -> String {
    let form = [
        ("grant_type", "password"),
        ("username", user),
        ("password", PASSWORD),
    ];
    let reply = app
        .raw(
            Method::POST,
            "/auth/token",
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(
                serde_urlencoded::to_string(form)
                    .expect("form")
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
    reply.json["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

async fn get(app: &TestApp, path: &str, token: &str) -> Reply {
    app.raw(Method::GET, path, Some(token), &[], None).await
}

/// Reads the note and the list twice, so the second of each is answered
/// with the remembered caller.
async fn warm(app: &TestApp, token: &str) {
    for _ in 0..2 {
        let one = get(app, "/api/notes/10", token).await;
        assert_eq!(one.status, 200, "{:?}: {}", app.backend, one.text);
        let list = get(app, "/api/notes", token).await;
        assert_eq!(list.status, 200, "{:?}: {}", app.backend, list.text);
        assert_eq!(list.json["items"].as_array().map(Vec::len), Some(1));
    }
}

async fn update_user(app: &TestApp, column: &str, value: sea_query::Value) {
    app.app
        .store()
        .execute(
            Query::update()
                .table(Alias::new("users"))
                .value(Alias::new(column), value)
                .and_where(Expr::col(Alias::new("id")).eq(1i64)),
        )
        .await
        .expect("update");
}

#[tokio::test]
async fn deactivation_ends_a_remembered_caller_at_once() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let alice = token(&app, ALICE).await;
        warm(&app, &alice).await;
        update_user(&app, "active", false.into()).await;
        get(&app, "/api/notes/10", &alice).await.assert_problem(
            401,
            "invalid-token",
            "one row after deactivation",
        );
        get(&app, "/api/notes", &alice).await.assert_problem(
            401,
            "invalid-token",
            "a list after deactivation",
        );
        update_user(&app, "active", true.into()).await;
        warm(&app, &alice).await;
    })
    .await;
}

#[tokio::test]
async fn a_revoked_scope_is_refused_at_once() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let alice = token(&app, ALICE).await;
        warm(&app, &alice).await;
        let removed = app
            .app
            .store()
            .remove_grants(
                &Value::Int(1),
                FieldKind::Integer,
                &["notes:read".to_owned()],
                &[],
            )
            .await
            .expect("revoke");
        assert_eq!(removed, 1);
        get(&app, "/api/notes/10", &alice).await.assert_problem(
            403,
            "insufficient-scope",
            "one row after revoke",
        );
        get(&app, "/api/notes", &alice).await.assert_problem(
            403,
            "insufficient-scope",
            "a list after revoke",
        );
    })
    .await;
}

#[tokio::test]
async fn a_deleted_user_and_an_ended_session_are_refused_at_once() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let alice = token(&app, ALICE).await;
        warm(&app, &alice).await;
        let logout = app
            .raw(Method::POST, "/auth/logout", Some(&alice), &[], None)
            .await;
        assert!(logout.status < 300, "{}", logout.text);
        get(&app, "/api/notes/10", &alice).await.assert_problem(
            401,
            "invalid-token",
            "one row after logout",
        );
        get(&app, "/api/notes", &alice).await.assert_problem(
            401,
            "invalid-token",
            "a list after logout",
        );

        let alice = token(&app, ALICE).await;
        warm(&app, &alice).await;
        app.app
            .store()
            .execute(
                Query::delete()
                    .from_table(Alias::new("users"))
                    .and_where(Expr::col(Alias::new("id")).eq(1i64)),
            )
            .await
            .expect("delete");
        get(&app, "/api/notes", &alice).await.assert_problem(
            401,
            "invalid-token",
            "a list after deletion",
        );
        get(&app, "/api/notes/10", &alice).await.assert_problem(
            401,
            "invalid-token",
            "one row after deletion",
        );
    })
    .await;
}

#[tokio::test]
async fn a_changed_attribute_reaches_the_rules_at_once() {
    // `users.read` is `row.id == user.id || user.is_superuser`.
    on_each_backend_config(&fixture_config("rls_posts"), |app| async move {
        let user21 = token(&app, "user21@example.com").await;
        for _ in 0..2 {
            let own = get(&app, "/api/users/21", &user21).await;
            assert_eq!(own.status, 200, "{:?}: {}", app.backend, own.text);
            let other = get(&app, "/api/users/22", &user21).await;
            assert_eq!(other.status, 404, "{}", other.text);
        }
        set_superuser(&app, true).await;
        let other = get(&app, "/api/users/22", &user21).await;
        assert_eq!(other.status, 200, "promoted: {}", other.text);
        set_superuser(&app, false).await;
        let other = get(&app, "/api/users/22", &user21).await;
        assert_eq!(other.status, 404, "demoted: {}", other.text);
        // A row that does not exist answers as for a caller loaded afresh.
        get(&app, "/api/posts/999", &user21)
            .await
            .assert_problem(404, "not-found", "missing row");
    })
    .await;
}

async fn set_superuser(app: &TestApp, on: bool) {
    app.app
        .store()
        .execute(
            Query::update()
                .table(Alias::new("users"))
                .value(Alias::new("is_superuser"), on)
                .and_where(Expr::col(Alias::new("id")).eq(21i64)),
        )
        .await
        .expect("update");
}
