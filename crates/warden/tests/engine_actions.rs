//! Every action (list, get, create, PATCH, PUT, delete) × {anonymous,
//! owner, other user, superuser} × {row exists, row missing}, on the
//! `posts` example, with exact statuses and problem types; the users
//! resource (a read rule that hides other users' rows); ownership
//! hand-off; `ETag` / `If-Match`.
//!
//! Seed: user 1 `admin@example.com` (superuser), users 21, 22, 23; posts
//! 4 (owner 21), 5 (22), 8 (23), 9 (23, unpublished); votes 1 (post 4 by
//! 22), 2 (post 4 by 23), 3 (post 8 by 21).

mod common;

use common::{TestApp, assert_problem, on_each_backend};
use reqwest::Method;
use serde_json::{Value as Json, json};

const MISSING: &str = "/api/posts/12345";

#[derive(Debug, Clone, Copy)]
enum Who {
    Anonymous,
    /// User 23, owner of posts 8 and 9.
    Owner,
    /// User 22.
    Other,
    /// User 1, superuser.
    Superuser,
}

const EVERYONE: [Who; 4] = [Who::Anonymous, Who::Owner, Who::Other, Who::Superuser];

async fn token(app: &TestApp, who: Who) -> Option<String> {
    let email = match who {
        Who::Anonymous => return None,
        Who::Owner => "user23@example.com",
        Who::Other => "user22@example.com",
        Who::Superuser => "admin@example.com",
    };
    Some(app.login(email).await)
}

fn ctx(app: &TestApp, who: Who, what: &str) -> String {
    format!("{:?} as {who:?}: {what}", app.backend)
}

#[track_caller]
fn assert_unauthenticated(status: u16, body: &Json, context: &str) {
    assert_problem(status, body, 401, "unauthenticated", context);
}

// ---------------------------------------------------------------- list

#[tokio::test]
async fn everyone_lists_all_posts() {
    on_each_backend("posts", |app| async move {
        for who in EVERYONE {
            let token = token(&app, who).await;
            let items = app.list_items("/api/posts", token.as_deref()).await;
            let ids = common::field_values(&items, "id");
            assert_eq!(ids, [json!(4), json!(5), json!(8), json!(9)], "{who:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn anonymous_list_of_votes_gets_401_with_www_authenticate() {
    on_each_backend("posts", |app| async move {
        let reply = app.raw(Method::GET, "/api/votes", None, &[], None).await;
        reply.assert_problem(401, "unauthenticated", "anonymous votes list");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"warden\"")
        );
        let token = app.login("user22@example.com").await;
        let items = app.list_items("/api/votes", Some(&token)).await;
        assert_eq!(items.len(), 3, "votes are listed to any logged-in user");
    })
    .await;
}

#[tokio::test]
async fn list_of_users_without_list_rule_is_403_for_everyone() {
    on_each_backend("posts", |app| async move {
        for who in EVERYONE {
            let token = token(&app, who).await;
            let (status, body) = app
                .call(Method::GET, "/api/users", token.as_deref(), None)
                .await;
            // No list rule: nobody may list, and logging in cannot help.
            assert_problem(
                status,
                &body,
                403,
                "forbidden",
                &ctx(&app, who, "list users"),
            );
        }
    })
    .await;
}

// ---------------------------------------------------------------- get

#[tokio::test]
async fn everyone_gets_an_existing_post_with_etag() {
    on_each_backend("posts", |app| async move {
        for who in EVERYONE {
            let token = token(&app, who).await;
            let reply = app
                .raw(Method::GET, "/api/posts/9", token.as_deref(), &[], None)
                .await;
            assert_eq!(reply.status, 200, "{}", ctx(&app, who, "get 9"));
            assert_eq!(reply.json["id"], 9);
            assert_eq!(reply.json["owner_id"], 23);
            assert_eq!(reply.json["published"], false);
            let etag = reply.header("etag").expect("ETag on GET");
            assert!(
                etag.starts_with('"') && etag.ends_with('"'),
                "strong quoted ETag: {etag}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn everyone_gets_404_for_a_missing_post() {
    on_each_backend("posts", |app| async move {
        for who in EVERYONE {
            let token = token(&app, who).await;
            let (status, body) = app.call(Method::GET, MISSING, token.as_deref(), None).await;
            assert_problem(
                status,
                &body,
                404,
                "not-found",
                &ctx(&app, who, "get missing"),
            );
        }
    })
    .await;
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn anonymous_create_gets_401_with_www_authenticate() {
    on_each_backend("posts", |app| async move {
        let reply = app
            .json_with(
                Method::POST,
                "/api/posts",
                None,
                &[],
                Some(json!({"title": "t", "content": "c"})),
            )
            .await;
        reply.assert_problem(401, "unauthenticated", "anonymous create");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"warden\"")
        );
        let items = app.list_items("/api/posts", None).await;
        assert_eq!(items.len(), 4, "nothing was created");
    })
    .await;
}

#[tokio::test]
async fn logged_in_users_create_posts_owned_by_themselves() {
    on_each_backend("posts", |app| async move {
        for (who, id) in [(Who::Owner, 23), (Who::Other, 22), (Who::Superuser, 1)] {
            let token = token(&app, who).await;
            let reply = app
                .json_with(
                    Method::POST,
                    "/api/posts",
                    token.as_deref(),
                    &[],
                    Some(json!({"title": "new", "content": "body"})),
                )
                .await;
            assert_eq!(
                reply.status,
                201,
                "{}: {}",
                ctx(&app, who, "create"),
                reply.json
            );
            assert_eq!(reply.json["owner_id"], id);
            assert_eq!(reply.json["published"], true, "default applied");
            assert!(reply.json["created_at"].is_string(), "server-set timestamp");
            let new_id = reply.json["id"].as_i64().expect("id");
            assert_eq!(
                reply.header("location"),
                Some(format!("/api/posts/{new_id}").as_str())
            );
            assert!(reply.header("etag").is_some(), "ETag on create");
            let (status, body) = app
                .call(Method::GET, &format!("/api/posts/{new_id}"), None, None)
                .await;
            assert_eq!(status, 200);
            assert_eq!(body["title"], "new");
        }
    })
    .await;
}

// ---------------------------------------------------------------- update

async fn update_matrix(app: TestApp, method: Method) {
    let body = json!({"title": "changed", "content": "changed too", "published": true});
    for who in [Who::Anonymous, Who::Other, Who::Superuser] {
        let token = token(&app, who).await;
        let (status, problem) = app
            .call(
                method.clone(),
                "/api/posts/8",
                token.as_deref(),
                Some(body.clone()),
            )
            .await;
        let context = ctx(&app, who, &format!("{method} post 8 of user 23"));
        match who {
            Who::Anonymous => assert_unauthenticated(status, &problem, &context),
            _ => assert_problem(status, &problem, 403, "forbidden", &context),
        }
        let (_, post) = app.call(Method::GET, "/api/posts/8", None, None).await;
        assert_eq!(post["title"], "Tea and rules", "{context}: unchanged");
    }
    for who in EVERYONE {
        let token = token(&app, who).await;
        let (status, problem) = app
            .call(
                method.clone(),
                MISSING,
                token.as_deref(),
                Some(body.clone()),
            )
            .await;
        let context = ctx(&app, who, &format!("{method} missing post"));
        assert_problem(status, &problem, 404, "not-found", &context);
    }
    let token = token(&app, Who::Owner).await;
    let (status, post) = app
        .call(method.clone(), "/api/posts/8", token.as_deref(), Some(body))
        .await;
    assert_eq!(status, 200, "{:?}: owner {method}s: {post}", app.backend);
    assert_eq!(post["title"], "changed");
    assert_eq!(post["content"], "changed too");
    assert_eq!(post["owner_id"], 23);
}

#[tokio::test]
async fn patch_is_for_the_owner_only_anonymous_401_other_and_superuser_403_missing_404() {
    on_each_backend("posts", |app| update_matrix(app, Method::PATCH)).await;
}

#[tokio::test]
async fn put_is_for_the_owner_only_anonymous_401_other_and_superuser_403_missing_404() {
    on_each_backend("posts", |app| update_matrix(app, Method::PUT)).await;
}

#[tokio::test]
async fn patch_changes_only_the_given_fields() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let (status, post) = app
            .call(
                Method::PATCH,
                "/api/posts/9",
                Some(&token),
                Some(json!({"published": true})),
            )
            .await;
        assert_eq!(status, 200, "{post}");
        assert_eq!(post["published"], true);
        assert_eq!(post["title"], "Draft from 23");
        assert_eq!(post["content"], "Not published yet.");
    })
    .await;
}

#[tokio::test]
async fn put_without_a_required_field_gets_400_validation() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let (status, problem) = app
            .call(
                Method::PUT,
                "/api/posts/9",
                Some(&token),
                Some(json!({"title": "only a title"})),
            )
            .await;
        assert_problem(status, &problem, 400, "validation", "PUT without content");
        assert_eq!(problem["errors"][0]["field"], "content", "{problem}");
    })
    .await;
}

#[tokio::test]
async fn update_that_hands_a_post_to_someone_else_gets_400_readonly_fields() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        for method in [Method::PATCH, Method::PUT] {
            let (status, problem) = app
                .call(
                    method.clone(),
                    "/api/posts/8",
                    Some(&token),
                    Some(json!({"title": "t", "content": "c", "owner_id": 21})),
                )
                .await;
            assert_problem(
                status,
                &problem,
                400,
                "readonly-fields",
                &format!("{method}"),
            );
            assert_eq!(problem["fields"], json!(["owner_id"]));
        }
        let (_, post) = app.call(Method::GET, "/api/posts/8", None, None).await;
        assert_eq!(post["owner_id"], 23, "still user 23's");
        assert_eq!(post["title"], "Tea and rules");
    })
    .await;
}

// ---------------------------------------------------------------- delete

#[tokio::test]
async fn anonymous_delete_gets_401_with_www_authenticate() {
    on_each_backend("posts", |app| async move {
        let reply = app
            .raw(Method::DELETE, "/api/posts/8", None, &[], None)
            .await;
        reply.assert_problem(401, "unauthenticated", "anonymous delete");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"warden\"")
        );
        let (status, _) = app.call(Method::GET, "/api/posts/8", None, None).await;
        assert_eq!(status, 200, "still there");
    })
    .await;
}

#[tokio::test]
async fn other_user_gets_403_on_delete() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user22@example.com").await;
        let (status, problem) = app
            .call(Method::DELETE, "/api/posts/8", Some(&token), None)
            .await;
        assert_problem(status, &problem, 403, "forbidden", "user 22 deletes post 8");
        let (status, _) = app.call(Method::GET, "/api/posts/8", None, None).await;
        assert_eq!(status, 200, "still there");
    })
    .await;
}

#[tokio::test]
async fn owner_deletes_own_post_with_204_then_it_is_404() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let reply = app
            .raw(Method::DELETE, "/api/posts/8", Some(&token), &[], None)
            .await;
        assert_eq!(reply.status, 204, "{:?}: {}", app.backend, reply.text);
        assert!(reply.text.is_empty(), "204 has no body");
        let (status, problem) = app.call(Method::GET, "/api/posts/8", None, None).await;
        assert_problem(status, &problem, 404, "not-found", "deleted post");
        let (status, problem) = app
            .call(Method::DELETE, "/api/posts/8", Some(&token), None)
            .await;
        assert_problem(status, &problem, 404, "not-found", "deleting twice");
    })
    .await;
}

#[tokio::test]
async fn superuser_deletes_any_post_with_204() {
    on_each_backend("posts", |app| async move {
        let token = app.login("admin@example.com").await;
        let (status, body) = app
            .call(Method::DELETE, "/api/posts/4", Some(&token), None)
            .await;
        assert_eq!(status, 204, "{:?}: {body}", app.backend);
        let (status, _) = app.call(Method::GET, "/api/posts/4", None, None).await;
        assert_eq!(status, 404);
    })
    .await;
}

#[tokio::test]
async fn everyone_gets_404_on_delete_of_a_missing_post() {
    on_each_backend("posts", |app| async move {
        for who in EVERYONE {
            let token = token(&app, who).await;
            let (status, body) = app
                .call(Method::DELETE, MISSING, token.as_deref(), None)
                .await;
            assert_problem(
                status,
                &body,
                404,
                "not-found",
                &ctx(&app, who, "delete missing"),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn votes_delete_by_voter_or_superuser_only() {
    on_each_backend("posts", |app| async move {
        // Vote 3 is user 21's.
        let other = app.login("user22@example.com").await;
        let (status, body) = app
            .call(Method::DELETE, "/api/votes/3", Some(&other), None)
            .await;
        assert_problem(status, &body, 403, "forbidden", "user 22 deletes vote 3");
        let (status, body) = app.call(Method::DELETE, "/api/votes/3", None, None).await;
        assert_unauthenticated(status, &body, "anonymous deletes vote 3");
        let admin = app.login("admin@example.com").await;
        let (status, body) = app
            .call(Method::DELETE, "/api/votes/3", Some(&admin), None)
            .await;
        assert_eq!(status, 204, "{body}");
        let voter = app.login("user23@example.com").await;
        let (status, _) = app
            .call(Method::DELETE, "/api/votes/2", Some(&voter), None)
            .await;
        assert_eq!(status, 204, "user 23 deletes own vote 2");
    })
    .await;
}

// ---------------------------------------------------------------- users

#[tokio::test]
async fn user_reads_own_row_without_password() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let (status, user) = app
            .call(Method::GET, "/api/users/21", Some(&token), None)
            .await;
        assert_eq!(status, 200, "{user}");
        assert_eq!(common::keys(&user), ["email", "id", "is_superuser"]);
        assert_eq!(user["email"], "user21@example.com");
    })
    .await;
}

#[tokio::test]
async fn other_users_row_is_404_like_a_missing_one() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let (status, hidden) = app
            .call(Method::GET, "/api/users/22", Some(&token), None)
            .await;
        assert_problem(status, &hidden, 404, "not-found", "user 21 reads user 22");
        let (status, missing) = app
            .call(Method::GET, "/api/users/999", Some(&token), None)
            .await;
        assert_problem(status, &missing, 404, "not-found", "user 21 reads user 999");
        assert_eq!(hidden["detail"], missing["detail"], "indistinguishable");
        for method in [Method::PATCH, Method::PUT, Method::DELETE] {
            for id in [22, 999] {
                let body = (method != Method::DELETE).then(|| json!({"password": "longenough1"}));
                let (status, problem) = app
                    .call(
                        method.clone(),
                        &format!("/api/users/{id}"),
                        Some(&token),
                        body,
                    )
                    .await;
                assert_problem(
                    status,
                    &problem,
                    404,
                    "not-found",
                    &format!("{method} user {id}"),
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn superuser_reads_any_user_but_may_not_update_them() {
    on_each_backend("posts", |app| async move {
        let token = app.login("admin@example.com").await;
        let (status, user) = app
            .call(Method::GET, "/api/users/22", Some(&token), None)
            .await;
        assert_eq!(status, 200, "{user}");
        assert_eq!(user["email"], "user22@example.com");
        let (status, problem) = app
            .call(
                Method::PATCH,
                "/api/users/22",
                Some(&token),
                Some(json!({"password": "longenough1"})),
            )
            .await;
        assert_problem(
            status,
            &problem,
            403,
            "forbidden",
            "superuser updates user 22",
        );
        let (status, problem) = app
            .call(Method::GET, "/api/users/999", Some(&token), None)
            .await;
        assert_problem(
            status,
            &problem,
            404,
            "not-found",
            "superuser reads missing",
        );
    })
    .await;
}

#[tokio::test]
async fn anonymous_read_of_a_user_gets_401_whether_or_not_it_exists() {
    on_each_backend("posts", |app| async move {
        for id in [21, 999] {
            let reply = app
                .raw(Method::GET, &format!("/api/users/{id}"), None, &[], None)
                .await;
            reply.assert_problem(401, "unauthenticated", &format!("anonymous GET user {id}"));
            assert_eq!(
                reply.header("www-authenticate"),
                Some("Bearer realm=\"warden\"")
            );
        }
    })
    .await;
}

#[tokio::test]
async fn anonymous_write_of_a_user_gets_401_whether_or_not_it_exists() {
    on_each_backend("posts", |app| async move {
        for method in [Method::PATCH, Method::PUT, Method::DELETE] {
            for id in [21, 999] {
                let body = (method != Method::DELETE).then(|| json!({"password": "longenough1"}));
                let (status, problem) = app
                    .call(method.clone(), &format!("/api/users/{id}"), None, body)
                    .await;
                assert_unauthenticated(
                    status,
                    &problem,
                    &format!("{:?}: anonymous {method} user {id}", app.backend),
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn user_updates_own_password_and_logs_in_with_it() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let (status, user) = app
            .call(
                Method::PATCH,
                "/api/users/21",
                Some(&token),
                // Your own password changes only with the current one
                // (password_changes.rs has the refusals).
                Some(json!({"password": "a-new-password", "current_password": "password123"})),
            )
            .await;
        assert_eq!(status, 200, "{user}");
        assert!(user.get("password").is_none(), "never returned: {user}");
        let response = app
            .client
            .post(app.url("/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", "user21@example.com"),
                ("password", "a-new-password"),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), 200, "the new password works");
    })
    .await;
}

#[tokio::test]
async fn user_may_not_change_own_email_or_superuser_flag() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let (status, problem) = app
            .call(
                Method::PATCH,
                "/api/users/21",
                Some(&token),
                Some(json!({"email": "new@example.com"})),
            )
            .await;
        assert_problem(status, &problem, 400, "readonly-fields", "immutable email");
        assert_eq!(problem["fields"], json!(["email"]));
        let (status, problem) = app
            .call(
                Method::PATCH,
                "/api/users/21",
                Some(&token),
                Some(json!({"is_superuser": true})),
            )
            .await;
        assert_problem(status, &problem, 400, "readonly-fields", "readonly flag");
        assert_eq!(problem["fields"], json!(["is_superuser"]));
        let (_, user) = app
            .call(Method::GET, "/api/users/21", Some(&token), None)
            .await;
        assert_eq!(user["is_superuser"], false);
        assert_eq!(user["email"], "user21@example.com");
    })
    .await;
}

#[tokio::test]
async fn delete_of_own_user_row_without_delete_rule_is_403() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let (status, problem) = app
            .call(Method::DELETE, "/api/users/21", Some(&token), None)
            .await;
        assert_problem(
            status,
            &problem,
            403,
            "forbidden",
            "no delete rule on users",
        );
    })
    .await;
}

// ---------------------------------------------------------------- ETag

#[tokio::test]
async fn if_match_with_stale_version_gets_412_and_current_version_200() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let read = app
            .raw(Method::GET, "/api/posts/8", Some(&token), &[], None)
            .await;
        let etag = read.header("etag").expect("ETag").to_owned();
        let version: i64 = etag.trim_matches('"').parse().expect("numeric version");
        let stale = format!("\"{}\"", version + 7);
        let patch = json!({"title": "v2"});
        let reply = app
            .json_with(
                Method::PATCH,
                "/api/posts/8",
                Some(&token),
                &[("if-match", &stale)],
                Some(patch.clone()),
            )
            .await;
        reply.assert_problem(412, "precondition-failed", "stale If-Match");
        let reply = app
            .json_with(
                Method::PATCH,
                "/api/posts/8",
                Some(&token),
                &[("if-match", &etag)],
                Some(patch.clone()),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.json);
        let new_etag = reply.header("etag").expect("ETag after update").to_owned();
        assert_ne!(new_etag, etag, "the version moved");
        // The old ETag is now stale, for updates and deletes.
        let reply = app
            .json_with(
                Method::PUT,
                "/api/posts/8",
                Some(&token),
                &[("if-match", &etag)],
                Some(json!({"title": "v3", "content": "c"})),
            )
            .await;
        reply.assert_problem(412, "precondition-failed", "PUT with the old ETag");
        let reply = app
            .raw(
                Method::DELETE,
                "/api/posts/8",
                Some(&token),
                &[("if-match", &etag)],
                None,
            )
            .await;
        reply.assert_problem(412, "precondition-failed", "DELETE with the old ETag");
        let reply = app
            .raw(
                Method::DELETE,
                "/api/posts/8",
                Some(&token),
                &[("if-match", &new_etag)],
                None,
            )
            .await;
        assert_eq!(reply.status, 204, "{}", reply.text);
    })
    .await;
}

#[tokio::test]
async fn if_match_star_or_weak_etag_is_accepted_and_garbage_is_412() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let read = app
            .raw(Method::GET, "/api/posts/9", Some(&token), &[], None)
            .await;
        let etag = read.header("etag").expect("ETag").to_owned();
        let weak = format!("W/{etag}");
        // The weak form of the current ETag first (it is stale after).
        for header in [weak.as_str(), "*"] {
            let reply = app
                .json_with(
                    Method::PATCH,
                    "/api/posts/9",
                    Some(&token),
                    &[("if-match", header)],
                    Some(json!({"content": "x"})),
                )
                .await;
            assert_eq!(reply.status, 200, "If-Match {header}: {}", reply.json);
        }
        let reply = app
            .json_with(
                Method::PATCH,
                "/api/posts/9",
                Some(&token),
                &[("if-match", "\"not-a-version\"")],
                Some(json!({"content": "y"})),
            )
            .await;
        reply.assert_problem(412, "precondition-failed", "garbage If-Match");
    })
    .await;
}

// ---------------------------------------------------------------- deny_status = 403

/// The kitchen test config's vaults: `deny_status = 403`, every rule
/// `row.owner_id == user.id`; vault 1 is alice's, 2 bob's.
async fn on_vaults<F, Fut>(scenario: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    common::on_each_backend_config(&common::fixture_config("kitchen"), scenario).await;
}

#[tokio::test]
async fn deny_status_403_answers_403_for_a_hidden_row_and_404_for_a_missing_one() {
    on_vaults(|app| async move {
        let alice = app.login("alice@example.com").await;
        let (status, problem) = app
            .call(Method::GET, "/api/vaults/2", Some(&alice), None)
            .await;
        assert_problem(
            status,
            &problem,
            403,
            "forbidden",
            "alice reads bob's vault",
        );
        let (status, problem) = app
            .call(Method::GET, "/api/vaults/999", Some(&alice), None)
            .await;
        assert_problem(
            status,
            &problem,
            404,
            "not-found",
            "alice reads a missing vault",
        );
        for method in [Method::PATCH, Method::PUT, Method::DELETE] {
            let body = (method != Method::DELETE).then(|| json!({"label": "mine now"}));
            let (status, problem) = app
                .call(method.clone(), "/api/vaults/2", Some(&alice), body.clone())
                .await;
            assert_problem(
                status,
                &problem,
                403,
                "forbidden",
                &format!("{method} bob's vault"),
            );
            let (status, problem) = app
                .call(method.clone(), "/api/vaults/999", Some(&alice), body)
                .await;
            assert_problem(
                status,
                &problem,
                404,
                "not-found",
                &format!("{method} missing vault"),
            );
        }
        let bob = app.login("bob@example.com").await;
        let (_, vault) = app
            .call(Method::GET, "/api/vaults/2", Some(&bob), None)
            .await;
        assert_eq!(vault["label"], "bob's vault", "unchanged");
    })
    .await;
}

#[tokio::test]
async fn deny_status_403_owner_reads_updates_and_deletes_own_row() {
    on_vaults(|app| async move {
        let alice = app.login("alice@example.com").await;
        let (status, vault) = app
            .call(Method::GET, "/api/vaults/1", Some(&alice), None)
            .await;
        assert_eq!(status, 200, "{vault}");
        let (status, vault) = app
            .call(
                Method::PATCH,
                "/api/vaults/1",
                Some(&alice),
                Some(json!({"label": "renamed"})),
            )
            .await;
        assert_eq!(status, 200, "{vault}");
        assert_eq!(vault["label"], "renamed");
        let (status, _) = app
            .call(Method::DELETE, "/api/vaults/1", Some(&alice), None)
            .await;
        assert_eq!(status, 204);
        let (status, problem) = app
            .call(Method::GET, "/api/vaults/1", Some(&alice), None)
            .await;
        assert_problem(status, &problem, 404, "not-found", "deleted vault");
    })
    .await;
}

#[tokio::test]
async fn deny_status_403_anonymous_gets_401_for_existing_and_missing_reads() {
    on_vaults(|app| async move {
        for id in [2, 999] {
            let reply = app
                .raw(Method::GET, &format!("/api/vaults/{id}"), None, &[], None)
                .await;
            reply.assert_problem(401, "unauthenticated", &format!("anonymous GET vault {id}"));
            assert_eq!(
                reply.header("www-authenticate"),
                Some("Bearer realm=\"warden\"")
            );
        }
    })
    .await;
}
