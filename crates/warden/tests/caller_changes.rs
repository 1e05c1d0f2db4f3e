//! A caller never outlives a change to what it is built from. Each change
//! is made in the database behind the app's back (as another instance or
//! `warden user` would), after a token has already been used, and the very
//! next request must see it: a read of one row, a list, an update or a
//! delete (which must then write nothing). Any cache of callers or tokens
//! would have to keep these tests green.

mod common;

use common::{Reply, TestApp, fixture_config, on_each_backend_config};
use reqwest::Method;
use sea_query::{Alias, Expr, ExprTrait, Query};
use serde_json::{Value as Json, json};
use warden::config::FieldKind;
use warden_policy::Value;

const ALICE: &str = "alice@example.com";

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

/// Two tokens of Alice's, each remembered by reads of one row and of the
/// list, so that after a change both paths are tried with a remembered
/// caller (a refused caller is forgotten).
async fn two_warm_tokens(app: &TestApp) -> [String; 2] {
    let tokens = [app.login(ALICE).await, app.login(ALICE).await];
    for token in &tokens {
        warm(app, token).await;
    }
    tokens
}

/// The next read of one row (first token) and of the list (second) are
/// both refused with `status` and `kind`.
async fn both_refused(
    app: &TestApp,
    [row, list]: &[String; 2],
    status: u16,
    kind: &str,
    after: &str,
) {
    get(app, "/api/notes/10", row).await.assert_problem(
        status,
        kind,
        &format!("one row after {after}"),
    );
    get(app, "/api/notes", list).await.assert_problem(
        status,
        kind,
        &format!("a list after {after}"),
    );
}

async fn execute(app: &TestApp, statement: &impl sea_query_sqlx::SqlxBinder) {
    app.app.store().execute(statement).await.expect("statement");
}

async fn update_user(app: &TestApp, id: i64, column: &str, value: sea_query::Value) {
    execute(
        app,
        Query::update()
            .table(Alias::new("users"))
            .value(Alias::new(column), value)
            .and_where(Expr::col(Alias::new("id")).eq(id)),
    )
    .await;
}

#[tokio::test]
async fn deactivation_ends_a_remembered_caller_at_once() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let tokens = two_warm_tokens(&app).await;
        update_user(&app, 1, "active", false.into()).await;
        both_refused(&app, &tokens, 401, "invalid-token", "deactivation").await;
        update_user(&app, 1, "active", true.into()).await;
        for token in &tokens {
            warm(&app, token).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_revoked_scope_is_refused_at_once() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let tokens = two_warm_tokens(&app).await;
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
        both_refused(&app, &tokens, 403, "insufficient-scope", "the revoke").await;
    })
    .await;
}

#[tokio::test]
async fn a_deleted_user_and_an_ended_session_are_refused_at_once() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let tokens = two_warm_tokens(&app).await;
        for token in &tokens {
            let logout = app
                .raw(Method::POST, "/auth/logout", Some(token), &[], None)
                .await;
            assert!(logout.status < 300, "{}", logout.text);
        }
        both_refused(&app, &tokens, 401, "invalid-token", "logout").await;

        let tokens = two_warm_tokens(&app).await;
        execute(
            &app,
            Query::delete()
                .from_table(Alias::new("users"))
                .and_where(Expr::col(Alias::new("id")).eq(1i64)),
        )
        .await;
        both_refused(&app, &tokens, 401, "invalid-token", "deletion").await;
    })
    .await;
}

#[tokio::test]
async fn a_changed_attribute_reaches_the_rules_at_once() {
    // `users.read` is `row.id == user.id || user.is_superuser`.
    on_each_backend_config(&fixture_config("rls_posts"), |app| async move {
        let user21 = app.login("user21@example.com").await;
        for _ in 0..2 {
            let own = get(&app, "/api/users/21", &user21).await;
            assert_eq!(own.status, 200, "{:?}: {}", app.backend, own.text);
            let other = get(&app, "/api/users/22", &user21).await;
            assert_eq!(other.status, 404, "{}", other.text);
        }
        update_user(&app, 21, "is_superuser", true.into()).await;
        let other = get(&app, "/api/users/22", &user21).await;
        assert_eq!(other.status, 200, "promoted: {}", other.text);
        update_user(&app, 21, "is_superuser", false.into()).await;
        let other = get(&app, "/api/users/22", &user21).await;
        assert_eq!(other.status, 404, "demoted: {}", other.text);
        // A row that does not exist answers as for a caller loaded afresh.
        get(&app, "/api/posts/999", &user21)
            .await
            .assert_problem(404, "not-found", "missing row");
    })
    .await;
}

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Json>) -> Reply {
    app.json_with(method, path, Some(token), &[], body).await
}

#[tokio::test]
async fn a_remembered_caller_writes_nothing_once_deactivated() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let tokens = two_warm_tokens(&app).await;
        // Writes with the remembered caller succeed and answer the new row.
        for (n, token) in tokens.iter().enumerate() {
            let body = json!({ "body": format!("edited {n}") });
            let edited = send(&app, Method::PATCH, "/api/notes/10", token, Some(body)).await;
            assert_eq!(edited.status, 200, "{:?}: {}", app.backend, edited.text);
            assert_eq!(edited.json["body"], format!("edited {n}"));
        }
        update_user(&app, 1, "active", false.into()).await;
        let [patcher, deleter] = &tokens;
        let body = json!({ "body": "after deactivation" });
        send(&app, Method::PATCH, "/api/notes/10", patcher, Some(body))
            .await
            .assert_problem(401, "invalid-token", "a PATCH after deactivation");
        send(&app, Method::DELETE, "/api/notes/10", deleter, None)
            .await
            .assert_problem(401, "invalid-token", "a DELETE after deactivation");
        update_user(&app, 1, "active", true.into()).await;
        let note = get(&app, "/api/notes/10", patcher).await;
        assert_eq!(note.status, 200, "the note is still there: {}", note.text);
        assert_eq!(note.json["body"], "edited 1", "and as last edited");
    })
    .await;
}

#[tokio::test]
async fn a_demoted_caller_may_no_longer_delete_what_only_a_superuser_may() {
    // `posts.delete` is `row.owner_id == user.id || user.is_superuser`;
    // post 5 belongs to user 22.
    on_each_backend_config(&fixture_config("rls_posts"), |app| async move {
        update_user(&app, 21, "is_superuser", true.into()).await;
        let user21 = app.login("user21@example.com").await;
        for n in 0..2 {
            let body = json!({ "title": format!("own post, edit {n}") });
            let own = send(&app, Method::PATCH, "/api/posts/4", &user21, Some(body)).await;
            assert_eq!(own.status, 200, "{:?}: {}", app.backend, own.text);
        }
        update_user(&app, 21, "is_superuser", false.into()).await;
        send(&app, Method::DELETE, "/api/posts/5", &user21, None)
            .await
            .assert_problem(403, "forbidden", "a DELETE after demotion");
        let post = get(&app, "/api/posts/5", &user21).await;
        assert_eq!(post.status, 200, "post 5 is still there: {}", post.text);
        // And promoted again, the remembered (demoted) caller is replaced.
        update_user(&app, 21, "is_superuser", true.into()).await;
        let deleted = send(&app, Method::DELETE, "/api/posts/5", &user21, None).await;
        assert_eq!(deleted.status, 204, "{}", deleted.text);
    })
    .await;
}
