//! What SQLite and PostgreSQL do differently, in one trait ([`Backend`],
//! implemented for `sqlx::Sqlite` and `sqlx::Postgres`), and the one path
//! that renders, binds, runs and decodes a statement on either, written
//! once over it. It runs the statements it is given; it must not choose
//! what they say nor who may run them.

use super::deadline;
use super::rows::Row;
use super::{Dialect, Statement, StoreError};
use crate::config::FieldKind;
use crate::timestamp;
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::postgres::{PgConnection, PgQueryResult, PgRow};
use sqlx::sqlite::{SqliteConnection, SqliteQueryResult, SqliteRow};
use sqlx::{
    Column as _, ColumnIndex, Database, Decode, Executor, IntoArguments, Pool, Postgres, Row as _,
    Sqlite, Transaction, Type,
};
use std::future::Future;
use std::ops::DerefMut;
use warden_policy::Value;

/// The type a result column holds, by its name; `None` (a column no field
/// names) reads as an integer.
pub(super) type KindOf<'a> = &'a (dyn Fn(&str) -> Option<FieldKind> + Sync);

/// A database warden runs on. The `where` clauses are what sqlx needs to
/// bind sea-query's values and read the column types warden stores; the
/// generic path below is written inside the trait because only there do
/// they hold without being repeated. Statements run on a connection (a
/// pooled one, or a transaction's).
pub(super) trait Backend: Database
where
    SqlxValues: IntoArguments<Self>,
    usize: ColumnIndex<Self::Row>,
    i64: Type<Self> + for<'r> Decode<'r, Self>,
    f64: Type<Self> + for<'r> Decode<'r, Self>,
    bool: Type<Self> + for<'r> Decode<'r, Self>,
    String: Type<Self> + for<'r> Decode<'r, Self>,
{
    const DIALECT: Dialect;

    /// Renders sea-query statements in this dialect.
    type QueryBuilder: sea_query::QueryBuilder + Default;

    /// What sqlx runs a statement through: `&mut` a connection. Named
    /// here rather than bound in a `where` clause over every lifetime,
    /// which the compiler loses when it checks that a caller's future is
    /// `Send` (rust-lang/rust#100013).
    type On<'c>: Executor<'c, Database = Self>;

    fn on(connection: &mut Self::Connection) -> Self::On<'_>;

    /// Starts a transaction that will write.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;

    /// Takes the statement deadline off the rest of a transaction (see
    /// `deadline.rs`).
    fn lift_deadline(
        connection: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// A timestamp column as canonical RFC 3339 UTC text.
    fn timestamp(row: &Self::Row, index: usize) -> Result<Option<String>, sqlx::Error>;

    /// A json column as JSON text.
    fn json(row: &Self::Row, index: usize) -> Result<Option<String>, sqlx::Error>;

    fn build(statement: &impl SqlxBinder) -> Statement {
        let (sql, values) = statement.build_sqlx(Self::QueryBuilder::default());
        Statement { sql, values }
    }

    /// Runs a select and decodes every row, the column types worked out
    /// once from the first row: every row of one statement has the same
    /// columns.
    async fn fetch_all(
        mut connection: impl DerefMut<Target = Self::Connection> + Send,
        statement: Statement,
        kind_of: KindOf<'_>,
    ) -> Result<Vec<Row>, StoreError> {
        let (sql, values) = statement.into_parts();
        let rows = sqlx::query_with(sql, values)
            .fetch_all(Self::on(&mut connection))
            .await?;
        // A pooled connection goes back before the decoding, as it does
        // when sqlx runs a statement on the pool itself.
        drop(connection);
        let kinds = rows
            .first()
            .map(|row| Self::kinds(row, kind_of))
            .unwrap_or_default();
        Ok(rows
            .iter()
            .map(|row| Self::decode(&kinds, row))
            .collect::<Result<_, _>>()?)
    }

    /// Runs a select and decodes its first row, if any.
    async fn fetch_optional(
        mut connection: impl DerefMut<Target = Self::Connection> + Send,
        statement: Statement,
        kind_of: KindOf<'_>,
    ) -> Result<Option<Row>, StoreError> {
        let (sql, values) = statement.into_parts();
        let row = sqlx::query_with(sql, values)
            .fetch_optional(Self::on(&mut connection))
            .await?;
        drop(connection);
        Ok(match row {
            Some(row) => Some(Self::decode(&Self::kinds(&row, kind_of), &row)?),
            None => None,
        })
    }

    /// Runs a statement that returns one row (`INSERT ... RETURNING`).
    async fn fetch_one(
        connection: impl DerefMut<Target = Self::Connection> + Send,
        statement: Statement,
        kind_of: KindOf<'_>,
    ) -> Result<Row, StoreError> {
        Self::fetch_optional(connection, statement, kind_of)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs a write statement; returns the number of rows it touched.
    async fn execute(
        mut connection: impl DerefMut<Target = Self::Connection> + Send,
        statement: Statement,
    ) -> Result<u64, StoreError> {
        let (sql, values) = statement.into_parts();
        let done = sqlx::query_with(sql, values)
            .execute(Self::on(&mut connection))
            .await?;
        Ok(Self::rows_affected(&done))
    }

    /// Runs statements in one transaction, all or nothing, `unbounded` by
    /// the statement deadline or not; returns the rows each one touched.
    async fn execute_all(
        pool: &Pool<Self>,
        statements: Vec<Statement>,
        unbounded: bool,
    ) -> Result<Vec<u64>, StoreError> {
        let mut transaction = pool.begin().await?;
        if unbounded {
            Self::lift_deadline(&mut transaction).await?;
        }
        let mut touched = Vec::with_capacity(statements.len());
        for statement in statements {
            touched.push(Self::execute(&mut *transaction, statement).await?);
        }
        transaction.commit().await?;
        Ok(touched)
    }

    fn kinds(row: &Self::Row, kind_of: KindOf<'_>) -> Vec<Option<FieldKind>> {
        row.columns()
            .iter()
            .map(|column| kind_of(column.name()))
            .collect()
    }

    /// Decodes one result row, column `i` as `kinds[i]`.
    fn decode(kinds: &[Option<FieldKind>], row: &Self::Row) -> Result<Row, sqlx::Error> {
        let mut decoded = Row::with_capacity(kinds.len());
        for ((index, column), kind) in row.columns().iter().enumerate().zip(kinds) {
            let value = match kind {
                Some(FieldKind::Integer) | None => {
                    Value::from(row.try_get::<Option<i64>, _>(index)?)
                }
                Some(FieldKind::Float) => Value::from(row.try_get::<Option<f64>, _>(index)?),
                Some(FieldKind::Bool) => Value::from(row.try_get::<Option<bool>, _>(index)?),
                Some(FieldKind::Text | FieldKind::Password) => {
                    Value::from(row.try_get::<Option<String>, _>(index)?)
                }
                Some(FieldKind::Timestamp) => Value::from(Self::timestamp(row, index)?),
                Some(FieldKind::Json) => Value::from(Self::json(row, index)?),
            };
            decoded.insert(column.name().to_owned(), value);
        }
        Ok(decoded)
    }
}

/// SQLite keeps timestamps and JSON as text; its write transactions start
/// with `BEGIN IMMEDIATE` so a read-then-write cannot be overtaken by
/// another writer.
impl Backend for Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;
    type QueryBuilder = sea_query::SqliteQueryBuilder;
    type On<'c> = &'c mut SqliteConnection;

    fn on(connection: &mut SqliteConnection) -> &mut SqliteConnection {
        connection
    }

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    async fn lift_deadline(connection: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        deadline::lift_sqlite(connection).await
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    fn timestamp(row: &SqliteRow, index: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(index)
    }

    fn json(row: &SqliteRow, index: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(index)
    }
}

/// PostgreSQL has `timestamptz` and `jsonb` columns; the deadline is the
/// connection's `statement_timeout`.
impl Backend for Postgres {
    const DIALECT: Dialect = Dialect::Postgres;
    type QueryBuilder = sea_query::PostgresQueryBuilder;
    type On<'c> = &'c mut PgConnection;

    fn on(connection: &mut PgConnection) -> &mut PgConnection {
        connection
    }

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        pool.begin().await
    }

    async fn lift_deadline(connection: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query(deadline::LIFT_POSTGRES)
            .execute(connection)
            .await?;
        Ok(())
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    fn timestamp(row: &PgRow, index: usize) -> Result<Option<String>, sqlx::Error> {
        Ok(row
            .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(index)?
            .map(timestamp::format))
    }

    fn json(row: &PgRow, index: usize) -> Result<Option<String>, sqlx::Error> {
        Ok(row
            .try_get::<Option<serde_json::Value>, _>(index)?
            .map(|json| json.to_string()))
    }
}
