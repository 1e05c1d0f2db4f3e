//! One write transaction on either backend: the unit in which an
//! authorization check and the write it guards happen together. SQLite
//! transactions start with `BEGIN IMMEDIATE` so a read-then-write cannot be
//! overtaken by another writer. It must not decide who may write.

use super::backend::Backend;
use super::rows::{Row, column_kind, insert_statement};
use super::{Dialect, Pool, Statement, Store, StoreError};
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
            Pool::Sqlite(pool) => Tx::Sqlite(Sqlite::begin_write(pool).await?),
            Pool::Postgres(pool) => Tx::Postgres(Postgres::begin_write(pool).await?),
        })
    }
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Sqlite::DIALECT,
            Tx::Postgres(_) => Postgres::DIALECT,
        }
    }

    fn build(&self, statement: &impl SqlxBinder) -> Statement {
        match self {
            Tx::Sqlite(_) => Sqlite::build(statement),
            Tx::Postgres(_) => Postgres::build(statement),
        }
    }

    pub async fn fetch_rows(
        &mut self,
        resource: &ResourceDef,
        select: &SelectStatement,
    ) -> Result<Vec<Row>, StoreError> {
        let select = self.build(select);
        let kind_of = |column: &str| column_kind(resource, column);
        match self {
            Tx::Sqlite(tx) => Sqlite::fetch_all(&mut **tx, select, &kind_of).await,
            Tx::Postgres(tx) => Postgres::fetch_all(&mut **tx, select, &kind_of).await,
        }
    }

    /// Runs an update or delete; returns the rows it touched.
    pub async fn execute(&mut self, statement: &impl SqlxBinder) -> Result<u64, StoreError> {
        let statement = self.build(statement);
        match self {
            Tx::Sqlite(tx) => Sqlite::execute(&mut **tx, statement).await,
            Tx::Postgres(tx) => Postgres::execute(&mut **tx, statement).await,
        }
    }

    /// Inserts one row and returns it as stored.
    pub async fn insert(&mut self, resource: &ResourceDef, row: &Row) -> Result<Row, StoreError> {
        let insert = self.build(&insert_statement(resource, row, self.dialect())?);
        let kind_of = |column: &str| column_kind(resource, column);
        match self {
            Tx::Sqlite(tx) => Sqlite::fetch_one(&mut **tx, insert, &kind_of).await,
            Tx::Postgres(tx) => Postgres::fetch_one(&mut **tx, insert, &kind_of).await,
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}
