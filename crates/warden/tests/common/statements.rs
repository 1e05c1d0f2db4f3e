//! The statements sqlx ran, read from its own log (`sqlx::query` events,
//! with the SQL and the rows the database handed back), so a test checks
//! what the store really sent rather than SQL rebuilt here. The log is
//! global to the test binary: tests that read it, and tests that would
//! write to it meanwhile, hold `one_at_a_time()`.

use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// One statement sqlx ran, as it logged it.
#[derive(Debug, Clone, Default)]
pub struct Ran {
    pub sql: String,
    pub rows_returned: Option<u64>,
}

/// Holds the statement log for one test at a time.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// Starts logging statements (once per test binary: it installs the
/// global subscriber).
pub fn capture() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let only_sqlx = Targets::new().with_target("sqlx::query", LevelFilter::TRACE);
        tracing_subscriber::registry()
            .with(Capture.with_filter(only_sqlx))
            .init();
    });
}

/// Forgets the statements logged so far.
pub fn clear() {
    log().lock().expect("lock").clear();
}

/// The statements logged since the last `clear` or `take`.
pub fn take() -> Vec<Ran> {
    std::mem::take(&mut *log().lock().expect("lock"))
}

fn log() -> &'static Mutex<Vec<Ran>> {
    static RAN: OnceLock<Mutex<Vec<Ran>>> = OnceLock::new();
    RAN.get_or_init(|| Mutex::new(Vec::new()))
}

/// Records every `sqlx::query` event (sqlx logs each statement it runs
/// there, with the full SQL in `db.statement` or, for short statements,
/// in `summary`).
struct Capture;

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
    rows_returned: Option<u64>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.statement = value.to_owned(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows_returned" {
            self.rows_returned = Some(value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "rows_returned" {
            self.rows_returned = u64::try_from(value).ok();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "summary" => self.summary = format!("{value:?}").trim_matches('"').to_owned(),
            "db.statement" => {
                self.statement = format!("{value:?}")
                    .trim_matches('"')
                    .replace("\\n", "\n")
                    .replace("\\\"", "\"")
            }
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let sql = if fields.statement.trim().is_empty() {
            fields.summary
        } else {
            fields.statement.trim().to_owned()
        };
        log().lock().expect("lock").push(Ran {
            sql,
            rows_returned: fields.rows_returned,
        });
    }
}
