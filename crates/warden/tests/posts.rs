//! Seed 000 (FastAPI posts with JWT login) replayed against the `posts`
//! example: the tutorial's own ids and answers — user 23's token, post 4
//! owned by 21, posts 8 and 9 owned by 23 — and the course's votes.

mod common;

use common::{TestApp, assert_problem, field_values, on_each_backend};
use reqwest::Method;
use serde_json::json;

/// The tutorial's update body and the post it returns.
fn tutorial_update() -> serde_json::Value {
    json!({"title": "this is the new title", "content": "this is the new content", "published": true})
}

#[tokio::test]
async fn anyone_lists_posts_without_logging_in() {
    on_each_backend("posts", |app| async move {
        let items = app.list_items("/api/posts", None).await;
        assert_eq!(
            field_values(&items, "id"),
            [json!(4), json!(5), json!(8), json!(9)],
            "{:?}",
            app.backend
        );
        assert_eq!(items[0]["owner_id"], 21);
        assert_eq!(items[2]["owner_id"], 23);
        for key in ["title", "content", "published", "created_at"] {
            assert!(items[0].get(key).is_some(), "{key}: {items:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn user_23_logs_in_with_a_bearer_token() {
    on_each_backend("posts", |app| async move {
        let response = app
            .client
            .post(app.url("/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", "user23@example.com"),
                ("password", common::PASSWORD),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["token_type"], "Bearer");
        let token = body["access_token"].as_str().expect("access_token");
        let (status, me) = app.call(Method::GET, "/auth/me", Some(token), None).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["user"]["id"], 23, "the token's user is user 23: {me}");
        assert_eq!(me["user"]["email"], "user23@example.com", "{me}");
    })
    .await;
}

#[tokio::test]
async fn user_23_cannot_delete_post_4_owned_by_21() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let (status, body) = app
            .call(Method::DELETE, "/api/posts/4", Some(&token), None)
            .await;
        assert_problem(status, &body, 403, "forbidden", "post 4 of user 21");
        let (status, post) = app.call(Method::GET, "/api/posts/4", None, None).await;
        assert_eq!(status, 200, "post 4 is still there: {post}");
        assert_eq!(post["owner_id"], 21);
    })
    .await;
}

#[tokio::test]
async fn user_23_cannot_update_post_4_owned_by_21() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let (status, body) = app
            .call(
                Method::PUT,
                "/api/posts/4",
                Some(&token),
                Some(tutorial_update()),
            )
            .await;
        assert_problem(status, &body, 403, "forbidden", "post 4 of user 21");
        let (_, post) = app.call(Method::GET, "/api/posts/4", None, None).await;
        assert_eq!(post["title"], "Hello from 21", "unchanged");
    })
    .await;
}

#[tokio::test]
async fn user_23_deletes_own_post_8_with_204() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let (status, body) = app
            .call(Method::DELETE, "/api/posts/8", Some(&token), None)
            .await;
        assert_eq!(status, 204, "{:?}: {body}", app.backend);
        assert_eq!(body, serde_json::Value::Null, "204 has no body");
        let (status, _) = app.call(Method::GET, "/api/posts/8", None, None).await;
        assert_eq!(status, 404, "post 8 is gone");
    })
    .await;
}

#[tokio::test]
async fn user_23_updates_own_post_9_with_the_tutorials_body() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let (_, before) = app.call(Method::GET, "/api/posts/9", None, None).await;
        let (status, post) = app
            .call(
                Method::PUT,
                "/api/posts/9",
                Some(&token),
                Some(tutorial_update()),
            )
            .await;
        assert_eq!(status, 200, "{:?}: {post}", app.backend);
        assert_eq!(post["title"], "this is the new title");
        assert_eq!(post["content"], "this is the new content");
        assert_eq!(post["published"], true);
        assert_eq!(post["id"], 9);
        assert_eq!(post["owner_id"], 23);
        assert_eq!(post["created_at"], before["created_at"], "created_at kept");
    })
    .await;
}

#[tokio::test]
async fn a_missing_post_is_404_before_ownership_is_checked() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let (status, body) = app
            .call(Method::DELETE, "/api/posts/12345", Some(&token), None)
            .await;
        assert_problem(status, &body, 404, "not-found", "delete a missing post");
        let (status, body) = app
            .call(
                Method::PUT,
                "/api/posts/12345",
                Some(&token),
                Some(tutorial_update()),
            )
            .await;
        assert_problem(status, &body, 404, "not-found", "update a missing post");
        let (status, body) = app.call(Method::GET, "/api/posts/12345", None, None).await;
        assert_problem(status, &body, 404, "not-found", "read a missing post");
    })
    .await;
}

#[tokio::test]
async fn anonymous_writes_need_a_login() {
    on_each_backend("posts", |app| async move {
        for (method, path) in [
            (Method::DELETE, "/api/posts/8"),
            (Method::PUT, "/api/posts/9"),
            (Method::POST, "/api/posts"),
        ] {
            let (status, body) = app
                .call(method.clone(), path, None, Some(tutorial_update()))
                .await;
            assert_problem(status, &body, 401, "unauthenticated", path);
        }
    })
    .await;
}

#[tokio::test]
async fn created_post_is_owned_by_the_caller_whatever_the_body_says() {
    on_each_backend("posts", |app: TestApp| async move {
        let token = app.login("user23@example.com").await;
        let body = json!({"title": "mine", "content": "c", "owner_id": 21});
        let (status, problem) = app
            .call(Method::POST, "/api/posts", Some(&token), Some(body))
            .await;
        assert_eq!(status, 400, "a client-sent owner is refused: {problem}");
        assert_eq!(problem["fields"], json!(["owner_id"]));
        let body = json!({"title": "mine", "content": "c"});
        let (status, created) = app
            .call(Method::POST, "/api/posts", Some(&token), Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["owner_id"], 23, "the owner is the caller");
        assert_eq!(created["published"], true, "published defaults to true");
    })
    .await;
}

#[tokio::test]
async fn a_superuser_deletes_post_4_of_user_21() {
    on_each_backend("posts", |app| async move {
        let token = app.login("admin@example.com").await;
        let (status, body) = app
            .call(Method::DELETE, "/api/posts/4", Some(&token), None)
            .await;
        assert_eq!(status, 204, "{:?}: {body}", app.backend);
    })
    .await;
}

#[tokio::test]
async fn user_22_votes_once_on_post_8_and_a_second_vote_is_409() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user22@example.com").await;
        let vote = json!({"post_id": 8, "dir": 1});
        let (status, created) = app
            .call(Method::POST, "/api/votes", Some(&token), Some(vote.clone()))
            .await;
        assert_eq!(status, 201, "{:?}: {created}", app.backend);
        assert_eq!(created["user_id"], 22, "the voter is the caller");
        assert_eq!(created["post_id"], 8);
        let (status, body) = app
            .call(Method::POST, "/api/votes", Some(&token), Some(vote))
            .await;
        assert_problem(status, &body, 409, "conflict", "second vote");
        assert_eq!(body["fields"], json!(["post_id", "user_id"]), "{body}");
        // Post 8 now has user 21's seeded vote and user 22's.
        let (status, post) = app
            .call(Method::GET, "/api/posts/8?expand=votes", Some(&token), None)
            .await;
        assert_eq!(status, 200, "{post}");
        let voters = field_values(post["votes"].as_array().expect("votes"), "user_id");
        assert_eq!(voters, [json!(21), json!(22)], "{post}");
    })
    .await;
}

#[tokio::test]
async fn voting_on_a_missing_post_is_refused_and_anonymous_cannot_vote() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user22@example.com").await;
        let (status, body) = app
            .call(
                Method::POST,
                "/api/votes",
                Some(&token),
                Some(json!({"post_id": 12345})),
            )
            .await;
        assert_problem(status, &body, 422, "invalid-reference", "missing post");
        let (status, body) = app
            .call(
                Method::POST,
                "/api/votes",
                None,
                Some(json!({"post_id": 8})),
            )
            .await;
        assert_problem(status, &body, 401, "unauthenticated", "anonymous vote");
    })
    .await;
}

#[tokio::test]
async fn user_22_removes_own_vote_but_not_user_23s() {
    on_each_backend("posts", |app| async move {
        // Seeded: vote 1 is user 22's on post 4, vote 2 is user 23's.
        let token = app.login("user22@example.com").await;
        let (status, body) = app
            .call(Method::DELETE, "/api/votes/2", Some(&token), None)
            .await;
        assert_problem(status, &body, 403, "forbidden", "user 23's vote");
        let (status, body) = app
            .call(Method::DELETE, "/api/votes/1", Some(&token), None)
            .await;
        assert_eq!(status, 204, "{:?}: {body}", app.backend);
        let (_, post) = app
            .call(Method::GET, "/api/posts/4?expand=votes", Some(&token), None)
            .await;
        let voters = field_values(post["votes"].as_array().expect("votes"), "user_id");
        assert_eq!(voters, [json!(23)], "{post}");
        // Having removed it, user 22 may vote again.
        let (status, body) = app
            .call(
                Method::POST,
                "/api/votes",
                Some(&token),
                Some(json!({"post_id": 4})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    })
    .await;
}
