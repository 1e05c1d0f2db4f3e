//! Crash safety and graceful shutdown, on real `warden serve` processes.
//!
//! - Under concurrent creates and two-column updates, warden is killed
//!   with SIGKILL, restarted on the same database (a SQLite file in WAL
//!   mode, and PostgreSQL when `WARDEN_TEST_POSTGRES` is set) and checked:
//!   every write that was answered 2xx is there, and no row is half
//!   written (each update sets `title` and `content` to one value, so a
//!   row whose two columns differ would be a torn write). Several kill
//!   cycles run on one database; `WARDEN_CRASH_KILLS` sets how many
//!   (3 by default, for CI).
//! - SIGTERM lets requests in flight finish (one is still sending its
//!   body when the signal arrives) and then the process exits cleanly.

mod common;

use common::process::Instance;
use std::process::Command;

use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden::sqlx;

const SECRET: &str = "crash-safety-secret-crash-safety-secret-0123";

fn posts_config() -> PathBuf {
    common::example_config("posts")
}

fn start(config: &Path, database: &str, seed: bool) -> Instance {
    common::process::start(config, database, seed, SECRET)
}

async fn token(client: &reqwest::Client, base: &str, user: &str) -> String {
    let body: Json = client
        .post(format!("{base}/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", common::PASSWORD),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// What the writers were told, and what was in flight when warden died.
#[derive(Default)]
struct Ledger {
    /// Titles whose create was answered 201, by post id.
    created: BTreeMap<i64, String>,
    /// Creates sent but not answered (any may or may not have landed).
    pending_creates: Vec<String>,
    /// Per post: the last value an update was acknowledged with, and the
    /// value of an update still in flight.
    updated: BTreeMap<i64, (Option<String>, Option<String>)>,
}

/// One writer: creates posts, then updates each of its own posts
/// (title and content together), until the server dies.
async fn writer(
    client: reqwest::Client,
    base: String,
    token: String,
    task: usize,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut mine: Vec<i64> = Vec::new();
    for step in 0.. {
        let value = format!("crash-t{task}-s{step}-{}", common::uuid_like());
        if step % 2 == 0 || mine.is_empty() {
            ledger
                .lock()
                .expect("ledger")
                .pending_creates
                .push(value.clone());
            let Ok(response) = client
                .post(format!("{base}/api/posts"))
                .bearer_auth(&token)
                .json(&json!({"title": value, "content": value}))
                .send()
                .await
            else {
                return;
            };
            if response.status() != 201 {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                assert!(status.is_success(), "create answered {status}: {text}");
                return;
            }
            let Ok(body) = response.json::<Json>().await else {
                return;
            };
            let id = body["id"].as_i64().expect("id");
            mine.push(id);
            ledger.lock().expect("ledger").created.insert(id, value);
        } else {
            let id = mine[step % mine.len()];
            ledger
                .lock()
                .expect("ledger")
                .updated
                .entry(id)
                .or_default()
                .1 = Some(value.clone());
            let Ok(response) = client
                .patch(format!("{base}/api/posts/{id}"))
                .bearer_auth(&token)
                .json(&json!({"title": value, "content": value}))
                .send()
                .await
            else {
                return;
            };
            let status = response.status();
            if status != 200 {
                let text = response.text().await.unwrap_or_default();
                assert!(status.is_success(), "update answered {status}: {text}");
                return;
            }
            if response.bytes().await.is_err() {
                return;
            }
            let mut ledger = ledger.lock().expect("ledger");
            let entry = ledger.updated.entry(id).or_default();
            *entry = (Some(value), None);
        }
    }
}

/// Every post, through the API (the list rule of `posts` is `true`).
async fn all_posts(client: &reqwest::Client, base: &str) -> BTreeMap<i64, (String, String)> {
    let mut posts = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/posts?limit=100");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let body: Json = client
            .get(&url)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        for item in body["items"].as_array().expect("items") {
            posts.insert(
                item["id"].as_i64().expect("id"),
                (
                    item["title"].as_str().unwrap_or_default().to_owned(),
                    item["content"].as_str().unwrap_or_default().to_owned(),
                ),
            );
        }
        match body["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return posts,
        }
    }
}

fn kills() -> usize {
    std::env::var("WARDEN_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

/// Kill cycles on one database; returns the acknowledged writes checked.
async fn survive_kills(database: &str, label: &str) {
    let config = posts_config();
    let client = reqwest::Client::new();
    let mut acknowledged_total = 0usize;
    let cycles = kills();
    for cycle in 0..cycles {
        let mut instance = start(&config, database, cycle == 0);
        let base = instance.base.clone();
        let users = [
            "user21@example.com",
            "user22@example.com",
            "user23@example.com",
        ];
        let mut tokens = Vec::new();
        for user in users {
            tokens.push(token(&client, &base, user).await);
        }
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let mut tasks = Vec::new();
        for task in 0..12 {
            let client = reqwest::Client::new();
            let token = tokens[task % tokens.len()].clone();
            tasks.push(tokio::spawn(writer(
                client,
                base.clone(),
                token,
                task,
                ledger.clone(),
            )));
        }
        // Let the load build, then kill at a moment that varies per cycle.
        tokio::time::sleep(Duration::from_millis(700 + 250 * (cycle as u64 % 4))).await;
        instance.child.kill().expect("SIGKILL");
        instance.child.wait().expect("reaped");
        for task in tasks {
            task.await.expect("writer task");
        }
        drop(instance);

        let restarted = start(&config, database, false);
        let posts = all_posts(&client, &restarted.base).await;
        let ledger = ledger.lock().expect("ledger");
        assert!(
            ledger.created.len() >= 10,
            "{label} cycle {cycle}: too little load before the kill ({} creates)",
            ledger.created.len()
        );
        for (id, title) in &ledger.created {
            let Some((stored_title, content)) = posts.get(id) else {
                panic!(
                    "{label} cycle {cycle}: post {id} ({title}) was acknowledged with 201 and is gone"
                );
            };
            let (acked, in_flight) = ledger.updated.get(id).cloned().unwrap_or_default();
            let allowed: Vec<&String> = [Some(title), acked.as_ref(), in_flight.as_ref()]
                .into_iter()
                .flatten()
                .collect();
            // The last acknowledged update, or one in flight after it;
            // never an older value once an update was acknowledged.
            let allowed: Vec<&String> = match &acked {
                Some(acked) => [Some(acked), in_flight.as_ref()]
                    .into_iter()
                    .flatten()
                    .collect(),
                None => allowed,
            };
            assert!(
                allowed.contains(&stored_title),
                "{label} cycle {cycle}: post {id} holds {stored_title:?}, acknowledged {acked:?}, in flight {in_flight:?}"
            );
            assert_eq!(
                stored_title, content,
                "{label} cycle {cycle}: post {id} is half written"
            );
        }
        for (id, (title, content)) in &posts {
            if title.starts_with("crash-") || content.starts_with("crash-") {
                assert_eq!(
                    title, content,
                    "{label} cycle {cycle}: post {id} is half written"
                );
            }
        }
        let acknowledged = ledger.created.len()
            + ledger
                .updated
                .values()
                .filter(|(acked, _)| acked.is_some())
                .count();
        acknowledged_total += acknowledged;
        eprintln!(
            "{label} cycle {cycle}: SIGKILL under load; {} acknowledged creates and {} updated rows all present after restart; {} creates were in flight",
            ledger.created.len(),
            acknowledged - ledger.created.len(),
            ledger.pending_creates.len() - ledger.created.len()
        );
    }
    eprintln!("{label}: {cycles} kills survived, {acknowledged_total} acknowledged writes checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_acknowledged_write_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let database = format!("sqlite://{}", dir.path().join("crash.db").display());
    survive_kills(&database, "SQLite (WAL)").await;
    // The file itself is sound after the kills.
    let pool = sqlx::SqlitePool::connect(&database).await.expect("open");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .expect("integrity_check");
    assert_eq!(check, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_acknowledged_write_on_postgres() {
    let Some(db) = common::postgres_only("the PostgreSQL crash test").await else {
        return;
    };
    let database = db.url.clone();
    survive_kills(&database, "PostgreSQL").await;
}

/// Sends a request's head and half its body, and returns the stream.
async fn half_sent_create(base: &str, token: &str, body: &str) -> tokio::net::TcpStream {
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/posts HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .expect("half body");
    stream.flush().await.expect("flush");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish() {
    let dir = tempfile::tempdir().expect("dir");
    let database = format!("sqlite://{}", dir.path().join("term.db").display());
    let mut instance = start(&posts_config(), &database, true);
    let client = reqwest::Client::new();
    let token = token(&client, &instance.base, "user21@example.com").await;
    let body = json!({"title": "sent across a SIGTERM", "content": "finished after the signal"})
        .to_string();
    let mut stream = half_sent_create(&instance.base, &token, &body).await;
    // Let the server start handling it, then ask it to stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = Command::new("kill")
        .args(["-TERM", &instance.child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        instance.child.try_wait().expect("try_wait").is_none(),
        "warden exited with a request in flight"
    );
    // New connections are no longer served.
    let refused = reqwest::Client::new()
        .get(format!("{}/healthz", instance.base))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a new request was served after SIGTERM: {refused:?}"
    );
    stream
        .write_all(&body.as_bytes()[body.len() / 2..])
        .await
        .expect("rest of body");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight was not finished: {answer}"
    );
    let exit = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(status) = instance.child.try_wait().expect("try_wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("warden exits after its last request");
    assert!(exit.success(), "exit status {exit}");
    // And the write is durable.
    let restarted = start(&posts_config(), &database, false);
    let posts = all_posts(&client, &restarted.base).await;
    assert!(
        posts
            .values()
            .any(|(title, _)| title == "sent across a SIGTERM"),
        "the post finished during shutdown is missing"
    );
}
