//! Rows in and out: converting rule-language values to bound SQL values
//! per field type and dialect, the select and insert statements every row
//! read and write starts from, the type of each result column (decoding by
//! it is `backend.rs`'s), and typed values taken out of decoded rows. It
//! must not decide who may see a row.

use super::backend::Backend;
use super::{Dialect, Pool, Store, StoreError};
use crate::config::{FieldKind, ResourceDef, VERSION_COLUMN};
use crate::timestamp;
use indexmap::IndexMap;
use sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sqlx::{Postgres, Sqlite};
use warden_policy::Value;

/// A row by column name. Timestamps are canonical RFC 3339 UTC text and
/// json fields are JSON text; `_version` appears when selected.
pub type Row = IndexMap<String, Value>;

/// `SELECT <every field>, _version FROM <table>`; callers add their rule
/// predicate, filters, order and limit.
pub fn select_all(resource: &ResourceDef) -> SelectStatement {
    let mut select = Query::select();
    for field in resource.fields.values() {
        select.column((
            Alias::new(resource.table.clone()),
            Alias::new(field.name.clone()),
        ));
    }
    select
        .column((
            Alias::new(resource.table.clone()),
            Alias::new(VERSION_COLUMN),
        ))
        .from(Alias::new(resource.table.clone()));
    select
}

/// `<table>.<primary key>`.
pub fn key_column(resource: &ResourceDef) -> Expr {
    Expr::col((
        Alias::new(resource.table.clone()),
        Alias::new(resource.primary_key.clone()),
    ))
}

/// `<table>.<primary key> = key`, bound: how every statement names one row.
pub fn key_equals(
    resource: &ResourceDef,
    key: &Value,
    dialect: Dialect,
) -> Result<Expr, StoreError> {
    let bound = to_sql_value(resource.primary_field().kind, key, dialect).map_err(|problem| {
        StoreError::InvalidValue {
            field: format!("{}.{}", resource.name, resource.primary_key),
            problem,
        }
    })?;
    Ok(key_column(resource).eq(Expr::val(bound)))
}

/// [`select_all`] of the one row whose key is `key`: the start of every
/// single-row read, whoever reads (a request, a caller's own row).
pub fn select_by_key(
    resource: &ResourceDef,
    key: &Value,
    dialect: Dialect,
) -> Result<SelectStatement, StoreError> {
    let mut select = select_all(resource);
    select.and_where(key_equals(resource, key, dialect)?);
    Ok(select)
}

/// The bound value for `value` in a column of type `kind`, checking that
/// it fits (a password must already be hashed).
pub fn to_sql_value(
    kind: FieldKind,
    value: &Value,
    dialect: Dialect,
) -> Result<sea_query::Value, String> {
    use sea_query::Value as Sql;
    Ok(match (kind, value) {
        (FieldKind::Integer, Value::Null) => Sql::BigInt(None),
        (FieldKind::Float, Value::Null) => Sql::Double(None),
        (FieldKind::Bool, Value::Null) => Sql::Bool(None),
        (FieldKind::Timestamp, Value::Null) if dialect == Dialect::Postgres => {
            Sql::ChronoDateTimeUtc(None)
        }
        (FieldKind::Json, Value::Null) if dialect == Dialect::Postgres => Sql::Json(None),
        (_, Value::Null) => Sql::String(None),
        (FieldKind::Integer, Value::Int(i)) => Sql::BigInt(Some(*i)),
        (FieldKind::Float, Value::Int(i)) => Sql::Double(Some(*i as f64)),
        (FieldKind::Float, Value::Float(f)) => Sql::Double(Some(*f)),
        (FieldKind::Bool, Value::Bool(b)) => Sql::Bool(Some(*b)),
        (FieldKind::Text | FieldKind::Password, Value::Text(text)) => {
            Sql::String(Some(text.clone()))
        }
        (FieldKind::Timestamp, Value::Text(text)) => {
            let time = timestamp::parse(text)
                .ok_or_else(|| format!("`{text}` is not an RFC 3339 timestamp"))?;
            match dialect {
                Dialect::Postgres => Sql::ChronoDateTimeUtc(Some(time)),
                Dialect::Sqlite => Sql::String(Some(timestamp::format(time))),
            }
        }
        (FieldKind::Json, Value::Text(text)) => {
            let json: serde_json::Value =
                serde_json::from_str(text).map_err(|error| format!("invalid JSON: {error}"))?;
            match dialect {
                Dialect::Postgres => Sql::Json(Some(Box::new(json))),
                Dialect::Sqlite => Sql::String(Some(json.to_string())),
            }
        }
        (kind, value) => {
            return Err(format!(
                "expected {}, found {value}",
                kind.value_type().name()
            ));
        }
    })
}

/// Conditions that hold while a row is still `stored` in its version and
/// in every column but its key and those `changes` sets: added to an
/// `UPDATE` of `changes`, they make it touch the row only if the row it
/// produces is the one its caller decided on, whoever else wrote to it
/// (another request, a cascade, any other SQL).
pub fn unchanged_since_read(
    resource: &ResourceDef,
    stored: &Row,
    changes: &Row,
    dialect: Dialect,
) -> Result<Vec<Expr>, String> {
    let column = |name: &str| Expr::col((Alias::new(resource.table.clone()), Alias::new(name)));
    let kept = resource
        .fields
        .values()
        .filter(|f| f.name != resource.primary_key && !changes.contains_key(&f.name))
        .map(|f| (f.name.as_str(), f.kind));
    let mut guards = Vec::with_capacity(resource.fields.len() + 1);
    for (name, kind) in kept.chain([(VERSION_COLUMN, FieldKind::Integer)]) {
        guards.push(match stored.get(name).unwrap_or(&Value::Null) {
            Value::Null => column(name).is_null(),
            value => column(name).eq(Expr::val(to_sql_value(kind, value, dialect)?)),
        });
    }
    Ok(guards)
}

/// Prefix of computed boolean columns (rule results selected beside a
/// row); they decode as bools.
pub const FLAG_PREFIX: &str = "w_flag_";

/// Prefix of computed text columns selected beside a row (aggregates).
pub const TEXT_PREFIX: &str = "w_text_";

/// The type of a result column over `resource`'s table.
pub(super) fn column_kind(resource: &ResourceDef, column: &str) -> Option<FieldKind> {
    if column.starts_with(FLAG_PREFIX) {
        return Some(FieldKind::Bool);
    }
    if column.starts_with(TEXT_PREFIX) {
        return Some(FieldKind::Text);
    }
    resource.field(column).map(|field| field.kind)
}

/// Takes column `name` out of a row of warden's own tables as `read` finds
/// it; a null where the schema allows none fails as sqlx fails reading one.
pub(super) fn take<T>(
    row: &mut Row,
    name: &str,
    read: impl FnOnce(Value) -> Option<T>,
) -> Result<T, sqlx::Error> {
    row.swap_remove(name)
        .filter(|value| !value.is_null())
        .and_then(read)
        .ok_or_else(|| sqlx::Error::ColumnDecode {
            index: format!("{name:?}"),
            source: Box::new(sqlx::error::UnexpectedNullError),
        })
}

pub(super) fn text(value: Value) -> Option<String> {
    match value {
        Value::Text(text) => Some(text),
        _ => None,
    }
}

pub(super) fn int(value: Value) -> Option<i64> {
    match value {
        Value::Int(int) => Some(int),
        _ => None,
    }
}

/// `INSERT ... RETURNING <every field>, _version` for one row.
pub(crate) fn insert_statement(
    resource: &ResourceDef,
    row: &Row,
    dialect: Dialect,
) -> Result<sea_query::InsertStatement, StoreError> {
    let mut insert = Query::insert();
    insert.into_table(Alias::new(resource.table.clone()));
    let mut columns = Vec::new();
    let mut values = Vec::new();
    for (name, value) in row {
        let field = resource
            .field(name)
            .ok_or_else(|| StoreError::InvalidValue {
                field: format!("{}.{name}", resource.name),
                problem: "not a field of this resource".to_owned(),
            })?;
        let bound = to_sql_value(field.kind, value, dialect).map_err(|problem| {
            StoreError::InvalidValue {
                field: format!("{}.{name}", resource.name),
                problem,
            }
        })?;
        columns.push(Alias::new(name.clone()));
        values.push(sea_query::Expr::value(bound));
    }
    if columns.is_empty() {
        insert.or_default_values();
    } else {
        insert.columns(columns);
        insert
            .values(values)
            .map_err(|error| StoreError::InvalidValue {
                field: resource.name.clone(),
                problem: error.to_string(),
            })?;
    }
    let mut returning: Vec<Alias> = resource
        .fields
        .keys()
        .map(|name| Alias::new(name.clone()))
        .collect();
    returning.push(Alias::new(VERSION_COLUMN));
    insert.returning(Query::returning().columns(returning));
    Ok(insert)
}

impl Store {
    /// Runs a select over `resource`'s table and decodes every row by the
    /// resource's field types (unknown columns are read as integers).
    pub async fn fetch_rows(
        &self,
        resource: &ResourceDef,
        select: &SelectStatement,
    ) -> Result<Vec<Row>, StoreError> {
        self.fetch_as(self.build(select), &|column| column_kind(resource, column))
            .await
    }

    /// Runs a select that reads at most one row (by key) and decodes it;
    /// the first row if it reads more.
    pub async fn fetch_row(
        &self,
        resource: &ResourceDef,
        select: &SelectStatement,
    ) -> Result<Option<Row>, StoreError> {
        self.fetch_optional_as(self.build(select), &|column| column_kind(resource, column))
            .await
    }

    /// Inserts `row` (column name -> value; passwords already hashed) and
    /// returns the stored row with database-assigned ids and defaults.
    pub async fn insert(&self, resource: &ResourceDef, row: &Row) -> Result<Row, StoreError> {
        let insert = self.build(&insert_statement(resource, row, self.dialect())?);
        let kind_of = |column: &str| column_kind(resource, column);
        match &self.pool {
            Pool::Sqlite(pool) => Sqlite::fetch_one(pool.acquire().await?, insert, &kind_of).await,
            Pool::Postgres(pool) => {
                Postgres::fetch_one(pool.acquire().await?, insert, &kind_of).await
            }
        }
    }
}
