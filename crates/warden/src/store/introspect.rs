//! Reads what schema a database already has: tables, their columns and
//! index names. Read-only; deciding what to change is `migrate.rs`'s job.
//! The catalog queries are fixed text.

use super::rows::{take, text};
use super::{Dialect, Store, StoreError, plain};
use crate::config::FieldKind;
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

/// Every column of every table (`table_name`, `column_name`, `data_type`),
/// in declaration order, then every index name (`name`).
fn catalog(dialect: Dialect) -> [&'static str; 2] {
    match dialect {
        Dialect::Sqlite => [
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type \
             FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             ORDER BY m.name, p.cid",
            "SELECT name FROM sqlite_master WHERE type = 'index'",
        ],
        Dialect::Postgres => [
            "SELECT table_name::text, column_name::text, data_type::text \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             ORDER BY table_name, ordinal_position",
            "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = current_schema()",
        ],
    }
}

impl Store {
    pub(crate) async fn existing_schema(&self) -> Result<ExistingSchema, StoreError> {
        let [columns, indexes] = catalog(self.dialect());
        let as_text = |_: &str| Some(FieldKind::Text);
        let mut schema = ExistingSchema::default();
        for mut row in self.fetch_as(plain(columns.to_owned()), &as_text).await? {
            let table = take(&mut row, "table_name", text)?;
            schema
                .tables
                .entry(table)
                .or_default()
                .push(ExistingColumn {
                    name: take(&mut row, "column_name", text)?,
                    type_name: take(&mut row, "data_type", text)?.to_ascii_lowercase(),
                });
        }
        for mut row in self.fetch_as(plain(indexes.to_owned()), &as_text).await? {
            schema.indexes.insert(take(&mut row, "name", text)?);
        }
        Ok(schema)
    }
}
