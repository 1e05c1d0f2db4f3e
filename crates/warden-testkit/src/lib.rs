//! Test support for apps built on warden: a fresh database per test (a
//! SQLite file in a temp folder, and a PostgreSQL database created for the
//! test and dropped after it when `WARDEN_TEST_POSTGRES` holds a URL), and
//! an axum app served on a free loopback port with a JSON client.
#![allow(clippy::missing_panics_doc)]

use serde_json::Value as Json;
use std::str::FromStr;

/// Where a test's data lives.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The admin URL databases are created through.
    Postgres(String),
}

/// SQLite always; PostgreSQL too when `WARDEN_TEST_POSTGRES` is set (and
/// a line saying the PostgreSQL cases were skipped when it is not).
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    match std::env::var("WARDEN_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => all.push(Backend::Postgres(url)),
        _ => eprintln!("skipped: WARDEN_TEST_POSTGRES not set; PostgreSQL cases did not run"),
    }
    all
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub backend: Backend,
    /// The URL to open it with.
    pub url: String,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create(backend: &Backend) -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, postgres) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("test.db").display()),
                None,
            ),
            Backend::Postgres(admin) => {
                let name = format!("warden_test_{}", unique_suffix());
                create_database(admin, &name).await;
                (with_database(admin, &name), Some((admin.clone(), name)))
            }
        };
        TestDatabase {
            backend: backend.clone(),
            url,
            _dir: dir,
            postgres,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            // Dropping needs async I/O; do it on a thread of its own.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(drop_database(&admin, &name));
            })
            .join();
        }
    }
}

/// Unique enough for database names of parallel tests.
pub fn unique_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{}_{:x}", std::process::id(), h.finish())
}

/// The admin URL with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let options = sqlx::postgres::PgConnectOptions::from_str(url).expect("postgres url");
    let host = options.get_host();
    let port = options.get_port();
    let user = options.get_username();
    if host.starts_with('/') {
        format!("postgres://{user}@localhost/{name}?host={host}&port={port}")
    } else {
        format!("postgres://{user}@{host}:{port}/{name}")
    }
}

pub async fn create_database(admin_url: &str, name: &str) {
    use sqlx::{Connection, Executor};
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .expect("create database");
}

pub async fn drop_database(admin_url: &str, name: &str) {
    use sqlx::{Connection, Executor};
    if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
        let _ = admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .await;
    }
}

/// An axum app served on a free loopback port, with a client.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn spawn(app: axum::Router) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        TestServer {
            base,
            client: reqwest::Client::new(),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `request` and returns the status and the JSON body (`Null`
    /// when empty, a string when not JSON).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Json) {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let json = if text.is_empty() {
            Json::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Json::String(text))
        };
        (status, json)
    }

    /// `method path` with an optional `Authorization` header value and
    /// JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<Json>,
    ) -> (u16, Json) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
