//! Test harness: a real warden server on a random port over a fresh
//! database — a SQLite file in a temp folder, and, when
//! `WARDEN_TEST_POSTGRES` holds a URL, a PostgreSQL database created for
//! the test and dropped afterwards — with a reqwest client.
#![allow(dead_code)]

pub mod logs;
pub mod sessions;
pub mod statements;

use reqwest::{Client, Method, Response};
use serde_json::{Map, Value as Json};
use std::future::Future;
use std::path::{Path, PathBuf};
use warden::app::App;
use warden::config::Config;
use warden::store::{SeedData, Store};

pub const PASSWORD: &str = "password123";
pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

// Not every test file uses every one of these.
#[allow(unused_imports)]
pub use warden_testkit::{
    Backend, TestDatabase, backends, create_database, drop_database, unique_suffix as uuid_like,
    with_database,
};

/// A PostgreSQL database for a PostgreSQL-only test, dropped when the
/// test ends, by a panic too; `None`, with the skip printed, when
/// `WARDEN_TEST_POSTGRES` is not set.
pub async fn postgres_only(what: &str) -> Option<TestDatabase> {
    match std::env::var("WARDEN_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(TestDatabase::create(&Backend::Postgres(url)).await),
        _ => {
            eprintln!("skipped: WARDEN_TEST_POSTGRES not set; {what} did not run");
            None
        }
    }
}

/// Runs `scenario` once per backend on a freshly seeded example.
pub async fn on_each_backend<F, Fut>(example: &str, scenario: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        let app = TestApp::spawn(&example_config(example), backend, true).await;
        scenario(app).await;
    }
}

pub fn example_config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .join("warden.toml")
}

/// A running server and what it runs on.
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub app: App,
    pub backend: Backend,
    _database: TestDatabase,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn(config_path: &Path, backend: Backend, seed: bool) -> TestApp {
        let config = Config::load(config_path).unwrap_or_else(|e| panic!("{e}"));
        Self::spawn_config(config, backend, seed).await
    }

    pub async fn spawn_config(config: Config, backend: Backend, seed: bool) -> TestApp {
        // `WARDEN_TEST_LOG=warden=debug` shows the servers' logs in failing tests.
        if let Ok(filter) = std::env::var("WARDEN_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        let database = TestDatabase::create(&backend).await;
        let url = database.url.clone();
        let store = Store::open(&config, Some(&url)).await.expect("open store");
        store.migrate(&config).await.expect("migrate");
        if seed {
            let path = config.folder().join("seed.toml");
            let data = SeedData::load(&path, &config).expect("seed file");
            store.seed(&config, &data).await.expect("seed");
        }
        let app = App::new(config, store, SECRET).unwrap_or_else(|e| panic!("{e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let served = app.clone();
        let server = tokio::spawn(async move {
            let _ = warden::server::serve(served, listener).await;
        });
        TestApp {
            base,
            client: Client::new(),
            app,
            backend,
            _database: database,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The URL of the test's database, for commands run beside the server.
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    /// A bearer token from the password grant.
    pub async fn login(&self, username: &str) -> String {
        let response = self
            .client
            .post(self.url("/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .expect("token request");
        let status = response.status();
        let body: Json = response.json().await.expect("token json");
        assert_eq!(status, 200, "login {username}: {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Sends a request, optionally with a token and a JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Json>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    /// Status and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Json>,
    ) -> (u16, Json) {
        let response = self.send(method, path, token, body).await;
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let json = if text.is_empty() {
            Json::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Json::String(text))
        };
        (status, json)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The server first: its pool must let go before the database goes.
        self.server.abort();
    }
}

/// Keys of a JSON object, sorted.
pub fn keys(json: &Json) -> Vec<String> {
    let mut keys: Vec<String> = json
        .as_object()
        .map(Map::keys)
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    keys.sort();
    keys
}

// ---------------------------------------------------------------------
// Helpers for the engine tests (engine_*.rs, list_filtering_in_sql.rs).
// ---------------------------------------------------------------------

/// Prefix of every problem `type`.
pub const PROBLEMS: &str = "https://warden.dev/problems/";

/// A test-only config: `crates/warden/tests/configs/<name>/warden.toml`
/// (with its `seed.toml` beside it). The path holds from warden-cli's
/// tests too, which share this harness.
pub fn fixture_config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../warden/tests/configs")
        .join(name)
        .join("warden.toml")
}

/// Runs `scenario` once per backend on a freshly seeded config file.
pub async fn on_each_backend_config<F, Fut>(config: &Path, scenario: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        let app = TestApp::spawn(config, backend, true).await;
        scenario(app).await;
    }
}

/// `path?k=v&...`, form-encoded.
pub fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).expect("query");
    format!("{path}?{query}")
}

/// Asserts a problem+json answer: status, `type` and `status` member.
#[track_caller]
pub fn assert_problem(status: u16, body: &Json, want_status: u16, slug: &str, context: &str) {
    assert_eq!(status, want_status, "{context}: {body}");
    assert_eq!(
        body["type"],
        format!("{PROBLEMS}{slug}"),
        "{context}: wrong problem type: {body}"
    );
    assert_eq!(body["status"], want_status, "{context}: {body}");
}

/// A whole answer: status, headers, raw text and JSON (Null when empty,
/// a string when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Json,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and type.
    #[track_caller]
    pub fn assert_problem(&self, want_status: u16, slug: &str, context: &str) {
        assert_problem(self.status, &self.json, want_status, slug, context);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{context}"
        );
    }
}

impl TestApp {
    /// Sends a request with extra headers and a raw body (no content type
    /// unless given in `headers`).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let json = if text.is_empty() {
            Json::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Json::String(text.clone()))
        };
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    /// A JSON request with extra headers.
    pub async fn json_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Json>,
    ) -> Reply {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        let bytes = body.map(|b| {
            all.push(("content-type", "application/json"));
            serde_json::to_vec(&b).expect("json")
        });
        self.raw(method, path, token, &all, bytes).await
    }

    /// `items` of a list answer, asserting a 200.
    pub async fn list_items(&self, path: &str, token: Option<&str>) -> Vec<Json> {
        let (status, body) = self.call(Method::GET, path, token, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body["items"].as_array().cloned().expect("items")
    }
}

/// The values of `field` in list items.
pub fn field_values(items: &[Json], field: &str) -> Vec<Json> {
    items.iter().map(|i| i[field].clone()).collect()
}

/// The login names of the seeded users.
pub fn seeded_logins(config: &warden::config::Config) -> Vec<String> {
    let Some(auth) = &config.auth else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(config.folder().join("seed.toml")).expect("seed.toml");
    let seed: toml::Table = toml::from_str(&text).expect("seed toml");
    seed.get(&auth.users)
        .and_then(toml::Value::as_array)
        .map(|users| {
            users
                .iter()
                .filter_map(|u| u.get(&auth.login)?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------
// Helpers for the auth tests: the token endpoint and cookie sessions.
// ---------------------------------------------------------------------

/// A cookie session: the `Cookie` header value (`name=value`, as a
/// browser sends it back) and the CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Reply {
    /// The access and refresh tokens of a token answer.
    pub fn tokens(&self) -> (String, String) {
        let token = |name: &str| {
            self.json[name]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {}", self.text))
                .to_owned()
        };
        (token("access_token"), token("refresh_token"))
    }

    /// The cookie session a successful `/auth/login` answer starts.
    pub fn session(&self) -> Session {
        let cookie = self
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned();
        let csrf = self.json["csrf_token"]
            .as_str()
            .expect("csrf_token")
            .to_owned();
        Session { cookie, csrf }
    }
}

impl TestApp {
    /// A JSON `POST` with no credentials: registration, a cookie login.
    pub async fn post_json(&self, path: &str, body: Json) -> Reply {
        self.json_with(Method::POST, path, None, &[], Some(body))
            .await
    }

    /// `POST /auth/token` with a form body, as an OAuth2 client sends it.
    pub async fn token_request(&self, form: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(form).expect("form");
        self.raw(
            Method::POST,
            "/auth/token",
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(body.into_bytes()),
        )
        .await
    }

    /// The password grant, whatever it answers.
    pub async fn password_grant(&self, username: &str, password: &str) -> Reply {
        self.token_request(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .await
    }

    /// The refresh grant, whatever it answers.
    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// Logs in at `/auth/login` with `PASSWORD`, naming the user in the
    /// config's login field: a cookie session.
    pub async fn cookie_login(&self, login: &str) -> Session {
        let field = self.app.config().auth.as_ref().expect("auth").login.clone();
        let mut body = Map::new();
        body.insert(field, Json::from(login));
        body.insert("password".to_owned(), Json::from(PASSWORD));
        let reply = self.post_json("/auth/login", Json::Object(body)).await;
        assert_eq!(reply.status, 200, "{:?}: {}", self.backend, reply.text);
        reply.session()
    }

    /// A request as a browser sends it: the session cookie, and the CSRF
    /// token on unsafe methods.
    pub async fn as_browser(
        &self,
        session: Option<&Session>,
        method: Method,
        path: &str,
        body: Option<Json>,
    ) -> Reply {
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(session) = session {
            headers.push(("cookie", &session.cookie));
            if !method.is_safe() {
                headers.push(("x-csrf-token", &session.csrf));
            }
        }
        self.json_with(method, path, None, &headers, body).await
    }
}
