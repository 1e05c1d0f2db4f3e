//! Reads what schema a database already has: tables, their columns and
//! index names. Read-only; deciding what to change is `migrate.rs`'s job.
//! The catalog queries are fixed text with bound parameters.

use super::{Pool, Store, StoreError};
use sqlx::Row as _;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingColumn {
    pub name: String,
    /// Lowercased type as the catalog reports it.
    pub type_name: String,
}

#[derive(Debug, Default)]
pub struct ExistingSchema {
    pub tables: HashMap<String, Vec<ExistingColumn>>,
    pub indexes: HashSet<String>,
}

impl Store {
    pub(crate) async fn existing_schema(&self) -> Result<ExistingSchema, StoreError> {
        let mut schema = ExistingSchema::default();
        match &self.pool {
            Pool::Sqlite(pool) => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )
                .fetch_all(pool)
                .await?;
                for table in tables {
                    let columns = sqlx::query("SELECT name, type FROM pragma_table_info(?)")
                        .bind(&table)
                        .fetch_all(pool)
                        .await?
                        .iter()
                        .map(|row| -> Result<ExistingColumn, sqlx::Error> {
                            Ok(ExistingColumn {
                                name: row.try_get(0)?,
                                type_name: row.try_get::<String, _>(1)?.to_ascii_lowercase(),
                            })
                        })
                        .collect::<Result<_, _>>()?;
                    schema.tables.insert(table, columns);
                }
                schema.indexes =
                    sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index'")
                        .fetch_all(pool)
                        .await?
                        .into_iter()
                        .collect();
            }
            Pool::Postgres(pool) => {
                let rows = sqlx::query(
                    "SELECT table_name::text, column_name::text, data_type::text \
                     FROM information_schema.columns WHERE table_schema = current_schema() \
                     ORDER BY table_name, ordinal_position",
                )
                .fetch_all(pool)
                .await?;
                for row in rows {
                    let table: String = row.try_get(0)?;
                    schema
                        .tables
                        .entry(table)
                        .or_default()
                        .push(ExistingColumn {
                            name: row.try_get(1)?,
                            type_name: row.try_get::<String, _>(2)?.to_ascii_lowercase(),
                        });
                }
                schema.indexes = sqlx::query_scalar(
                    "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()",
                )
                .fetch_all(pool)
                .await?
                .into_iter()
                .collect();
            }
        }
        Ok(schema)
    }
}
