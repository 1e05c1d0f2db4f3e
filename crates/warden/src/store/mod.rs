//! The database: one [`Store`] over a SQLite or PostgreSQL pool, chosen
//! from the URL. Schema statements, migrations, row reads and writes, and
//! seeding live in the submodules. No authorization happens here: callers
//! pass in statements that already carry their rule predicates.

mod backend;
mod budgets;
mod credentials;
pub mod ddl;
mod deadline;
mod grants;
mod introspect;
mod login_names;
mod migrate;
mod rows;
mod seed;
mod target;
mod tx;
mod violation;

pub use budgets::Draw;
pub use credentials::{NewSession, RefreshRow, SessionKind, SessionRow};
pub use grants::{Grants, grant_aggregates, select_grants};
pub use migrate::MigrationReport;
pub use rows::{FLAG_PREFIX, TEXT_PREFIX};
pub use rows::{
    Row, key_column, key_equals, select_all, select_by_key, to_sql_value, unchanged_since_read,
};
pub use seed::{SeedData, SeedReport};
pub use target::{DatabaseTarget, Dialect};
pub use tx::Tx;
pub use violation::Violation;

use crate::config::Config;
use backend::{Backend, KindOf};
use sea_query_sqlx::SqlxValues;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite};
use std::time::Duration;

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database url `{0}`; use sqlite://FILE or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// Every connection stayed busy past the pool's acquire timeout.
    #[error("every database connection is busy")]
    Busy,
    /// The database stopped a statement at its deadline.
    #[error("the statement ran past its deadline and was stopped")]
    Deadline,
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error(
        "the database schema differs from the config in ways warden will not change by itself:\n{}",
        .0.join("\n")
    )]
    DestructiveMigration(Vec<String>),
    #[error("field {field}: {problem}")]
    InvalidValue { field: String, problem: String },
    #[error("seed file {path}: {problem}")]
    Seed { path: String, problem: String },
    #[error("hashing a password failed: {0}")]
    PasswordHash(String),
    #[error(
        "accounts in {field} have login names that are one name once normalised (trimmed, NFKC, lower-cased), so a login could not tell them apart; warden never merges accounts: rename or remove all but one of each group, then start again:\n{}",
        .clashes.join("\n")
    )]
    LoginNameClash { field: String, clashes: Vec<String> },
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut => StoreError::Busy,
            sqlx::Error::Database(db) if deadline::stopped(db.as_ref()) => StoreError::Deadline,
            _ => StoreError::Database(error),
        }
    }
}

/// A connection pool to one database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One statement ready to run: SQL text and its bound values.
pub(crate) struct Statement {
    sql: String,
    values: SqlxValues,
}

/// How PostgreSQL pools are opened. sqlx pings a connection before every
/// use by default: a round trip to the server before each statement. Here
/// only a connection idle for a while is pinged (where a restarted server
/// or a dropped link would show), as HikariCP's "alive bypass window"
/// does; a connection in steady use goes straight to its statement.
pub fn postgres_pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
}

/// How long a PostgreSQL connection may sit idle and still be used without
/// a ping first.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

impl Store {
    /// Opens the database a config names, or `url_override` (a command
    /// line's `--database`, resolved against the current directory).
    pub async fn open(config: &Config, url_override: Option<&str>) -> Result<Store, StoreError> {
        let (url, base) = match url_override {
            Some(url) => (url, std::path::Path::new(".")),
            None => (config.database.url.as_str(), config.folder()),
        };
        let target = DatabaseTarget::parse(url, base)
            .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
        Self::connect(&target, config.limits.request_timeout).await
    }

    /// Connects; a SQLite file is created when missing and runs with WAL,
    /// foreign keys on, a 5 s busy timeout and synchronous NORMAL. The
    /// database stops any statement (but a migration's) that runs longer
    /// than `statement_limit`, and a statement waits at most that long,
    /// and never more than 5 s, for a free connection (`deadline`).
    pub async fn connect(
        target: &DatabaseTarget,
        statement_limit: Duration,
    ) -> Result<Store, StoreError> {
        let sqlite = |options: SqliteConnectOptions| {
            options
                .create_if_missing(true)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                .synchronous(SqliteSynchronous::Normal)
        };
        let pool = match target {
            // A local file needs no liveness ping before each use: it
            // would cost a round trip to the connection's worker thread
            // on every query.
            DatabaseTarget::SqliteFile(path) => Pool::Sqlite(
                deadline::sqlite(SqlitePoolOptions::new(), statement_limit)
                    .test_before_acquire(false)
                    .connect_with(
                        sqlite(SqliteConnectOptions::new().filename(path))
                            .journal_mode(SqliteJournalMode::Wal),
                    )
                    .await?,
            ),
            // Every connection to :memory: is its own database: keep one.
            DatabaseTarget::SqliteMemory => Pool::Sqlite(
                deadline::sqlite(SqlitePoolOptions::new(), statement_limit)
                    .max_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(sqlite(SqliteConnectOptions::new().in_memory(true)))
                    .await?,
            ),
            DatabaseTarget::Postgres(url) => Pool::Postgres(
                postgres_pool_options()
                    .acquire_timeout(deadline::connection_wait(statement_limit))
                    .connect_with(deadline::postgres(url.parse()?, statement_limit))
                    .await?,
            ),
        };
        let store = Store { pool };
        if store.plans_are_stable().await? == Some(false) {
            tracing::warn!(
                "this SQLite was built without SQLITE_ENABLE_QPSG: every statement whose plan \
                 reads a bound value (a list's LIMIT) is prepared again on each run; build \
                 with LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_QPSG (this repository's .cargo/config.toml does)"
            );
        }
        Ok(store)
    }

    /// Whether SQLite plans without reading bound values (the query planner
    /// stability guarantee, compiled in), so its prepared statements are
    /// reused; `None` on PostgreSQL, which re-plans on its own terms.
    pub async fn plans_are_stable(&self) -> Result<Option<bool>, StoreError> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Ok(None);
        };
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM pragma_compile_options WHERE compile_options = 'ENABLE_QPSG'",
        )
        .fetch_optional(pool)
        .await?;
        Ok(Some(found.is_some()))
    }

    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Sqlite::DIALECT,
            Pool::Postgres(_) => Postgres::DIALECT,
        }
    }

    /// The SQLite pool, for callers with backend-specific needs.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(pool) => Some(pool),
            Pool::Postgres(_) => None,
        }
    }

    /// The PostgreSQL pool, for callers with backend-specific needs.
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite(_) => None,
        }
    }

    /// Renders a sea-query statement for this store's dialect.
    pub(crate) fn build(&self, statement: &impl sea_query_sqlx::SqlxBinder) -> Statement {
        match self.pool {
            Pool::Sqlite(_) => Sqlite::build(statement),
            Pool::Postgres(_) => Postgres::build(statement),
        }
    }

    /// Runs a write statement (insert, update, delete); returns the number
    /// of rows it touched.
    pub async fn execute(
        &self,
        statement: &impl sea_query_sqlx::SqlxBinder,
    ) -> Result<u64, StoreError> {
        let statement = self.build(statement);
        match &self.pool {
            Pool::Sqlite(pool) => Sqlite::execute(pool.acquire().await?, statement).await,
            Pool::Postgres(pool) => Postgres::execute(pool.acquire().await?, statement).await,
        }
    }

    /// Runs statements in one transaction, all or nothing; returns the rows
    /// each one touched.
    pub(crate) async fn execute_all(
        &self,
        statements: Vec<Statement>,
    ) -> Result<Vec<u64>, StoreError> {
        self.transaction(statements, false).await
    }

    /// [`Store::execute_all`] without the statement deadline, for
    /// migrations: building an index over a big table may rightly take
    /// longer than any request.
    pub(crate) async fn execute_all_unbounded(
        &self,
        statements: Vec<Statement>,
    ) -> Result<Vec<u64>, StoreError> {
        self.transaction(statements, true).await
    }

    async fn transaction(
        &self,
        statements: Vec<Statement>,
        unbounded: bool,
    ) -> Result<Vec<u64>, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => Sqlite::execute_all(pool, statements, unbounded).await,
            Pool::Postgres(pool) => Postgres::execute_all(pool, statements, unbounded).await,
        }
    }

    /// Runs a select and decodes every row, each column by `kind_of` its
    /// name.
    async fn fetch_as(
        &self,
        statement: Statement,
        kind_of: KindOf<'_>,
    ) -> Result<Vec<Row>, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                Sqlite::fetch_all(pool.acquire().await?, statement, kind_of).await
            }
            Pool::Postgres(pool) => {
                Postgres::fetch_all(pool.acquire().await?, statement, kind_of).await
            }
        }
    }

    /// [`Store::fetch_as`] of the first row only.
    async fn fetch_optional_as(
        &self,
        statement: Statement,
        kind_of: KindOf<'_>,
    ) -> Result<Option<Row>, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                Sqlite::fetch_optional(pool.acquire().await?, statement, kind_of).await
            }
            Pool::Postgres(pool) => {
                Postgres::fetch_optional(pool.acquire().await?, statement, kind_of).await
            }
        }
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

impl Statement {
    /// The text for sqlx. Asserted safe: it is rendered by sea-query with
    /// every value bound, or is DDL from validated identifiers and config
    /// literals; no request data is ever formatted into it.
    fn into_parts(self) -> (sqlx::AssertSqlSafe<String>, SqlxValues) {
        (sqlx::AssertSqlSafe(self.sql), self.values)
    }
}

/// A statement without bound values (DDL).
pub(crate) fn plain(sql: String) -> Statement {
    Statement {
        sql,
        values: SqlxValues(sea_query::Values(Vec::new())),
    }
}

#[cfg(test)]
mod tests;
