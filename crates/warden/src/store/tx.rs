//! One write transaction on either backend: the unit in which an
//! authorization check and the write it guards happen together. SQLite
//! transactions start with `BEGIN IMMEDIATE` so a read-then-write cannot be
//! overtaken by another writer. It must not decide who may write.

use super::rows::{Row, decode_postgres, decode_sqlite, insert_statement};
use super::{Dialect, Pool, Store, StoreError};
use crate::config::ResourceDef;
use sea_query::SelectStatement;
use sea_query_sqlx::SqlxBinder;
use sqlx::{Postgres, Sqlite, Transaction};

/// An open transaction; dropped without [`Tx::commit`] it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Store {
    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

/// Runs `$body` once per backend, with `$tx` the backend's transaction,
/// `$builder` its query builder and `$decode` its row decoder: the two
/// arms differ only in types.
macro_rules! per_backend {
    ($self:expr, |$tx:ident, $builder:ident, $decode:ident| $body:expr) => {
        match $self {
            Tx::Sqlite($tx) => {
                let ($builder, $decode) = (sea_query::SqliteQueryBuilder, decode_sqlite);
                $body
            }
            Tx::Postgres($tx) => {
                let ($builder, $decode) = (sea_query::PostgresQueryBuilder, decode_postgres);
                $body
            }
        }
    };
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }

    pub async fn fetch_rows(
        &mut self,
        resource: &ResourceDef,
        select: &SelectStatement,
    ) -> Result<Vec<Row>, StoreError> {
        Ok(per_backend!(self, |tx, builder, decode| {
            let (sql, values) = select.build_sqlx(builder);
            sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|row| decode(resource, row))
                .collect::<Result<_, _>>()?
        }))
    }

    /// Runs an update or delete; returns the rows it touched.
    pub async fn execute(&mut self, statement: &impl SqlxBinder) -> Result<u64, StoreError> {
        Ok(per_backend!(self, |tx, builder, _decode| {
            let (sql, values) = statement.build_sqlx(builder);
            sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                .execute(&mut **tx)
                .await?
                .rows_affected()
        }))
    }

    /// Inserts one row and returns it as stored.
    pub async fn insert(&mut self, resource: &ResourceDef, row: &Row) -> Result<Row, StoreError> {
        let insert = insert_statement(resource, row, self.dialect())?;
        Ok(per_backend!(self, |tx, builder, decode| {
            let (sql, values) = insert.build_sqlx(builder);
            let row = sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                .fetch_one(&mut **tx)
                .await?;
            decode(resource, &row)?
        }))
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        per_backend!(self, |tx, _builder, _decode| tx.commit().await?);
        Ok(())
    }
}
