//! What the server logs while people register, log in and fail to: every
//! event at TRACE level captured in a buffer, then searched for the
//! passwords, hashes, tokens, cookies and the signing secret. None may
//! appear. (A test binary of its own: it installs the global subscriber.)

mod common;

use common::logs::LogBuffer;
use common::{SECRET, TestApp, backends, fixture_config};
use reqwest::Method;
use serde_json::json;

const PASSWORD: &str = "S3cret-Passw0rd!";
const WRONG: &str = "Wr0ng-Passw0rd?";

#[tokio::test]
async fn register_login_and_failed_login_log_no_secret() {
    let logs = LogBuffer::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .init();
    for backend in backends() {
        let app = TestApp::spawn(&fixture_config("auth"), backend, true).await;
        let mut secrets: Vec<String> = vec![
            PASSWORD.to_owned(),
            WRONG.to_owned(),
            String::from_utf8_lossy(SECRET).into_owned(),
        ];

        let registered = app
            .post_json(
                "/auth/register",
                json!({"email": "logged@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(registered.status, 201, "{}", registered.text);

        let granted = app.password_grant("logged@example.com", PASSWORD).await;
        assert_eq!(granted.status, 200, "{}", granted.text);
        let (access, refresh) = granted.tokens();
        let failed = app.password_grant("logged@example.com", WRONG).await;
        assert_eq!(failed.status, 400);
        let me = app
            .raw(Method::GET, "/auth/me", Some(&access), &[], None)
            .await;
        assert_eq!(me.status, 200);
        let rotated = app.refresh(&refresh).await;
        assert_eq!(rotated.status, 200, "{}", rotated.text);

        let login = app
            .post_json(
                "/auth/login",
                json!({"login": "logged@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(login.status, 200, "{}", login.text);
        let cookie = login.header("set-cookie").expect("cookie").to_owned();
        let cookie_value = cookie
            .split(';')
            .next()
            .and_then(|pair| pair.split_once('='))
            .map(|(_, v)| v.to_owned())
            .expect("cookie value");
        let csrf = login.json["csrf_token"].as_str().expect("csrf").to_owned();
        let bad_login = app
            .post_json(
                "/auth/login",
                json!({"login": "logged@example.com", "password": WRONG}),
            )
            .await;
        assert_eq!(bad_login.status, 401);

        let users = &app.app.config().resources["users"];
        let rows = app
            .app
            .store()
            .fetch_rows(users, &warden::store::select_all(users))
            .await
            .expect("users");
        for row in rows {
            secrets.push(row["password"].to_string().trim_matches('"').to_owned());
        }
        secrets.extend([
            access,
            refresh,
            rotated.json["access_token"]
                .as_str()
                .unwrap_or("x")
                .to_owned(),
            rotated.json["refresh_token"]
                .as_str()
                .unwrap_or("x")
                .to_owned(),
            cookie_value,
            csrf,
        ]);

        let text = logs.text();
        assert!(text.contains("registered"), "the capture works:\n{text}");
        assert!(text.contains("login failed"), "the capture works:\n{text}");
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{:?}: the logs contain a secret ({}…)",
                app.backend,
                secret.chars().take(6).collect::<String>()
            );
        }
        assert!(!text.contains("$argon2"), "a password hash was logged");
    }
}
