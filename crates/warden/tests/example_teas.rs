//! Seed 002 (FastAPI + SQLAlchemy "teas" with comments) replayed against
//! the `teas` example: teas belong to a user by foreign key, a tea's JSON
//! includes its user (never a password hash), comments belong to teas,
//! the seed links teas to users, creating a tea links it to the logged-in
//! user, only the owner updates or deletes, passwords are stored as
//! argon2id hashes and tokens carry exp, iat and sub.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{TestApp, assert_problem, field_values, on_each_backend};
use reqwest::Method;
use serde_json::{Value as Json, json};
use warden_policy::Value;

/// alice (1) owns chai (1) and earl grey (2); bob (2) owns matcha (3).
const ALICE: &str = "alice";
const BOB: &str = "bob";

#[tokio::test]
async fn seed_links_teas_to_users_and_anyone_lists_them() {
    on_each_backend("teas", |app| async move {
        let items = app.list_items("/api/teas", None).await;
        assert_eq!(
            field_values(&items, "name"),
            [json!("chai"), json!("earl grey"), json!("matcha")]
        );
        assert_eq!(
            field_values(&items, "user_id"),
            [json!(1), json!(1), json!(2)]
        );
        // And from the other side: alice's teas.
        let (status, alice) = app
            .call(Method::GET, "/api/users/1?expand=teas", None, None)
            .await;
        assert_eq!(status, 200, "{:?}: {alice}", app.backend);
        assert_eq!(
            field_values(alice["teas"].as_array().expect("teas"), "id"),
            [json!(1), json!(2)]
        );
    })
    .await;
}

#[tokio::test]
async fn a_teas_json_includes_its_user_without_a_password_hash() {
    on_each_backend("teas", |app| async move {
        for token in [None, Some(app.login(BOB).await)] {
            let (status, tea) = app
                .call(
                    Method::GET,
                    "/api/teas/1?expand=user",
                    token.as_deref(),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{:?}: {tea}", app.backend);
            assert_eq!(tea["user"]["id"], 1);
            assert_eq!(tea["user"]["username"], "alice");
            assert!(tea["user"].get("password_hash").is_none(), "{tea}");
            assert!(!tea.to_string().contains("argon2"), "{tea}");
            // alice's email is hers to see.
            assert!(tea["user"].get("email").is_none(), "{tea}");
        }
        // In a list too.
        let items = app.list_items("/api/teas?expand=user", None).await;
        assert_eq!(items[2]["user"]["username"], "bob");
        assert!(items[2]["user"].get("password_hash").is_none());
        // alice sees her own email on her tea.
        let alice = app.login(ALICE).await;
        let (_, tea) = app
            .call(Method::GET, "/api/teas/1?expand=user", Some(&alice), None)
            .await;
        assert_eq!(tea["user"]["email"], "alice@example.com", "{tea}");
    })
    .await;
}

#[tokio::test]
async fn comments_belong_to_teas() {
    on_each_backend("teas", |app| async move {
        let (status, tea) = app
            .call(Method::GET, "/api/teas/1?expand=comments", None, None)
            .await;
        assert_eq!(status, 200, "{tea}");
        assert_eq!(
            field_values(tea["comments"].as_array().expect("comments"), "content"),
            [json!("Spicy and warm.")]
        );
        let bob = app.login(BOB).await;
        let (status, comment) = app
            .call(
                Method::POST,
                "/api/comments",
                Some(&bob),
                Some(json!({"content": "Lovely.", "tea_id": 1})),
            )
            .await;
        assert_eq!(status, 201, "{:?}: {comment}", app.backend);
        let (status, body) = app
            .call(
                Method::POST,
                "/api/comments",
                None,
                Some(json!({"content": "anon", "tea_id": 1})),
            )
            .await;
        assert_problem(status, &body, 401, "unauthenticated", "anonymous comment");
    })
    .await;
}

#[tokio::test]
async fn creating_a_tea_links_it_to_the_logged_in_user() {
    on_each_backend("teas", |app| async move {
        let bob = app.login(BOB).await;
        let (status, tea) = app
            .call(
                Method::POST,
                "/api/teas",
                Some(&bob),
                Some(json!({"name": "oolong", "in_stock": true, "rating": 4})),
            )
            .await;
        assert_eq!(status, 201, "{:?}: {tea}", app.backend);
        assert_eq!(tea["user_id"], 2, "bob's tea");
        // A body naming another user is refused, not obeyed.
        let (status, body) = app
            .call(
                Method::POST,
                "/api/teas",
                Some(&bob),
                Some(json!({"name": "sencha", "in_stock": true, "rating": 4, "user_id": 1})),
            )
            .await;
        assert_problem(
            status,
            &body,
            400,
            "readonly-fields",
            "user_id from the body",
        );
        let (status, body) = app
            .call(
                Method::POST,
                "/api/teas",
                None,
                Some(json!({"name": "sencha", "in_stock": true, "rating": 4})),
            )
            .await;
        assert_problem(status, &body, 401, "unauthenticated", "anonymous tea");
    })
    .await;
}

#[tokio::test]
async fn tea_names_are_unique_and_ratings_one_to_five() {
    on_each_backend("teas", |app| async move {
        let bob = app.login(BOB).await;
        let (status, body) = app
            .call(
                Method::POST,
                "/api/teas",
                Some(&bob),
                Some(json!({"name": "chai", "in_stock": true, "rating": 4})),
            )
            .await;
        assert_problem(status, &body, 409, "conflict", "chai exists");
        assert_eq!(body["fields"], json!(["name"]));
        let (status, body) = app
            .call(
                Method::POST,
                "/api/teas",
                Some(&bob),
                Some(json!({"name": "rooibos", "in_stock": true, "rating": 9})),
            )
            .await;
        assert_problem(status, &body, 403, "forbidden", "rating 9");
    })
    .await;
}

#[tokio::test]
async fn bob_cannot_update_or_delete_alices_chai() {
    on_each_backend("teas", |app| async move {
        let bob = app.login(BOB).await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/teas/1",
                Some(&bob),
                Some(json!({"rating": 1})),
            )
            .await;
        assert_problem(status, &body, 403, "forbidden", "bob updates chai");
        let (status, body) = app
            .call(Method::DELETE, "/api/teas/1", Some(&bob), None)
            .await;
        assert_problem(status, &body, 403, "forbidden", "bob deletes chai");
        let (_, tea) = app.call(Method::GET, "/api/teas/1", None, None).await;
        assert_eq!(tea["rating"], 4, "unchanged");
    })
    .await;
}

#[tokio::test]
async fn alice_updates_and_deletes_her_chai() {
    on_each_backend("teas", |app| async move {
        let alice = app.login(ALICE).await;
        let (status, tea) = app
            .call(
                Method::PUT,
                "/api/teas/1",
                Some(&alice),
                Some(json!({"name": "masala chai", "in_stock": false, "rating": 5})),
            )
            .await;
        assert_eq!(status, 200, "{:?}: {tea}", app.backend);
        assert_eq!(tea["name"], "masala chai");
        assert_eq!(tea["user_id"], 1);
        let (status, _) = app
            .call(Method::DELETE, "/api/teas/1", Some(&alice), None)
            .await;
        assert_eq!(status, 204);
        let (status, _) = app.call(Method::GET, "/api/teas/1", None, None).await;
        assert_eq!(status, 404);
        // Its comments went with it (on_delete = cascade).
        let (status, _) = app.call(Method::GET, "/api/comments/1", None, None).await;
        assert_eq!(status, 404);
        let (status, body) = app
            .call(Method::DELETE, "/api/teas/999", Some(&alice), None)
            .await;
        assert_problem(status, &body, 404, "not-found", "missing tea");
    })
    .await;
}

#[tokio::test]
async fn the_teas_owner_moderates_its_comments() {
    on_each_backend("teas", |app| async move {
        // Comment 2 is on bob's matcha.
        let alice = app.login(ALICE).await;
        let (status, body) = app
            .call(Method::DELETE, "/api/comments/2", Some(&alice), None)
            .await;
        assert_problem(status, &body, 403, "forbidden", "alice, bob's tea");
        let bob = app.login(BOB).await;
        let (status, _) = app
            .call(Method::DELETE, "/api/comments/2", Some(&bob), None)
            .await;
        assert_eq!(status, 204);
    })
    .await;
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    on_each_backend("teas", |app: TestApp| async move {
        let users = app.app.config().resource("users").expect("users").clone();
        let rows = app
            .app
            .store()
            .fetch_rows(&users, &warden::store::select_all(&users))
            .await
            .expect("rows");
        assert_eq!(rows.len(), 2);
        for row in rows {
            match row.get("password_hash") {
                Some(Value::Text(hash)) => {
                    assert!(hash.starts_with("$argon2id$"), "{hash}");
                    assert!(!hash.contains("password123"));
                }
                other => panic!("no hash: {other:?}"),
            }
        }
        // A user's own record shows no hash either.
        let alice = app.login(ALICE).await;
        let (_, me) = app
            .call(Method::GET, "/api/users/1", Some(&alice), None)
            .await;
        assert!(me.get("password_hash").is_none(), "{me}");
        assert_eq!(me["email"], "alice@example.com");
    })
    .await;
}

#[tokio::test]
async fn tokens_carry_exp_iat_and_sub() {
    on_each_backend("teas", |app| async move {
        let token = app.login(ALICE).await;
        let payload = token.split('.').nth(1).expect("payload");
        let claims: Json =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
        assert_eq!(claims["sub"], "1");
        let (iat, exp) = (
            claims["iat"].as_u64().expect("iat"),
            claims["exp"].as_u64().expect("exp"),
        );
        assert_eq!(exp - iat, 24 * 3600, "a day, as the tutorial's tokens");
        // A wrong password is refused.
        let response = app
            .client
            .post(app.url("/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", ALICE),
                ("password", "not-her-password"),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), 400);
    })
    .await;
}
