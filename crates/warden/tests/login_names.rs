//! One login name, one account, black-box: case, surrounding space and
//! fullwidth look-alikes of a login are the same name wherever a login is
//! written or read — registration, both login endpoints, writes of the
//! login field, seed files, `warden user add` — and a database holding
//! names from before is normalised at start, or refused, naming the
//! accounts, when two of them would become one.

mod common;

use common::{
    PASSWORD, Reply, SECRET, TestApp, TestDatabase, backends, fixture_config,
    on_each_backend_config,
};
use reqwest::Method;
use sea_query::{Alias, Expr, Query};
use serde_json::json;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use warden::Value;
use warden::config::Config;
use warden::store::{Store, select_all};

/// `user22@example.com` as people type it, and as look-alikes do.
const SPELLINGS: [&str; 4] = [
    "USER22@example.com",
    " user22@example.com",
    "User22@Example.COM\t",
    "ｕｓｅｒ２２＠ｅｘａｍｐｌｅ．ｃｏｍ",
];

async fn register(app: &TestApp, email: &str) -> Reply {
    app.post_json(
        "/auth/register",
        json!({"email": email, "password": PASSWORD}),
    )
    .await
}

#[tokio::test]
async fn case_space_and_fullwidth_variants_of_a_login_are_one_account() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let context = format!("{:?}", app.backend);
        let first = register(&app, "user22@example.com").await;
        assert_eq!(first.status, 201, "{context}: {}", first.text);
        let id = first.json["id"].clone();
        for spelling in SPELLINGS {
            let again = register(&app, spelling).await;
            again.assert_problem(409, "conflict", &format!("{context}: {spelling:?}"));
        }
        // Every spelling logs in to that one account, on both endpoints.
        for spelling in SPELLINGS {
            let token = app.password_grant(spelling, PASSWORD).await;
            assert_eq!(token.status, 200, "{context}: {spelling:?}: {}", token.text);
            let cookie = app
                .post_json(
                    "/auth/login",
                    json!({"email": spelling, "password": PASSWORD}),
                )
                .await;
            assert_eq!(
                cookie.status, 200,
                "{context}: {spelling:?}: {}",
                cookie.text
            );
            assert_eq!(cookie.json["id"], id, "{context}: {spelling:?}");
            assert_eq!(cookie.json["user"]["email"], "user22@example.com");
        }
        // A new account is stored under its normalised name.
        let mixed = register(&app, "  Mixed.Case@Example.ORG ").await;
        assert_eq!(mixed.status, 201, "{context}: {}", mixed.text);
        assert_eq!(mixed.json["email"], "mixed.case@example.org", "{context}");
        let blank = register(&app, " \u{3000} ").await;
        blank.assert_problem(400, "validation", &context);
    })
    .await;
}

#[tokio::test]
async fn a_written_login_field_is_stored_normalised_and_stays_unique() {
    // The `auth` fixture with the login field writable after create.
    let mut config = Config::load(&fixture_config("auth")).unwrap_or_else(|e| panic!("{e}"));
    if let Some(email) = config
        .resources
        .get_mut("users")
        .and_then(|users| users.fields.get_mut("email"))
    {
        email.immutable = false;
    }
    for backend in backends() {
        let app = TestApp::spawn_config(config.clone(), backend, true).await;
        let context = format!("{:?}", app.backend);
        let alice = app.login("alice@example.com").await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/users/1",
                Some(&alice),
                Some(json!({"email": " New.Alice@Example.com "})),
            )
            .await;
        assert_eq!(status, 200, "{context}: {body}");
        assert_eq!(body["email"], "new.alice@example.com", "{context}");
        let bob = app.login("bob@example.com").await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/users/2",
                Some(&bob),
                Some(json!({"email": "ＮＥＷ.ａｌｉｃｅ@example.com"})),
            )
            .await;
        assert_eq!(status, 409, "{context}: {body}");
        assert_eq!(
            app.password_grant("NEW.ALICE@EXAMPLE.COM", PASSWORD)
                .await
                .status,
            200
        );
    }
}

/// Runs the `warden` binary; returns (success, stdout, stderr).
fn warden(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env("WARDEN_PASSWORD", PASSWORD)
        .env_remove("WARDEN_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run warden");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The stored login of every account, by key.
async fn stored_logins(config: &Config, url: &str) -> Vec<(Value, Value)> {
    let store = Store::open(config, Some(url)).await.expect("open");
    let users = config.users_resource().expect("users");
    let mut select = select_all(users);
    select.order_by(Alias::new("id"), sea_query::Order::Asc);
    let rows = store.fetch_rows(users, &select).await.expect("users");
    store.close().await;
    rows.into_iter()
        .map(|row| {
            (
                row.get("id").cloned().unwrap_or(Value::Null),
                row.get("email").cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

#[tokio::test]
async fn seed_files_and_warden_user_add_store_normalised_logins() {
    let config_path = fixture_config("auth");
    let config = Config::load(&config_path).unwrap_or_else(|e| panic!("{e}"));
    let config_arg = config_path.to_str().expect("utf-8 path");
    for backend in backends() {
        let database = TestDatabase::create(&backend).await;
        let folder = tempfile::tempdir().expect("temp dir");
        let seed = folder.path().join("seed.toml");
        std::fs::write(
            &seed,
            "[[users]]\nid = 50\nemail = \" SEEDED@Example.com \"\npassword = \"password123\"\n",
        )
        .expect("seed file");
        let seed_arg = seed.to_str().expect("utf-8 path");
        let (ok, _, stderr) = warden(&["seed", config_arg, seed_arg, "--database", &database.url]);
        assert!(ok, "{backend:?}: {stderr}");
        let (ok, stdout, stderr) = warden(&[
            "user",
            "add",
            config_arg,
            "ＡＤＤＥＤ@Example.com",
            "--database",
            &database.url,
        ]);
        assert!(ok, "{backend:?}: {stderr}");
        assert!(
            stdout.contains("added added@example.com"),
            "{backend:?}: {stdout}"
        );
        let (ok, _, stderr) = warden(&[
            "user",
            "add",
            config_arg,
            "Added@example.com ",
            "--database",
            &database.url,
        ]);
        assert!(
            !ok && stderr.contains("already exists"),
            "{backend:?}: {stderr}"
        );
        let logins: Vec<Value> = stored_logins(&config, &database.url)
            .await
            .into_iter()
            .map(|(_, login)| login)
            .collect();
        assert_eq!(
            logins,
            [text("seeded@example.com"), text("added@example.com")],
            "{backend:?}"
        );
        // The CLI finds an account by any spelling of its login.
        let (ok, _, stderr) = warden(&[
            "user",
            "grant",
            config_arg,
            " SEEDED@EXAMPLE.COM",
            "--scope",
            "notes:read",
            "--database",
            &database.url,
        ]);
        assert!(ok, "{backend:?}: {stderr}");
    }
}

/// Inserts an account as an older warden (or a person with SQL) would
/// have: the login exactly as given.
async fn insert_raw(config: &Config, url: &str, id: i64, email: &str) {
    let store = Store::open(config, Some(url)).await.expect("open");
    store
        .execute(
            Query::insert()
                .into_table(Alias::new("users"))
                .columns([
                    Alias::new("id"),
                    Alias::new("email"),
                    Alias::new("password"),
                ])
                .values_panic([Expr::val(id), Expr::val(email), Expr::val("not a hash")]),
        )
        .await
        .expect("insert");
    store.close().await;
}

#[tokio::test]
async fn stored_logins_are_normalised_at_start_and_clashing_ones_refuse_to_start() {
    let config_path = fixture_config("auth");
    let config = Config::load(&config_path).unwrap_or_else(|e| panic!("{e}"));
    let config_arg = config_path.to_str().expect("utf-8 path");
    for backend in backends() {
        let database = TestDatabase::create(&backend).await;
        let store = Store::open(&config, Some(&database.url))
            .await
            .expect("open");
        store.migrate(&config).await.expect("migrate");
        store.close().await;
        insert_raw(&config, &database.url, 50, "Mixed@Example.COM").await;
        let (ok, stdout, stderr) = warden(&["migrate", config_arg, "--database", &database.url]);
        assert!(ok, "{backend:?}: {stderr}");
        assert!(
            stdout.contains("normalised login names: 1"),
            "{backend:?}: {stdout}"
        );
        assert_eq!(
            stored_logins(&config, &database.url).await,
            [(Value::Int(50), text("mixed@example.com"))],
            "{backend:?}"
        );

        insert_raw(&config, &database.url, 51, "Dup@Example.com").await;
        insert_raw(&config, &database.url, 52, " dup@example.com").await;
        let mut serve = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["serve", config_arg, "--listen", "127.0.0.1:0"])
            .args(["--database", &database.url])
            .env(
                "WARDEN_JWT_SECRET",
                String::from_utf8_lossy(SECRET).as_ref(),
            )
            .env_remove("WARDEN_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start warden");
        // It either says where it listens (and must not) or ends.
        let stdout = serve.stdout.take().expect("stdout");
        let listening = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.starts_with("warden listening on"));
        if listening {
            let _ = serve.kill();
        }
        let status = serve.wait().expect("wait");
        let mut stderr = String::new();
        if let Some(mut pipe) = serve.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        assert!(!listening && !status.success(), "{backend:?}: {stderr}");
        for named in [
            "\"Dup@Example.com\" (id 51)",
            "\" dup@example.com\" (id 52)",
            "users.email",
        ] {
            assert!(
                stderr.contains(named),
                "{backend:?}: {named} not in {stderr}"
            );
        }
        // Nothing was merged or rewritten.
        assert_eq!(
            stored_logins(&config, &database.url).await,
            [
                (Value::Int(50), text("mixed@example.com")),
                (Value::Int(51), text("Dup@Example.com")),
                (Value::Int(52), text(" dup@example.com")),
            ],
            "{backend:?}"
        );
    }
}
