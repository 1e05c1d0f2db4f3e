//! How long the database lets one statement run: past the deadline the
//! database itself stops it, so a request the server has given up on
//! (`[limits] request_timeout`) frees its connection instead of running
//! on. PostgreSQL: the connection's `statement_timeout`. SQLite: a
//! progress handler armed with a fresh deadline each time the pool hands
//! the connection out (sqlx runs a SQLite connection on a thread of its
//! own and offers no per-statement hook; the pool's hand-out is the one
//! place every statement passes). Waiting for a free connection is
//! bounded too. It must not decide what a statement may do, only how long.

use sqlx::error::DatabaseError;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnection, SqlitePoolOptions};
use std::time::{Duration, Instant};

/// SQLite virtual machine instructions between two looks at the clock
/// (a few microseconds of work; the look costs tens of nanoseconds).
const CHECK_EVERY_OPS: i32 = 1000;

/// The longest a statement waits for a free connection; past it the store
/// answers [`super::StoreError::Busy`] (503 with `Retry-After`) rather
/// than letting the request run into its own deadline.
const MAX_CONNECTION_WAIT: Duration = Duration::from_secs(5);

/// How long to wait for a connection when statements may run `limit`.
pub(super) fn connection_wait(limit: Duration) -> Duration {
    limit.min(MAX_CONNECTION_WAIT)
}

/// SQLite pool options that arm every connection handed out, new or
/// reused, with a deadline `limit` from now.
pub(super) fn sqlite(options: SqlitePoolOptions, limit: Duration) -> SqlitePoolOptions {
    options
        .acquire_timeout(connection_wait(limit))
        .after_connect(move |connection, _| Box::pin(arm(connection, limit)))
        .before_acquire(move |connection, _| {
            Box::pin(async move {
                arm(connection, limit).await?;
                Ok(true)
            })
        })
}

async fn arm(connection: &mut SqliteConnection, limit: Duration) -> Result<(), sqlx::Error> {
    let deadline = Instant::now() + limit;
    connection
        .lock_handle()
        .await?
        .set_progress_handler(CHECK_EVERY_OPS, move || Instant::now() < deadline);
    Ok(())
}

/// Takes the deadline off a SQLite connection until the pool hands it out
/// again: for a migration, which may rightly outlast any request.
pub(super) async fn lift_sqlite(connection: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    connection.lock_handle().await?.remove_progress_handler();
    Ok(())
}

/// The statement that takes the deadline off the rest of a PostgreSQL
/// transaction, for the same reason.
pub(super) const LIFT_POSTGRES: &str = "SET LOCAL statement_timeout = 0";

/// PostgreSQL connection options whose every statement stops at `limit`.
pub(super) fn postgres(options: PgConnectOptions, limit: Duration) -> PgConnectOptions {
    options.options([(
        "statement_timeout",
        format!("{}ms", limit.as_millis().max(1)),
    )])
}

/// Whether the database stopped a statement at its deadline: SQLite's
/// `SQLITE_INTERRUPT` (9, what a progress handler's refusal ends in),
/// PostgreSQL's `query_canceled` (57014, `statement_timeout`'s code).
pub(super) fn stopped(error: &dyn DatabaseError) -> bool {
    matches!(error.code().as_deref(), Some("9" | "57014"))
}
