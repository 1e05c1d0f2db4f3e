//! The store against real databases: a temporary SQLite file always, and
//! PostgreSQL when WARDEN_TEST_POSTGRES holds a URL (each test then makes
//! and drops its own database).

use super::*;
use crate::config::{Config, Limits, VERSION_COLUMN};
use sea_query::{Alias, Expr, ExprTrait};
use std::path::{Path, PathBuf};
use warden_policy::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/posts/warden.toml")
}

fn example() -> Result<Config, Box<dyn std::error::Error>> {
    Ok(Config::load(&example_path())?)
}

async fn temp_sqlite() -> Result<(tempfile::TempDir, Store), Box<dyn std::error::Error>> {
    let folder = tempfile::tempdir()?;
    let target = DatabaseTarget::SqliteFile(folder.path().join("test.db"));
    let store = Store::connect(&target, Limits::default().request_timeout).await?;
    Ok((folder, store))
}

/// The workspace builds SQLite with its query planner stability guarantee
/// (`.cargo/config.toml`), so a list's `LIMIT ?` does not make SQLite
/// prepare the statement again on every run.
#[tokio::test]
async fn sqlite_plans_without_reading_bound_values() -> TestResult {
    let (_folder, store) = temp_sqlite().await?;
    assert_eq!(store.plans_are_stable().await?, Some(true));
    Ok(())
}

async fn seed_twice_then_check(store: &Store) -> TestResult {
    let config = example()?;
    store.migrate(&config).await?;
    let seed_path = example_path().with_file_name("seed.toml");
    let data = SeedData::load(&seed_path, &config)?;
    let first = store.seed(&config, &data).await?;
    assert_eq!(
        first,
        SeedReport {
            inserted: 11,
            skipped: 0,
            grants: 1
        }
    );
    let second = store.seed(&config, &data).await?;
    assert_eq!(
        second,
        SeedReport {
            inserted: 0,
            skipped: 11,
            grants: 0
        }
    );

    let posts = &config.resources["posts"];
    let mut select = select_all(posts);
    select
        .and_where(Expr::col(Alias::new("owner_id")).eq(23))
        .order_by(Alias::new("id"), sea_query::Order::Asc);
    let rows = store.fetch_rows(posts, &select).await?;
    let ids: Vec<&Value> = rows.iter().map(|row| &row["id"]).collect();
    assert_eq!(ids, [&Value::Int(8), &Value::Int(9)]);
    assert_eq!(rows[1]["published"], Value::Bool(false));
    assert_eq!(
        rows[0]["created_at"],
        Value::from("2026-11-03T09:00:00.000000Z")
    );
    assert_eq!(rows[0]["_version"], Value::Int(1));

    let users = &config.resources["users"];
    let admin = store
        .fetch_rows(
            users,
            select_all(users).and_where(Expr::col(Alias::new("id")).eq(1)),
        )
        .await?;
    let Value::Text(hash) = &admin[0]["password"] else {
        panic!("password must be stored as text");
    };
    assert!(crate::password::verify("password123".into(), hash.clone()).await?);

    // A new row gets a fresh id past the seeded ones, and its defaults.
    let mut row = Row::default();
    row.insert("title".into(), Value::from("new"));
    row.insert("content".into(), Value::from("body"));
    row.insert("owner_id".into(), Value::Int(21));
    let stored = store.insert(posts, &row).await?;
    assert_eq!(stored["id"], Value::Int(10));
    assert_eq!(stored["published"], Value::Bool(true));
    let Value::Text(created_at) = &stored["created_at"] else {
        panic!("created_at must be set by its default");
    };
    assert_eq!(created_at.len(), "2026-11-21T10:00:00.000000Z".len());
    Ok(())
}

#[tokio::test]
async fn sqlite_seed_is_idempotent_and_rows_round_trip() -> TestResult {
    let (_folder, store) = temp_sqlite().await?;
    seed_twice_then_check(&store).await
}

#[tokio::test]
async fn sqlite_migration_adds_columns_and_refuses_destructive_changes() -> TestResult {
    let (_folder, store) = temp_sqlite().await?;
    let config = example()?;
    let first = store.migrate(&config).await?;
    assert!(first.created_tables.contains(&"posts".to_owned()));
    assert!(store.migrate(&config).await?.is_empty());

    let source = config.source.replace(
        "fields.content    = { type = \"text\" }",
        "fields.content    = { type = \"text\" }\nfields.summary    = { type = \"text\", nullable = true }\nfields.rating     = { type = \"float\", default = 0 }\nfields.editor_id  = { type = \"integer\", nullable = true, references = \"users\" }",
    );
    let extended = Config::parse(&config.path, &source)?;
    let report = store.migrate(&extended).await?;
    assert_eq!(
        report.added_columns,
        ["posts.summary", "posts.rating", "posts.editor_id"]
    );
    assert_eq!(report.created_indexes, ["ix_posts_editor_id"]);

    let retyped = Config::parse(
        &config.path,
        &source.replace(
            "fields.summary    = { type = \"text\", nullable = true }",
            "fields.summary    = { type = \"integer\", nullable = true }",
        ),
    )?;
    let Err(StoreError::DestructiveMigration(problems)) = store.migrate(&retyped).await else {
        panic!("a type change must be refused");
    };
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("posts.summary is `text`"),
        "{problems:?}"
    );

    let Err(StoreError::DestructiveMigration(problems)) = store.migrate(&config).await else {
        panic!("dropping fields must be refused");
    };
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("never drops columns"), "{problems:?}");

    let required = Config::parse(
        &config.path,
        &source.replace(
            "fields.published",
            "fields.slug       = { type = \"text\" }\nfields.published",
        ),
    )?;
    let Err(StoreError::DestructiveMigration(problems)) = store.migrate(&required).await else {
        panic!("a NOT NULL column without default must be refused");
    };
    assert!(problems[0].contains("nullable = true"), "{problems:?}");
    Ok(())
}

#[tokio::test]
async fn sqlite_pragmas_are_set() -> TestResult {
    let (_folder, store) = temp_sqlite().await?;
    let pool = store.sqlite_pool().ok_or("sqlite store")?;
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await?;
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await?;
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(pool)
        .await?;
    assert_eq!(
        (journal.as_str(), foreign_keys, busy, synchronous),
        ("wal", 1, 5000, 1)
    );
    Ok(())
}

/// A fresh PostgreSQL database for one test, dropped by `finish`.
struct TestPostgres {
    admin: sqlx::PgPool,
    name: String,
    /// The test database's URL, for a second store of other settings.
    url: String,
    store: Store,
}

impl TestPostgres {
    async fn create(test: &str) -> Result<Option<Self>, Box<dyn std::error::Error>> {
        let Ok(url) = std::env::var("WARDEN_TEST_POSTGRES") else {
            println!("skipped: WARDEN_TEST_POSTGRES not set");
            return Ok(None);
        };
        let admin = sqlx::PgPool::connect(&url).await?;
        let name = format!(
            "warden_test_{test}_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        );
        // CREATE DATABASE takes no parameters; the name is built from
        // this test's own identifier characters and numbers.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&admin)
            .await?;
        let database_url = match url.rfind('/') {
            Some(slash) if url[..slash].ends_with(|c: char| c != '/') => {
                format!("{}/{name}", &url[..slash])
            }
            _ => format!("{url}/{name}"),
        };
        let store = Store::connect(
            &DatabaseTarget::Postgres(database_url.clone()),
            Limits::default().request_timeout,
        )
        .await?;
        Ok(Some(Self {
            admin,
            name,
            url: database_url,
            store,
        }))
    }

    /// Runs `test` on a fresh database named after it, then drops the
    /// database and answers the test's outcome; skipped (and passing)
    /// without `WARDEN_TEST_POSTGRES`.
    async fn run(name: &str, test: impl AsyncFnOnce(&TestPostgres) -> TestResult) -> TestResult {
        let Some(database) = TestPostgres::create(name).await? else {
            return Ok(());
        };
        let outcome = test(&database).await;
        database.finish().await?;
        outcome
    }

    async fn finish(self) -> TestResult {
        self.store.close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )))
        .execute(&self.admin)
        .await?;
        Ok(())
    }
}

#[tokio::test]
async fn postgres_seed_is_idempotent_and_rows_round_trip() -> TestResult {
    TestPostgres::run("seed", async |database| {
        seed_twice_then_check(&database.store).await
    })
    .await
}

#[tokio::test]
async fn postgres_migration_is_repeatable_and_refuses_type_changes() -> TestResult {
    TestPostgres::run("migrate", async |database| {
        let config = example()?;
        database.store.migrate(&config).await?;
        assert!(database.store.migrate(&config).await?.is_empty());
        let retyped = Config::parse(
            &config.path,
            &config.source.replace(
                "fields.title      = { type = \"text\", searchable = true }",
                "fields.title      = { type = \"integer\" }",
            ),
        )?;
        let Err(StoreError::DestructiveMigration(problems)) =
            database.store.migrate(&retyped).await
        else {
            panic!("a type change must be refused");
        };
        assert!(
            problems[0].contains("posts.title is `text`"),
            "{problems:?}"
        );
        Ok(())
    })
    .await
}

/// An update guarded by `unchanged_since_read` touches the row only while
/// it is as read: not after another update (its version moved), nor after
/// other SQL changed a column the update leaves alone without touching the
/// version (as a foreign key's `ON DELETE SET NULL` would).
async fn guarded_update_needs_the_row_as_read(store: &Store) -> TestResult {
    let config = example()?;
    store.migrate(&config).await?;
    let data = SeedData::load(&example_path().with_file_name("seed.toml"), &config)?;
    store.seed(&config, &data).await?;
    let posts = config.resources.get("posts").ok_or("posts")?;
    let first_post = store.fetch_rows(posts, &select_all(posts)).await?;
    let Some(Value::Int(id)) = first_post.first().and_then(|row| row.get("id")).cloned() else {
        return Err("a seeded post".into());
    };
    let the_post = || Expr::col((Alias::new("posts"), Alias::new("id"))).eq(id);
    let read = || async {
        let mut select = select_all(posts);
        select.and_where(the_post());
        let rows = store.fetch_rows(posts, &select).await?;
        rows.into_iter()
            .next()
            .ok_or_else(|| Box::<dyn std::error::Error>::from("the post is still there"))
    };
    let mut changes = Row::default();
    changes.insert("title".to_owned(), Value::Text("guarded".to_owned()));
    let update = |stored: &Row| -> Result<sea_query::UpdateStatement, String> {
        let mut update = sea_query::Query::update();
        update
            .table(Alias::new("posts"))
            .value(Alias::new("title"), "guarded")
            .value(
                Alias::new(VERSION_COLUMN),
                Expr::col(Alias::new(VERSION_COLUMN)).add(1),
            )
            .and_where(the_post());
        for guard in unchanged_since_read(posts, stored, &changes, store.dialect())? {
            update.and_where(guard);
        }
        Ok(update)
    };

    let stored = read().await?;
    let first = update(&stored)?;
    assert_eq!(store.execute(&first).await?, 1, "the row is as read");
    assert_eq!(store.execute(&first).await?, 0, "its version has moved");

    let stored = read().await?;
    let mut other_sql = sea_query::Query::update();
    other_sql
        .table(Alias::new("posts"))
        .value(Alias::new("content"), "changed behind the reader's back")
        .and_where(the_post());
    assert_eq!(store.execute(&other_sql).await?, 1);
    assert_eq!(
        store.execute(&update(&stored)?).await?,
        0,
        "a column the update leaves alone has changed"
    );
    let stored = read().await?;
    assert_eq!(store.execute(&update(&stored)?).await?, 1, "read again");
    Ok(())
}

#[tokio::test]
async fn sqlite_guarded_update_needs_the_row_as_read() -> TestResult {
    let (_folder, store) = temp_sqlite().await?;
    guarded_update_needs_the_row_as_read(&store).await
}

#[tokio::test]
async fn postgres_guarded_update_needs_the_row_as_read() -> TestResult {
    TestPostgres::run("guarded_update", async |database| {
        guarded_update_needs_the_row_as_read(&database.store).await
    })
    .await
}

/// A pooled connection whose server process ended while it sat idle (a
/// restarted server, an administrator's `pg_terminate_backend`) is not
/// handed to the next statement: that statement succeeds on a new
/// connection. (sqlx notices the ended connection here even without the
/// idle ping; the test guards the pool options against losing that.)
#[tokio::test]
async fn postgres_a_connection_ended_while_idle_is_replaced() -> TestResult {
    TestPostgres::run("idle_end", async |database| {
        let pool = database.store.postgres_pool().ok_or("a PostgreSQL pool")?;
        let before: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(pool)
            .await?;
        let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(before)
            .fetch_one(&database.admin)
            .await?;
        assert!(ended, "the pooled connection's server process ended");
        tokio::time::sleep(PING_AFTER_IDLE + Duration::from_millis(200)).await;
        let after: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(pool)
            .await?;
        assert_ne!(after, before, "a new connection served the statement");
        Ok(())
    })
    .await
}

/// A statement that would run for minutes (counting to a billion).
fn runaway() -> Statement {
    plain(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) \
         SELECT count(*) FROM n"
            .to_owned(),
    )
}

/// The database stops a statement past the store's deadline, each time
/// the connection is handed out again, and the connection then serves the
/// next statement; a migration runs without the deadline.
async fn runaway_statements_are_stopped_at_the_deadline(store: &Store) -> TestResult {
    // Errors, not panics: a panic would skip dropping the PostgreSQL
    // test database.
    for _ in 0..2 {
        match store.execute_all(vec![runaway()]).await {
            Err(StoreError::Deadline) => {}
            other => return Err(format!("a runaway statement ended with {other:?}").into()),
        }
        store.execute_all(vec![plain("SELECT 1".into())]).await?;
    }
    store.migrate(&example()?).await?;
    Ok(())
}

const SHORT_DEADLINE: std::time::Duration = std::time::Duration::from_millis(300);

#[tokio::test]
async fn sqlite_stops_runaway_statements_at_the_deadline() -> TestResult {
    let folder = tempfile::tempdir()?;
    let target = DatabaseTarget::SqliteFile(folder.path().join("test.db"));
    runaway_statements_are_stopped_at_the_deadline(&Store::connect(&target, SHORT_DEADLINE).await?)
        .await
}

#[tokio::test]
async fn postgres_stops_runaway_statements_at_the_deadline() -> TestResult {
    TestPostgres::run("deadline", async |database| {
        let target = DatabaseTarget::Postgres(database.url.clone());
        let store = Store::connect(&target, SHORT_DEADLINE).await?;
        let outcome = runaway_statements_are_stopped_at_the_deadline(&store).await;
        store.close().await;
        outcome
    })
    .await
}

/// Rows left in the attempt budgets table.
async fn budget_rows(store: &Store) -> Result<i64, Box<dyn std::error::Error>> {
    let sql = "SELECT COUNT(*) FROM _warden_attempt_budgets";
    Ok(match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        (_, Some(pool)) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        _ => 0,
    })
}

async fn budgets_hand_out_exactly_their_slots(store: &Store) -> TestResult {
    store.migrate(&example()?).await?;
    // Three slots, one back every second; and a budget of one.
    let three = Draw {
        key: "three",
        slot_ms: 1000,
        tolerance_ms: 2000,
    };
    let one = Draw {
        key: "one",
        slot_ms: 1000,
        tolerance_ms: 0,
    };
    let now = 1_000_000;
    for _ in 0..3 {
        assert_eq!(store.draw_slots(&[three], now).await?, None);
    }
    assert_eq!(store.draw_slots(&[three], now).await?, Some(1000));
    assert_eq!(store.draw_slots(&[three], now + 999).await?, Some(1));
    assert_eq!(store.draw_slots(&[three], now + 1000).await?, None);
    // All or none: `one` is drawn first, then `three` refuses, and the
    // whole transaction goes: `one` still has its slot.
    assert_eq!(
        store.draw_slots(&[one, three], now + 1000).await?,
        Some(1000)
    );
    assert_eq!(store.draw_slots(&[one], now + 1000).await?, None);
    assert_eq!(store.draw_slots(&[one], now + 1000).await?, Some(1000));
    // Refused by the first, the wait is until both have a slot.
    let slow = Draw {
        key: "slow",
        slot_ms: 5000,
        tolerance_ms: 0,
    };
    assert_eq!(store.draw_slots(&[slow], now + 1000).await?, None);
    assert_eq!(
        store.draw_slots(&[one, slow], now + 1000).await?,
        Some(5000)
    );
    // A slot given back can be taken again, once.
    store.return_slot("three", 1000).await?;
    assert_eq!(store.draw_slots(&[three], now + 1000).await?, None);
    assert_eq!(store.draw_slots(&[three], now + 1000).await?, Some(1000));
    // Whole budgets are forgotten, the others kept.
    assert_eq!(budget_rows(store).await?, 3);
    store.forget_whole_budgets(now + 2000).await?;
    assert_eq!(budget_rows(store).await?, 2);
    store.forget_whole_budgets(now + 6000).await?;
    assert_eq!(budget_rows(store).await?, 0);
    Ok(())
}

#[tokio::test]
async fn sqlite_budgets_hand_out_exactly_their_slots() -> TestResult {
    let (_folder, store) = temp_sqlite().await?;
    budgets_hand_out_exactly_their_slots(&store).await
}

#[tokio::test]
async fn postgres_budgets_hand_out_exactly_their_slots() -> TestResult {
    TestPostgres::run("budgets", async |database| {
        budgets_hand_out_exactly_their_slots(&database.store).await
    })
    .await
}

/// Schema version 1 counted failed logins in a table of its own; the
/// migration to version 2 drops it.
#[tokio::test]
async fn sqlite_migration_drops_the_retired_login_failures_table() -> TestResult {
    let (_folder, store) = temp_sqlite().await?;
    let pool = store.sqlite_pool().ok_or("sqlite")?;
    sqlx::query(
        "CREATE TABLE _warden_login_failures (key_hash text NOT NULL, failed_at bigint NOT NULL)",
    )
    .execute(pool)
    .await?;
    let report = store.migrate(&example()?).await?;
    assert_eq!(report.dropped_tables, ["_warden_login_failures"]);
    assert!(
        !store
            .existing_schema()
            .await?
            .tables
            .contains_key("_warden_login_failures")
    );
    let version: String =
        sqlx::query_scalar("SELECT value FROM _warden_meta WHERE key = 'schema_version'")
            .fetch_one(pool)
            .await?;
    assert_eq!(version, "2");
    Ok(())
}
