//! Additive migrations: compare the config with the database and create
//! missing tables, columns and indexes. It must never drop or retype
//! anything of the config's; destructive differences are refused with an
//! explanation. (warden's own tables are warden's: one it no longer uses
//! is dropped.)

use super::ddl::{self, META_TABLE, RETIRED_LOGIN_FAILURES_TABLE, SCHEMA_VERSION};
use super::introspect::ExistingSchema;
use super::{Dialect, Statement, Store, StoreError, plain};
use crate::config::{Config, ResourceDef, VERSION_COLUMN};
use sea_query::{OnConflict, Query};

/// What a migration changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub created_tables: Vec<String>,
    /// `table.column`
    pub added_columns: Vec<String>,
    pub created_indexes: Vec<String>,
    /// warden's own tables it no longer uses.
    pub dropped_tables: Vec<String>,
    /// Stored login names rewritten to their normalised form.
    pub normalized_logins: u64,
}

impl MigrationReport {
    pub fn is_empty(&self) -> bool {
        self.created_tables.is_empty()
            && self.added_columns.is_empty()
            && self.created_indexes.is_empty()
            && self.dropped_tables.is_empty()
            && self.normalized_logins == 0
    }
}

impl std::fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("schema is up to date");
        }
        let parts = [
            ("created tables", &self.created_tables),
            ("added columns", &self.added_columns),
            ("created indexes", &self.created_indexes),
            ("dropped tables", &self.dropped_tables),
        ];
        let mut described: Vec<String> = parts
            .iter()
            .filter(|(_, names)| !names.is_empty())
            .map(|(what, names)| format!("{what}: {}", names.join(", ")))
            .collect();
        if self.normalized_logins > 0 {
            described.push(format!(
                "normalised login names: {}",
                self.normalized_logins
            ));
        }
        f.write_str(&described.join("; "))
    }
}

/// Resources ordered so every referenced resource comes before the ones
/// referencing it (self-references and cycles keep declaration order).
pub(crate) fn dependency_order(config: &Config) -> Vec<&ResourceDef> {
    let mut ordered: Vec<&ResourceDef> = Vec::new();
    let mut visiting = Vec::new();
    fn visit<'c>(
        config: &'c Config,
        resource: &'c ResourceDef,
        ordered: &mut Vec<&'c ResourceDef>,
        visiting: &mut Vec<String>,
    ) {
        if ordered.iter().any(|done| done.name == resource.name)
            || visiting.contains(&resource.name)
        {
            return;
        }
        visiting.push(resource.name.clone());
        for field in resource.fields.values() {
            if let Some(target) = field
                .references
                .as_ref()
                .and_then(|fk| config.resource(&fk.resource))
            {
                visit(config, target, ordered, visiting);
            }
        }
        visiting.pop();
        ordered.push(resource);
    }
    for resource in config.resources.values() {
        visit(config, resource, &mut ordered, &mut visiting);
    }
    ordered
}

/// The statements that bring `existing` up to `config`, or every
/// destructive difference found.
pub(crate) fn plan(
    config: &Config,
    existing: &ExistingSchema,
    dialect: Dialect,
) -> Result<(Vec<String>, MigrationReport), Vec<String>> {
    let mut statements = Vec::new();
    let mut report = MigrationReport::default();
    let mut problems = Vec::new();
    for resource in dependency_order(config) {
        match existing.tables.get(&resource.table) {
            None => {
                statements.push(ddl::create_table(config, resource, dialect));
                report.created_tables.push(resource.table.clone());
            }
            Some(columns) => {
                for column in columns {
                    let Some(field) = resource.field(&column.name) else {
                        if column.name != VERSION_COLUMN {
                            problems.push(format!(
                                "table {} has a column `{}` that resource {} does not declare; warden never drops columns: declare the field again, or drop the column yourself",
                                resource.table, column.name, resource.name
                            ));
                        }
                        continue;
                    };
                    let expected = ddl::column_type_name(field.kind, dialect);
                    if column.type_name != expected {
                        problems.push(format!(
                            "column {}.{} is `{}` in the database but the config wants `{expected}` ({}); warden never changes column types: migrate the data yourself",
                            resource.table, column.name, column.type_name, field.kind.value_type().name()
                        ));
                    }
                }
                for field in resource.fields.values() {
                    if columns.iter().any(|column| column.name == field.name) {
                        continue;
                    }
                    if !field.nullable && field.default.is_none() {
                        problems.push(format!(
                            "field {}.{} is new and NOT NULL without a default, so existing rows would have no value; make it `nullable = true` or give it a `default`",
                            resource.name, field.name
                        ));
                        continue;
                    }
                    if field.primary || field.unique && field.default.is_some() {
                        problems.push(format!(
                            "field {}.{} cannot be added to an existing table as a primary key or as unique with a default; add it by hand",
                            resource.name, field.name
                        ));
                        continue;
                    }
                    statements.extend(ddl::add_column(config, resource, field, dialect));
                    report
                        .added_columns
                        .push(format!("{}.{}", resource.table, field.name));
                }
                if !columns.iter().any(|column| column.name == VERSION_COLUMN) {
                    statements.push(ddl::add_version_column(resource, dialect));
                    report
                        .added_columns
                        .push(format!("{}.{VERSION_COLUMN}", resource.table));
                }
            }
        }
    }
    // Failed logins counted after the fact; attempt budgets replace them.
    // Their rows are at most one window old and hold no account data.
    if existing.tables.contains_key(RETIRED_LOGIN_FAILURES_TABLE) {
        statements.push(ddl::drop_table(RETIRED_LOGIN_FAILURES_TABLE, dialect));
        report
            .dropped_tables
            .push(RETIRED_LOGIN_FAILURES_TABLE.to_owned());
    }
    for (table, create) in ddl::internal_tables(config, dialect) {
        if !existing.tables.contains_key(&table) {
            statements.push(create);
            report.created_tables.push(table);
        }
    }
    // Rules that do not compile stop `serve` later with their own errors;
    // here they only contribute no lookup indexes.
    let lookups = crate::policy::Policy::compile(config, dialect)
        .map(|policy| policy.lookup_columns())
        .unwrap_or_default();
    for resource in config.resources.values() {
        let mut columns = lookups.get(&resource.name).cloned().unwrap_or_default();
        columns.extend(ddl::expansion_lookups(config, resource));
        for index in ddl::indexes(resource, &columns) {
            if !existing.indexes.contains(&index.name) {
                statements.push(index.create_statement(dialect));
                report.created_indexes.push(index.name);
            }
        }
    }
    for index in ddl::internal_indexes(config) {
        if !existing.indexes.contains(&index.name) {
            statements.push(index.create_statement(dialect));
            report.created_indexes.push(index.name);
        }
    }
    if problems.is_empty() {
        Ok((statements, report))
    } else {
        Err(problems)
    }
}

impl Store {
    /// Brings the database up to the config, in one transaction: creates
    /// missing tables, columns and indexes; records the schema version;
    /// on PostgreSQL (re)defines the config's SQL functions. Then, in a
    /// second one, normalises stored login names (refused, naming them,
    /// when two accounts' names become one).
    pub async fn migrate(&self, config: &Config) -> Result<MigrationReport, StoreError> {
        let existing = self.existing_schema().await?;
        let (ddl, report) =
            plan(config, &existing, self.dialect()).map_err(StoreError::DestructiveMigration)?;
        let mut statements: Vec<Statement> = ddl.into_iter().map(plain).collect();
        statements.push(
            self.build(
                Query::insert()
                    .into_table(META_TABLE)
                    .columns(["key", "value"])
                    .values_panic(["schema_version".into(), SCHEMA_VERSION.into()])
                    .on_conflict(OnConflict::column("key").update_column("value").to_owned()),
            ),
        );
        if self.dialect() == Dialect::Postgres {
            statements.extend(
                config
                    .functions
                    .values()
                    .map(|function| plain(function.definition.clone())),
            );
        }
        self.execute_all_unbounded(statements).await?;
        let mut report = report;
        report.normalized_logins = self.normalize_login_names(config).await?;
        if !report.is_empty() {
            tracing::info!(%report, "migrated");
        }
        Ok(report)
    }
}
