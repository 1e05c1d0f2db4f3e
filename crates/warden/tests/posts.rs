//! Seed 000 (FastAPI posts with JWT login) replayed against the `posts`
//! example: the tutorial's own ids and answers.

mod common;

use common::{TestApp, on_each_backend};
use reqwest::Method;
use serde_json::json;

async fn user_23_scenario(app: TestApp) {
    let token = app.login("user23@example.com").await;
    let (status, body) = app
        .call(Method::DELETE, "/api/posts/4", Some(&token), None)
        .await;
    assert_eq!(
        status, 403,
        "{:?}: user 23 must not delete post 4 of user 21: {body}",
        app.backend
    );
    assert_eq!(body["type"], "https://warden.dev/problems/forbidden");
    let (status, _) = app
        .call(Method::DELETE, "/api/posts/8", Some(&token), None)
        .await;
    assert_eq!(status, 204, "{:?}: user 23 deletes own post 8", app.backend);
    let (status, _) = app.call(Method::GET, "/api/posts/8", None, None).await;
    assert_eq!(status, 404, "post 8 is gone");
    let update = json!({"title": "updated title", "content": "updated content", "published": true});
    let (status, body) = app
        .call(Method::PUT, "/api/posts/9", Some(&token), Some(update))
        .await;
    assert_eq!(status, 200, "{:?}: {body}", app.backend);
    assert_eq!(body["title"], "updated title");
    assert_eq!(body["owner_id"], 23);
    let (status, _) = app
        .call(Method::DELETE, "/api/posts/12345", Some(&token), None)
        .await;
    assert_eq!(status, 404);
    let (status, body) = app.call(Method::GET, "/api/posts", None, None).await;
    assert_eq!(status, 200);
    assert!(
        body["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn user_23_deletes_own_post_8_but_not_post_4_of_user_21() {
    on_each_backend("posts", user_23_scenario).await;
}

async fn create_scenario(app: TestApp) {
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
    let (status, _) = app
        .call(
            Method::POST,
            "/api/posts",
            None,
            Some(json!({"title": "x", "content": "y"})),
        )
        .await;
    assert_eq!(status, 401, "anonymous create needs a login");
}

#[tokio::test]
async fn created_post_is_owned_by_the_caller_whatever_the_body_says() {
    on_each_backend("posts", create_scenario).await;
}
