//! One login name, one account, through the `warden` binary: seed files
//! and `warden user add` store logins normalised (case, surrounding space
//! and fullwidth look-alikes are one name), the CLI finds an account by
//! any spelling, and a database holding names from before is normalised
//! by `warden migrate`, or `warden serve` refuses to start, naming the
//! accounts, when two of them would become one. The HTTP side is in
//! crates/warden/tests/login_names.rs.

mod common;

use common::{PASSWORD, SECRET, TestDatabase, backends, fixture_config};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use warden::Value;
use warden::config::Config;
use warden::sea_query::{self, Alias, Expr, Query};
use warden::store::{Store, select_all};

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
