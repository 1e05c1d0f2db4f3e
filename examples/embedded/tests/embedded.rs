//! Black-box tests of the embedded example: its two hand-written routes
//! and warden's own API in one axum app, on SQLite and PostgreSQL.

use reqwest::Method;
use serde_json::{Value as Json, json};
use std::path::Path;
use warden_testkit::{TestDatabase, TestServer, backends};

const SECRET: &str = "embedded-example-test-secret-of-40-bytes";

struct Example {
    server: TestServer,
    _database: TestDatabase,
}

impl Example {
    async fn token(&self, email: &str) -> String {
        let (status, body) = self
            .server
            .send(
                self.server
                    .client
                    .post(self.server.url("/auth/token"))
                    .form(&[
                        ("grant_type", "password"),
                        ("username", email),
                        ("password", "password123"),
                    ]),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        format!("Bearer {}", body["access_token"].as_str().expect("token"))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Json>,
    ) -> (u16, Json) {
        self.server.call(method, path, auth, body).await
    }
}

async fn on_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Example) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("warden.toml");
    for backend in backends() {
        let database = TestDatabase::create(&backend).await;
        let warden = warden::Warden::from_file(&config)
            .database(&database.url)
            .seed(config.with_file_name("seed.toml"))
            .jwt_secret(SECRET)
            .build()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let server = TestServer::spawn(warden_example_embedded::app(warden)).await;
        scenario(Example {
            server,
            _database: database,
        })
        .await;
    }
}

#[tokio::test]
async fn voting_needs_a_login() {
    on_each_backend(|app| async move {
        let response = app
            .server
            .client
            .post(app.server.url("/vote"))
            .json(&json!({"post_id": 1, "dir": 1}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .expect("header")
                .starts_with("Bearer")
        );
    })
    .await;
}

#[tokio::test]
async fn a_user_votes_once_per_post() {
    on_each_backend(|app| async move {
        let user2 = app.token("user2@example.com").await;
        let user3 = app.token("user3@example.com").await;
        let vote = json!({"post_id": 1, "dir": 1});
        let (status, body) = app
            .call(Method::POST, "/vote", Some(&user2), Some(vote.clone()))
            .await;
        assert_eq!(
            (status, &body["message"]),
            (201, &json!("successfully added vote")),
            "{body}"
        );
        let (status, body) = app
            .call(Method::POST, "/vote", Some(&user2), Some(vote.clone()))
            .await;
        assert_eq!(status, 409, "second vote: {body}");
        // Another user's vote on the same post is theirs to cast.
        let (status, _) = app
            .call(Method::POST, "/vote", Some(&user3), Some(vote))
            .await;
        assert_eq!(status, 201);
        // Votes are private: each user lists only their own.
        let (_, mine) = app
            .call(Method::GET, "/api/votes", Some(&user2), None)
            .await;
        let items = mine["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "{mine}");
        assert_eq!(items[0]["user_id"], json!(2));
    })
    .await;
}

#[tokio::test]
async fn voting_on_a_missing_post_is_404() {
    on_each_backend(|app| async move {
        let user2 = app.token("user2@example.com").await;
        let (status, body) = app
            .call(
                Method::POST,
                "/vote",
                Some(&user2),
                Some(json!({"post_id": 999, "dir": 1})),
            )
            .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["type"], json!("https://warden.dev/problems/not-found"));
    })
    .await;
}

#[tokio::test]
async fn removing_a_vote_removes_only_your_own() {
    on_each_backend(|app| async move {
        let user2 = app.token("user2@example.com").await;
        let user3 = app.token("user3@example.com").await;
        let remove = json!({"post_id": 1, "dir": 0});
        let (status, _) = app
            .call(Method::POST, "/vote", Some(&user2), Some(remove.clone()))
            .await;
        assert_eq!(status, 404, "no vote to remove yet");
        let (status, _) = app
            .call(
                Method::POST,
                "/vote",
                Some(&user2),
                Some(json!({"post_id": 1, "dir": 1})),
            )
            .await;
        assert_eq!(status, 201);
        // user 3 has no vote on post 1: user 2's is not theirs to remove.
        let (status, _) = app
            .call(Method::POST, "/vote", Some(&user3), Some(remove.clone()))
            .await;
        assert_eq!(status, 404);
        let (_, mine) = app
            .call(Method::GET, "/api/votes", Some(&user2), None)
            .await;
        assert_eq!(
            mine["items"].as_array().map(Vec::len),
            Some(1),
            "user 2's vote survived"
        );
        let (status, body) = app
            .call(Method::POST, "/vote", Some(&user2), Some(remove))
            .await;
        assert_eq!(
            (status, &body["message"]),
            (200, &json!("successfully deleted vote"))
        );
        let (_, mine) = app
            .call(Method::GET, "/api/votes", Some(&user2), None)
            .await;
        assert_eq!(mine["items"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn bad_vote_bodies_are_400_problems() {
    on_each_backend(|app| async move {
        let user2 = app.token("user2@example.com").await;
        for body in [
            json!({"post_id": 1, "dir": 5}),
            json!({"post_id": "one", "dir": 1}),
            json!({"dir": 1}),
            json!([1]),
        ] {
            let (status, problem) = app
                .call(Method::POST, "/vote", Some(&user2), Some(body.clone()))
                .await;
            assert_eq!(status, 400, "{body}: {problem}");
            assert!(
                problem["type"]
                    .as_str()
                    .is_some_and(|t| t.contains("/problems/")),
                "{problem}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn admin_save_needs_admin_write() {
    on_each_backend(|app| async move {
        let employee = json!({"firstName": "Ada", "lastName": "Lovelace", "gender": "F", "email": "ada@example.com", "password": "secret-pass"});
        let (status, _) = app.call(Method::POST, "/emp/admin-save", None, Some(employee.clone())).await;
        assert_eq!(status, 401);
        let user2 = app.token("user2@example.com").await;
        let response = app
            .server
            .client
            .post(app.server.url("/emp/admin-save"))
            .header("authorization", &user2)
            .json(&employee)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 403);
        let challenge = response.headers()["www-authenticate"].to_str().expect("header").to_owned();
        assert!(challenge.contains("insufficient_scope") && challenge.contains("admin:write"), "{challenge}");
        let (_, list) = app.call(Method::GET, "/api/employees", Some(&app.token("admin@example.com").await), None).await;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "nothing was saved: {list}");
    })
    .await;
}

#[tokio::test]
async fn admin_save_inserts_without_emp_no_and_updates_with_it() {
    on_each_backend(|app| async move {
        let admin = app.token("admin@example.com").await;
        // An insert needs email and password.
        let (status, problem) = app
            .call(Method::POST, "/emp/admin-save", Some(&admin), Some(json!({"firstName": "Ada", "lastName": "L", "gender": "F"})))
            .await;
        assert_eq!(status, 400, "{problem}");
        let fields: Vec<&str> = problem["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!(fields, ["email", "password"]);

        let (status, created) = app
            .call(
                Method::POST,
                "/emp/admin-save",
                Some(&admin),
                Some(json!({"firstName": "Ada", "lastName": "Lovelace", "gender": "F", "email": "ada@example.com", "password": "secret-pass"})),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        assert!(created.get("password").is_none(), "the password is write-only: {created}");
        let emp_no = created["emp_no"].as_i64().expect("emp_no");

        // An update ignores email and password, as seed 001 does.
        let (status, updated) = app
            .call(
                Method::POST,
                "/emp/admin-save",
                Some(&admin),
                Some(json!({"empNo": emp_no, "lastName": "King", "gender": "F", "email": "other@example.com", "password": "changed"})),
            )
            .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["last_name"], json!("King"));
        assert_eq!(updated["email"], json!("ada@example.com"));

        // The rule still decides: gender must be M or F.
        let (status, _) = app
            .call(Method::POST, "/emp/admin-save", Some(&admin), Some(json!({"empNo": emp_no, "gender": "X"})))
            .await;
        assert_eq!(status, 403);
        let (status, _) = app
            .call(Method::POST, "/emp/admin-save", Some(&admin), Some(json!({"empNo": 424242, "lastName": "Nobody"})))
            .await;
        assert_eq!(status, 404);
    })
    .await;
}

#[tokio::test]
async fn warden_api_is_served_beside_the_routes() {
    on_each_backend(|app| async move {
        let (status, posts) = app.call(Method::GET, "/api/posts", None, None).await;
        assert_eq!(status, 200);
        assert_eq!(posts["items"].as_array().map(Vec::len), Some(2));
        let user3 = app.token("user3@example.com").await;
        let (status, _) = app
            .call(Method::DELETE, "/api/posts/1", Some(&user3), None)
            .await;
        assert_eq!(status, 403, "only the owner deletes");
    })
    .await;
}
