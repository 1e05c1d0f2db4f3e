//! A fresh database per data size: a SQLite file in a temp folder, or a
//! PostgreSQL database created for the run and dropped afterwards; warden
//! migrates its schema from the bench config, then the rows are generated
//! in bulk inside the database (a recursive CTE on SQLite,
//! `generate_series` on PostgreSQL), one transaction per table.
//!
//! The shape, for `rows` = N and `users` = U:
//! - users 1..U, `user<i>@bench.test`, all with one argon2id hash (warden's
//!   default parameters) of [`PASSWORD`];
//! - posts 1..N and articles 1..N, row i owned / written by user
//!   `((i - 1) % U) + 1`;
//! - acl: one grant per 100 articles (article i with i % 100 = 0), to one of
//!   the [`READERS`] users 1..10 in turn. A reader so sees about N/U own
//!   articles plus N/1000 granted ones: ~0.11% of the table.

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, Connection, Executor};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

pub const PASSWORD: &str = "password123";
/// Users 1..=READERS are the bench's callers.
pub const READERS: u64 = 10;

/// Sizes of one generated data set.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub rows: u64,
    pub users: u64,
}

impl Shape {
    pub fn owner_of(&self, id: u64) -> u64 {
        ((id - 1) % self.users) + 1
    }

    pub fn is_granted(&self, id: u64) -> Option<u64> {
        id.is_multiple_of(100)
            .then(|| ((id / 100 - 1) % READERS) + 1)
    }

    pub fn visible_to(&self, user: u64, id: u64) -> bool {
        self.owner_of(id) == user || self.is_granted(id) == Some(user)
    }

    /// Article ids `user` may read, ascending.
    pub fn visible_ids(&self, user: u64) -> Vec<u64> {
        let mut ids: Vec<u64> = (user..=self.rows).step_by(self.users as usize).collect();
        ids.extend(
            (100..=self.rows)
                .step_by(100)
                .filter(|&i| self.is_granted(i) == Some(user)),
        );
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Post ids `user` owns.
    pub fn owned_ids(&self, user: u64) -> Vec<u64> {
        (user..=self.rows).step_by(self.users as usize).collect()
    }

    /// Grants in the acl table.
    pub fn grants(&self) -> u64 {
        self.rows / 100
    }
}

/// Which database engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

/// A database that exists for one data set.
pub struct Database {
    pub backend: Backend,
    /// The URL warden and the floor connect with.
    pub url: String,
    /// The SQLAlchemy URL for the FastAPI baseline.
    pub python_url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    pub async fn create(backend: &Backend, label: &str) -> Result<Database> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("warden-bench-")
                    .tempdir()
                    .context("temp folder")?;
                let path = dir.path().join(format!("{label}.db"));
                Ok(Database {
                    backend: backend.clone(),
                    url: format!("sqlite://{}", path.display()),
                    python_url: format!("sqlite:///{}", path.display()),
                    pg_name: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres { admin_url } => {
                let name = format!("warden_bench_{}_{label}", std::process::id());
                let mut admin = sqlx::PgConnection::connect(admin_url)
                    .await
                    .context("connect to PostgreSQL")?;
                admin
                    .execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\"")))
                    .await?;
                admin
                    .execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .await
                    .context("create the bench database")?;
                let url = with_database(admin_url, &name)?;
                let python_url = url
                    .replacen("postgres://", "postgresql+psycopg://", 1)
                    .replacen("postgresql://", "postgresql+psycopg://", 1);
                Ok(Database {
                    backend: backend.clone(),
                    url,
                    python_url,
                    pg_name: Some(name),
                    _dir: None,
                })
            }
        }
    }

    /// A database someone else made and will drop (`generate`).
    pub fn existing(url: &str) -> Database {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres {
                admin_url: url.to_owned(),
            }
        };
        Database {
            backend,
            url: url.to_owned(),
            python_url: String::new(),
            pg_name: None,
            _dir: None,
        }
    }

    /// Drops a PostgreSQL database (a SQLite folder goes with `self`).
    pub async fn drop_database(self) {
        if let (Backend::Postgres { admin_url }, Some(name)) = (&self.backend, &self.pg_name)
            && let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await
        {
            let _ = admin
                .execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .await;
        }
    }

    /// Migrates with warden, then generates the rows. Returns seconds taken.
    pub async fn fill(&self, config_path: &Path, shape: Shape) -> Result<f64> {
        let started = Instant::now();
        let config =
            warden::config::Config::load(config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
        let store = warden::store::Store::open(&config, Some(&self.url)).await?;
        store.migrate(&config).await?;
        store.close().await;
        let hash = warden::password::hash(PASSWORD.to_owned()).await?;
        match self.backend {
            Backend::Sqlite => fill_sqlite(&self.url, shape, &hash).await?,
            Backend::Postgres { .. } => fill_postgres(&self.url, shape, &hash).await?,
        }
        Ok(started.elapsed().as_secs_f64())
    }
}

fn with_database(admin_url: &str, name: &str) -> Result<String> {
    // scheme://authority/database?query -> the same with `name`.
    let (scheme, rest) = admin_url
        .split_once("://")
        .context("a PostgreSQL URL looks like postgres://USER@HOST:PORT/DB")?;
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    let mut url = format!("{scheme}://{authority}/{name}");
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    // Check it parses.
    sqlx::postgres::PgConnectOptions::from_str(&url).context("PostgreSQL URL")?;
    Ok(url)
}

async fn fill_sqlite(url: &str, shape: Shape, hash: &str) -> Result<()> {
    let mut conn = sqlx::SqliteConnection::connect(url).await?;
    conn.execute("PRAGMA synchronous = OFF").await?;
    let Shape { rows, users } = shape;
    let statements = [
        format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {users}) \
             INSERT INTO users (id, email, password, is_superuser) \
             SELECT i, 'user' || i || '@bench.test', ?1, 0 FROM s"
        ),
        format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows}) \
             INSERT INTO posts (id, title, content, published, created_at, owner_id) \
             SELECT i, 'post ' || i, 'The content of post ' || i || ', a few words long.', 1, \
             '2026-11-01T09:00:00.000000Z', ((i - 1) % {users}) + 1 FROM s"
        ),
        format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows}) \
             INSERT INTO articles (id, title, body, created_on, author_id) \
             SELECT i, 'article ' || i, 'The body of article ' || i || ', a few words long.', \
             '2026-11-01T09:00:00.000000Z', ((i - 1) % {users}) + 1 FROM s"
        ),
        format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {grants}) \
             INSERT INTO acl (id, article_id, user_id) \
             SELECT i, i * 100, ((i - 1) % {READERS}) + 1 FROM s",
            grants = shape.grants()
        ),
    ];
    let mut tx = conn.begin().await?;
    for (n, sql) in statements.into_iter().enumerate() {
        let query = sqlx::query(AssertSqlSafe(sql));
        let query = if n == 0 {
            query.bind(hash.to_owned())
        } else {
            query
        };
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    conn.execute("ANALYZE").await?;
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    conn.close().await?;
    Ok(())
}

async fn fill_postgres(url: &str, shape: Shape, hash: &str) -> Result<()> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let Shape { rows, users } = shape;
    let statements = [
        format!(
            "INSERT INTO users (id, email, password, is_superuser) \
             SELECT i, 'user' || i || '@bench.test', $1, false FROM generate_series(1, {users}) i"
        ),
        format!(
            "INSERT INTO posts (id, title, content, published, created_at, owner_id) \
             SELECT i, 'post ' || i, 'The content of post ' || i || ', a few words long.', true, \
             timestamptz '2026-11-01 09:00:00+00', ((i - 1) % {users}) + 1 \
             FROM generate_series(1, {rows}) i"
        ),
        format!(
            "INSERT INTO articles (id, title, body, created_on, author_id) \
             SELECT i, 'article ' || i, 'The body of article ' || i || ', a few words long.', \
             timestamptz '2026-11-01 09:00:00+00', ((i - 1) % {users}) + 1 \
             FROM generate_series(1, {rows}) i"
        ),
        format!(
            "INSERT INTO acl (id, article_id, user_id) \
             SELECT i, i * 100, ((i - 1) % {READERS}) + 1 FROM generate_series(1, {grants}) i",
            grants = shape.grants()
        ),
    ];
    let mut tx = conn.begin().await?;
    for (n, sql) in statements.into_iter().enumerate() {
        let query = sqlx::query(AssertSqlSafe(sql));
        let query = if n == 0 {
            query.bind(hash.to_owned())
        } else {
            query
        };
        query.execute(&mut *tx).await?;
    }
    for table in ["users", "posts", "articles", "acl"] {
        // Serial/identity columns, if any, continue after the generated ids.
        tx.execute(AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table})) \
             WHERE pg_get_serial_sequence('{table}', 'id') IS NOT NULL"
        )))
        .await?;
    }
    tx.commit().await?;
    conn.execute("VACUUM ANALYZE").await?;
    conn.close().await?;
    Ok(())
}

/// Per-system access tokens of the readers (index = user - 1).
#[derive(Clone, Default)]
pub struct Tokens(pub Vec<Arc<str>>);

/// The token with its signature's first character changed.
pub fn forged(token: &str) -> Arc<str> {
    let (signed, signature) = token.rsplit_once('.').unwrap_or((token, ""));
    let mut signature = signature.to_owned();
    let first = if signature.starts_with('A') { "B" } else { "A" };
    signature.replace_range(..1.min(signature.len()), first);
    format!("{signed}.{signature}").into()
}
