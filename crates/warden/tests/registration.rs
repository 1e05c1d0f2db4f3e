//! What registration may cost, black-box: a taken login is refused before
//! any argon2 hash is made (hashes are counted from the server's own
//! debug events), and registrations are limited per client address.

mod common;

use common::logs::LogBuffer;
use common::{TestApp, backends, fixture_config};
use serde_json::json;
use std::time::Duration;
use tokio::task::JoinSet;
use warden::config::{Config, RegistrationLimit};

/// Held by each test for its whole run. The hash count reads a subscriber
/// set for its own thread only, and tracing's per-event interest is shared
/// by the process: with the other test hashing on another thread at the
/// same time, about one run in four counted no hash at all.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The line `password::hash` logs before each hash.
const HASHING: &str = "hashing a password with argon2id";

/// The hashes logged so far.
fn hashes(logs: &LogBuffer) -> usize {
    logs.text().matches(HASHING).count()
}

/// The `auth` fixture (registration open, alice@example.com seeded)
/// with its own registration limit.
fn config(per_address: u32) -> Config {
    let mut config = Config::load(&fixture_config("auth")).unwrap_or_else(|e| panic!("{e}"));
    if let Some(auth) = config.auth.as_mut() {
        auth.registration_limit = RegistrationLimit {
            per_address,
            window: Duration::from_secs(3600),
        };
    }
    config
}

async fn register(app: &TestApp, email: &str) -> common::Reply {
    app.post_json(
        "/auth/register",
        json!({"email": email, "password": "a fine password"}),
    )
    .await
}

// One thread (tokio's default for tests): the server's tasks log on the
// thread whose subscriber counts them.
#[tokio::test]
async fn a_taken_login_costs_no_password_hash() {
    let _alone = ONE_AT_A_TIME.lock().await;
    for backend in backends() {
        let app = TestApp::spawn_config(config(100), backend, true).await;
        let context = format!("{:?}", app.backend);
        let lines = LogBuffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(lines.clone())
            .finish();
        let _counting = tracing::subscriber::set_default(subscriber);

        // The count sees hashes: a new account costs one.
        let fresh = register(&app, "fresh@example.com").await;
        assert_eq!(fresh.status, 201, "{context}: {}", fresh.text);
        assert_eq!(hashes(&lines), 1, "{context}");

        // 30 registrations of taken logins at once, in any spelling.
        let taken = [
            "alice@example.com",
            "ALICE@example.com",
            " fresh@example.com",
        ];
        let mut attempts = JoinSet::new();
        for n in 0..30 {
            let request = app
                .client
                .post(app.url("/auth/register"))
                .json(&json!({"email": taken[n % taken.len()], "password": "a fine password"}));
            attempts.spawn(async move {
                let response = request.send().await.expect("register");
                (
                    response.status().as_u16(),
                    response.text().await.unwrap_or_default(),
                )
            });
        }
        for (status, text) in attempts.join_all().await {
            assert_eq!(status, 409, "{context}: {text}");
        }
        assert_eq!(hashes(&lines), 1, "{context}: a taken login was hashed");
    }
}

#[tokio::test]
async fn registrations_past_the_address_limit_get_429_and_create_nothing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    for backend in backends() {
        let app = TestApp::spawn_config(config(3), backend, true).await;
        let context = format!("{:?}", app.backend);
        // Every registration counts, a taken login too: its answer tells
        // whether the login exists.
        assert_eq!(register(&app, "one@example.com").await.status, 201);
        assert_eq!(register(&app, "alice@example.com").await.status, 409);
        assert_eq!(register(&app, "two@example.com").await.status, 201);
        let refused = register(&app, "three@example.com").await;
        refused.assert_problem(429, "too-many-requests", &context);
        // 3 per hour: a slot comes back 20 minutes after it was taken.
        let retry: u64 = refused
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After seconds");
        assert!((1..=1200).contains(&retry), "{context}: {retry}");
        let login = app
            .password_grant("three@example.com", "a fine password")
            .await;
        assert_eq!(login.status, 400, "{context}: {}", login.text);
        assert_eq!(login.json["error"], "invalid_grant", "{context}");
    }
}
