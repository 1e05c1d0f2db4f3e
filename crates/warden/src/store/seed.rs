//! `warden seed`: loads seed rows from TOML (one array of tables per
//! resource) and inserts them in dependency order in one transaction,
//! normalising login names, hashing password fields with argon2id and
//! writing users' `scopes` and `roles` into the grant tables.
//!
//! Re-running is safe: every row is inserted with ON CONFLICT DO NOTHING,
//! so a row whose primary key (or any unique value) already exists is
//! skipped and existing rows are never changed. Give seed rows their ids.

use super::ddl::{USER_ROLES_TABLE, USER_SCOPES_TABLE};
use super::migrate::dependency_order;
use super::rows::{Row, to_sql_value};
use super::{Dialect, Statement, Store, StoreError};
use crate::config::{Config, FieldKind, ResourceDef};
use crate::password;
use crate::timestamp;
use indexmap::IndexMap;
use sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Query};
use std::path::{Path, PathBuf};
use warden_policy::Value;

/// Seed rows, checked against the config, passwords still in clear.
#[derive(Debug, Clone)]
pub struct SeedData {
    path: PathBuf,
    resources: IndexMap<String, Vec<SeedRow>>,
}

#[derive(Debug, Clone)]
struct SeedRow {
    values: Row,
    scopes: Vec<String>,
    roles: Vec<String>,
}

/// What seeding did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub inserted: u64,
    /// Rows whose key or unique values were already there.
    pub skipped: u64,
    /// Scope and role grants newly written.
    pub grants: u64,
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows inserted, {} already present, {} grants added",
            self.inserted, self.skipped, self.grants
        )
    }
}

impl SeedData {
    /// Reads and checks a seed file.
    pub fn load(path: &Path, config: &Config) -> Result<SeedData, StoreError> {
        let text = std::fs::read_to_string(path).map_err(|error| StoreError::Seed {
            path: path.display().to_string(),
            problem: error.to_string(),
        })?;
        Self::parse(path, &text, config)
    }

    /// Checks seed text against the config: known resources and fields,
    /// values of the right type, passwords the policy admits, scopes and
    /// roles only on users.
    pub fn parse(path: &Path, text: &str, config: &Config) -> Result<SeedData, StoreError> {
        let fail = |problem: String| StoreError::Seed {
            path: path.display().to_string(),
            problem,
        };
        let table: toml::Table = toml::from_str(text).map_err(|error| fail(error.to_string()))?;
        let users = config.auth.as_ref().map(|auth| auth.users.as_str());
        let mut resources = IndexMap::new();
        for (name, rows) in table {
            let resource = config
                .resource(&name)
                .ok_or_else(|| fail(format!("`{name}` is not a resource of the config")))?;
            let toml::Value::Array(rows) = rows else {
                return Err(fail(format!(
                    "`{name}` must be an array of tables: write [[{name}]]"
                )));
            };
            let mut parsed = Vec::new();
            for (index, row) in rows.into_iter().enumerate() {
                let toml::Value::Table(row) = row else {
                    return Err(fail(format!("{name} #{}: not a table", index + 1)));
                };
                parsed.push(
                    seed_row(resource, users == Some(name.as_str()), row, config)
                        .map_err(|problem| fail(format!("{name} #{}: {problem}", index + 1)))?,
                );
            }
            resources.insert(name, parsed);
        }
        Ok(SeedData {
            path: path.to_path_buf(),
            resources,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn seed_row(
    resource: &ResourceDef,
    is_users: bool,
    row: toml::Table,
    config: &Config,
) -> Result<SeedRow, String> {
    let mut seed = SeedRow {
        values: Row::default(),
        scopes: Vec::new(),
        roles: Vec::new(),
    };
    for (key, value) in row {
        if is_users && (key == "scopes" || key == "roles") && resource.field(&key).is_none() {
            let names =
                string_list(&value).ok_or_else(|| format!("`{key}` must be a list of strings"))?;
            let auth = config.auth.as_ref();
            for name in &names {
                let known = match key.as_str() {
                    "roles" => auth.is_some_and(|auth| auth.roles.contains_key(name)),
                    _ => auth
                        .is_some_and(|auth| auth.scopes.is_empty() || auth.scopes.contains(name)),
                };
                if !known {
                    return Err(format!("`{name}` in {key} is not declared in [auth]"));
                }
            }
            if key == "scopes" {
                seed.scopes = names;
            } else {
                seed.roles = names;
            }
            continue;
        }
        let field = resource
            .field(&key)
            .ok_or_else(|| format!("`{key}` is not a field of {}", resource.name))?;
        let value = match value_from_toml(field.kind, &value) {
            Ok(Value::Text(name)) if field.login => {
                Value::Text(crate::login_name::normalize(&name))
            }
            converted => converted.map_err(|problem| format!("{key}: {problem}"))?,
        };
        if let (FieldKind::Password, Value::Text(clear)) = (field.kind, &value)
            && let Some(problem) = password::policy_problem(clear)
        {
            return Err(format!("{key}: {problem}"));
        }
        seed.values.insert(key, value);
    }
    if (!seed.scopes.is_empty() || !seed.roles.is_empty())
        && !seed.values.contains_key(&resource.primary_key)
    {
        return Err(format!(
            "a row with scopes or roles needs its `{}`",
            resource.primary_key
        ));
    }
    Ok(seed)
}

fn string_list(value: &toml::Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

/// A TOML value as a rule-language value of the field's type.
pub(crate) fn value_from_toml(kind: FieldKind, value: &toml::Value) -> Result<Value, String> {
    use toml::Value as T;
    Ok(match (kind, value) {
        (FieldKind::Integer, T::Integer(i)) => Value::Int(*i),
        (FieldKind::Float, T::Integer(i)) => Value::Float(*i as f64),
        (FieldKind::Float, T::Float(f)) => Value::Float(*f),
        (FieldKind::Bool, T::Boolean(b)) => Value::Bool(*b),
        (FieldKind::Text | FieldKind::Password, T::String(s)) => Value::Text(s.clone()),
        (FieldKind::Timestamp, T::String(s)) => Value::Text(
            timestamp::normalize(s).ok_or_else(|| format!("`{s}` is not an RFC 3339 time"))?,
        ),
        (FieldKind::Timestamp, T::Datetime(datetime)) => Value::Text(
            timestamp::normalize(&datetime.to_string())
                .ok_or_else(|| format!("`{datetime}` needs a time and an offset"))?,
        ),
        (FieldKind::Json, value) => {
            Value::Text(serde_json::to_string(value).map_err(|error| error.to_string())?)
        }
        (kind, value) => {
            return Err(format!(
                "expected {}, found {}",
                kind.value_type().name(),
                value.type_str()
            ));
        }
    })
}

impl Store {
    /// Inserts seed rows (see the module docs for re-runs). Run
    /// [`Store::migrate`] first.
    pub async fn seed(&self, config: &Config, data: &SeedData) -> Result<SeedReport, StoreError> {
        let dialect = self.dialect();
        let mut statements = Vec::new();
        let mut row_statements = 0;
        let mut grant_statements = Vec::new();
        for resource in dependency_order(config) {
            let Some(rows) = data.resources.get(&resource.name) else {
                continue;
            };
            for row in rows {
                let values = hash_passwords(resource, &row.values).await?;
                statements.push(self.insert_or_skip(resource, &values)?);
                row_statements += 1;
                if let Some(id) = values.get(&resource.primary_key) {
                    let key = resource.primary_field().kind;
                    for (table, column, names) in [
                        (USER_SCOPES_TABLE, "scope", &row.scopes),
                        (USER_ROLES_TABLE, "role", &row.roles),
                    ] {
                        for name in names {
                            grant_statements.push(self.grant(table, column, key, id, name)?);
                        }
                    }
                }
            }
        }
        let grants = grant_statements.len();
        statements.extend(grant_statements);
        if dialect == Dialect::Postgres {
            statements.extend(
                config
                    .resources
                    .values()
                    .filter(|resource| resource.primary_field().is_auto_increment())
                    .map(|resource| self.advance_identity(resource)),
            );
        }
        let touched = self.execute_all(statements).await?;
        let inserted: u64 = touched[..row_statements].iter().sum();
        Ok(SeedReport {
            inserted,
            skipped: row_statements as u64 - inserted,
            grants: touched[row_statements..row_statements + grants]
                .iter()
                .sum(),
        })
    }

    fn insert_or_skip(&self, resource: &ResourceDef, row: &Row) -> Result<Statement, StoreError> {
        let invalid = |field: &str, problem: String| StoreError::InvalidValue {
            field: format!("{}.{field}", resource.name),
            problem,
        };
        let mut insert = Query::insert();
        insert.into_table(Alias::new(resource.table.clone()));
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for (name, value) in row {
            let kind = resource
                .field(name)
                .map_or(FieldKind::Text, |field| field.kind);
            let bound = to_sql_value(kind, value, self.dialect())
                .map_err(|problem| invalid(name, problem))?;
            columns.push(Alias::new(name.clone()));
            values.push(Expr::value(bound));
        }
        if columns.is_empty() {
            insert.or_default_values();
        } else {
            insert.columns(columns);
            insert
                .values(values)
                .map_err(|error| invalid(&resource.primary_key, error.to_string()))?;
        }
        insert.on_conflict(OnConflict::new().do_nothing().to_owned());
        Ok(self.build(&insert))
    }

    fn grant(
        &self,
        table: &str,
        column: &str,
        key: FieldKind,
        user_id: &Value,
        name: &str,
    ) -> Result<Statement, StoreError> {
        let user_id = to_sql_value(key, user_id, self.dialect()).map_err(|problem| {
            StoreError::InvalidValue {
                field: "user_id".to_owned(),
                problem,
            }
        })?;
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new(table))
            .columns([Alias::new("user_id"), Alias::new(column)])
            .values_panic([Expr::value(user_id), Expr::value(name.to_owned())])
            .on_conflict(OnConflict::new().do_nothing().to_owned());
        Ok(self.build(&insert))
    }

    /// PostgreSQL identities do not move past explicitly inserted ids;
    /// set each one past the largest id so later inserts do not collide.
    fn advance_identity(&self, resource: &ResourceDef) -> Statement {
        let largest = Query::select()
            .expr(Func::max(Expr::col(Alias::new(
                resource.primary_key.clone(),
            ))))
            .from(Alias::new(resource.table.clone()))
            .to_owned();
        let next = Expr::expr(Func::coalesce([
            Expr::SubQuery(None, Box::new(largest.into())),
            Expr::value(0i64),
        ]))
        .add(1i64);
        let sequence = Func::cust("pg_get_serial_sequence")
            .arg(resource.table.clone())
            .arg(resource.primary_key.clone());
        let select = Query::select()
            .expr(Func::cust("setval").arg(sequence).arg(next).arg(false))
            .to_owned();
        self.build(&select)
    }
}

/// Replaces clear-text password fields with argon2id PHC strings.
async fn hash_passwords(resource: &ResourceDef, row: &Row) -> Result<Row, StoreError> {
    let mut hashed = row.clone();
    for (name, value) in hashed.iter_mut() {
        let is_password = resource
            .field(name)
            .is_some_and(|field| field.kind == FieldKind::Password);
        if let (true, Value::Text(clear)) = (is_password, &value) {
            *value = Value::Text(
                password::hash(clear.clone())
                    .await
                    .map_err(|error| StoreError::PasswordHash(error.to_string()))?,
            );
        }
    }
    Ok(hashed)
}
