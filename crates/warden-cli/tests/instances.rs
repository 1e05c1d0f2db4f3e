//! Several stateless warden processes on one PostgreSQL database: nothing
//! that decides authorization lives in one process's memory. A logout on
//! one instance is refused by the other at once; 1,000 concurrent
//! conditional PATCHes (If-Match) split across two processes lose no
//! update, and every stale one is answered 412. PostgreSQL only.

mod common;

use common::process::Instance;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const SECRET: &str = "instances-secret-instances-secret-0123456789";

fn start(config: &Path, database: &str, seed: bool) -> Instance {
    common::process::start(config, database, seed, SECRET)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_lose_no_update_and_answer_stale_writes_with_412() {
    let Some(db) = common::postgres_only("the multi-instance test").await else {
        return;
    };
    let database = db.url.clone();
    let config = common::fixture_config("counter");
    let a = start(&config, &database, true);
    let b = start(&config, &database, false);
    let client = reqwest::Client::new();
    let token: serde_json::Value = client
        .post(format!("{}/auth/token", a.base))
        .form(&[
            ("grant_type", "password"),
            ("username", "user1@example.com"),
            ("password", "password123"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = Arc::new(
        token["access_token"]
            .as_str()
            .expect("access token")
            .to_owned(),
    );
    let (succeeded, stale, other) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let attempts_per_task = 25;
    let tasks = 40;
    let mut handles = Vec::new();
    for task in 0..tasks {
        let base = if task % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let (client, token) = (client.clone(), token.clone());
        let (succeeded, stale, other) = (succeeded.clone(), stale.clone(), other.clone());
        handles.push(tokio::spawn(async move {
            for _ in 0..attempts_per_task {
                let response = client
                    .get(format!("{base}/api/counters/1"))
                    .send()
                    .await
                    .expect("get");
                let etag = response.headers()["etag"]
                    .to_str()
                    .expect("etag")
                    .to_owned();
                let body: serde_json::Value = response.json().await.expect("json");
                let value = body["value"].as_i64().expect("value");
                let status = client
                    .patch(format!("{base}/api/counters/1"))
                    .bearer_auth(token.as_str())
                    .header("If-Match", etag)
                    .json(&serde_json::json!({ "value": value + 1 }))
                    .send()
                    .await
                    .expect("patch")
                    .status()
                    .as_u16();
                match status {
                    200 => succeeded.fetch_add(1, Ordering::SeqCst),
                    412 => stale.fetch_add(1, Ordering::SeqCst),
                    _ => other.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }
    for handle in handles {
        handle.await.expect("task");
    }
    let body: serde_json::Value = client
        .get(format!("{}/api/counters/1", b.base))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let (succeeded, stale, other) = (
        succeeded.load(Ordering::SeqCst),
        stale.load(Ordering::SeqCst),
        other.load(Ordering::SeqCst),
    );
    drop((a, b));
    assert_eq!(
        succeeded + stale + other,
        (tasks * attempts_per_task) as u64
    );
    assert_eq!(other, 0, "every attempt is 200 or 412");
    assert!(
        stale > 0,
        "with 40 concurrent writers some writes must be stale"
    );
    assert_eq!(
        body["value"].as_i64(),
        Some(succeeded as i64),
        "no successful update was lost ({succeeded} ok, {stale} stale)"
    );
}

#[tokio::test]
async fn a_logout_on_one_instance_is_refused_by_the_other() {
    let Some(db) = common::postgres_only("the multi-instance test").await else {
        return;
    };
    let database = db.url.clone();
    let config = common::fixture_config("counter");
    let a = start(&config, &database, true);
    let b = start(&config, &database, false);
    let client = reqwest::Client::new();
    let token: serde_json::Value = client
        .post(format!("{}/auth/token", a.base))
        .form(&[
            ("grant_type", "password"),
            ("username", "user1@example.com"),
            ("password", "password123"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let access = token["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    let refresh = token["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let me = |base: String| {
        let (client, access) = (client.clone(), access.clone());
        async move {
            client
                .get(format!("{base}/auth/me"))
                .bearer_auth(access)
                .send()
                .await
                .expect("me")
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(b.base.clone()).await, 200, "B accepts A's token");
    let logout = client
        .post(format!("{}/auth/logout", a.base))
        .bearer_auth(&access)
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status().as_u16(), 204);
    let (on_b, on_a) = (me(b.base.clone()).await, me(a.base.clone()).await);
    let refreshed = client
        .post(format!("{}/auth/token", b.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .expect("refresh")
        .status()
        .as_u16();
    drop((a, b));
    assert_eq!(on_b, 401, "B refuses the token right after the logout on A");
    assert_eq!(on_a, 401);
    assert_eq!(
        refreshed, 400,
        "the session's refresh token is dead on B too"
    );
}
