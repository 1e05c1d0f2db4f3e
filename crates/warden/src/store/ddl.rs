//! Schema statements built from the config with sea-query, per dialect:
//! tables, added columns, indexes, warden's own tables. Pure: it renders
//! SQL text and never talks to a database.

use super::target::Dialect;
use crate::config::{
    Config, DefaultValue, FieldDef, FieldKind, OnDelete, RelationKind, ResourceDef, VERSION_COLUMN,
};
use crate::timestamp;
use sea_query::{
    ColumnDef, Expr, ForeignKey, ForeignKeyAction, Index, PostgresQueryBuilder, SqliteQueryBuilder,
    Table, TableCreateStatement,
};
use warden_policy::Value;

pub const META_TABLE: &str = "_warden_meta";
pub const USER_SCOPES_TABLE: &str = "_warden_user_scopes";
pub const USER_ROLES_TABLE: &str = "_warden_user_roles";
/// Server-side sessions: cookie sessions and refresh-token families.
pub const SESSIONS_TABLE: &str = "_warden_sessions";
/// Refresh tokens, stored as SHA-256 digests, one family per session.
pub const REFRESH_TOKENS_TABLE: &str = "_warden_refresh_tokens";
/// Attempt budgets (logins per account and per address, registrations per
/// address) by key digest, shared by instances.
pub const ATTEMPT_BUDGETS_TABLE: &str = "_warden_attempt_budgets";
/// Where schema version 1 counted failed logins after the fact; version 2
/// drops it for [`ATTEMPT_BUDGETS_TABLE`].
pub const RETIRED_LOGIN_FAILURES_TABLE: &str = "_warden_login_failures";
/// The schema version warden's own tables are at.
pub const SCHEMA_VERSION: &str = "2";

/// The column type name as the database reports it back; migrations
/// compare existing columns against it.
pub fn column_type_name(kind: FieldKind, dialect: Dialect) -> &'static str {
    match (dialect, kind) {
        (Dialect::Sqlite, FieldKind::Integer) => "integer",
        (Dialect::Sqlite, FieldKind::Float) => "double",
        (Dialect::Sqlite, FieldKind::Bool) => "boolean",
        // Timestamps are fixed-width RFC 3339 text, json is its text.
        (Dialect::Sqlite, _) => "text",
        (Dialect::Postgres, FieldKind::Integer) => "bigint",
        (Dialect::Postgres, FieldKind::Float) => "double precision",
        (Dialect::Postgres, FieldKind::Text | FieldKind::Password) => "text",
        (Dialect::Postgres, FieldKind::Bool) => "boolean",
        (Dialect::Postgres, FieldKind::Timestamp) => "timestamp with time zone",
        (Dialect::Postgres, FieldKind::Json) => "jsonb",
    }
}

/// Where a column is being declared: a new table, or an `ALTER TABLE ADD
/// COLUMN` on an existing one (SQLite allows only constant defaults there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnContext {
    NewTable,
    AddedColumn,
}

fn column_def(field: &FieldDef, dialect: Dialect, context: ColumnContext) -> ColumnDef {
    let mut column = ColumnDef::new(field.name.clone());
    match field.kind {
        // SQLite: exactly `integer` so an integer primary key aliases rowid.
        FieldKind::Integer if dialect == Dialect::Sqlite => column.integer(),
        FieldKind::Integer => column.big_integer(),
        FieldKind::Float => column.double(),
        FieldKind::Text | FieldKind::Password => column.text(),
        FieldKind::Bool => column.boolean(),
        FieldKind::Timestamp if dialect == Dialect::Postgres => column.timestamp_with_time_zone(),
        FieldKind::Json if dialect == Dialect::Postgres => column.json_binary(),
        FieldKind::Timestamp | FieldKind::Json => column.text(),
    };
    if field.nullable {
        column.null();
    } else {
        column.not_null();
    }
    if field.primary {
        column.primary_key();
        // AUTOINCREMENT on SQLite too: a deleted row's id is never handed
        // to a new row (as with PostgreSQL's sequences), so nothing that
        // still names the old id can reach the new row.
        if field.is_auto_increment() {
            column.auto_increment();
        }
    }
    match &field.default {
        None => {}
        Some(DefaultValue::Literal(value)) => {
            column.default(literal(value, field.kind));
        }
        Some(DefaultValue::Now) => {
            column.default(now_default(dialect, context));
        }
    }
    column
}

/// Config defaults go into DDL as literals: DDL takes no bound parameters,
/// and these come from the config file, never from a request.
fn literal(value: &Value, kind: FieldKind) -> Expr {
    match value {
        Value::Null | Value::List(_) => Expr::value(sea_query::Value::String(None)),
        Value::Bool(b) => Expr::value(*b),
        Value::Int(i) if kind == FieldKind::Float => Expr::value(*i as f64),
        Value::Int(i) => Expr::value(*i),
        Value::Float(f) => Expr::value(*f),
        Value::Text(text) => Expr::value(text.clone()),
    }
}

fn now_default(dialect: Dialect, context: ColumnContext) -> Expr {
    match (dialect, context) {
        (Dialect::Postgres, _) => Expr::cust("CURRENT_TIMESTAMP"),
        // strftime's %f has milliseconds; pad to the canonical microseconds.
        (Dialect::Sqlite, ColumnContext::NewTable) => {
            Expr::cust("strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'")
        }
        // SQLite refuses a non-constant default in ADD COLUMN: existing rows
        // get the migration's time, new rows get their time from warden.
        (Dialect::Sqlite, ColumnContext::AddedColumn) => Expr::value(timestamp::now()),
    }
}

fn on_delete_action(on_delete: OnDelete) -> ForeignKeyAction {
    match on_delete {
        OnDelete::Cascade => ForeignKeyAction::Cascade,
        OnDelete::Restrict => ForeignKeyAction::Restrict,
        OnDelete::SetNull => ForeignKeyAction::SetNull,
    }
}

fn version_column() -> ColumnDef {
    ColumnDef::new(VERSION_COLUMN)
        .big_integer()
        .not_null()
        .default(1)
        .to_owned()
}

/// `CREATE TABLE` for a resource: its fields, `_version`, foreign keys.
pub fn create_table(config: &Config, resource: &ResourceDef, dialect: Dialect) -> String {
    let mut table = Table::create();
    table.table(resource.table.clone());
    for field in resource.fields.values() {
        table.col(column_def(field, dialect, ColumnContext::NewTable));
    }
    table.col(version_column());
    for field in resource.fields.values() {
        let Some(fk) = &field.references else {
            continue;
        };
        let Some(target) = config.resource(&fk.resource) else {
            continue;
        };
        table.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{}_{}", resource.table, field.name))
                .from(resource.table.clone(), field.name.clone())
                .to(target.table.clone(), target.primary_key.clone())
                .on_delete(on_delete_action(fk.on_delete)),
        );
    }
    render_create(&table, dialect)
}

/// `ALTER TABLE ... ADD COLUMN` statements for a field new to the config.
pub fn add_column(
    config: &Config,
    resource: &ResourceDef,
    field: &FieldDef,
    dialect: Dialect,
) -> Vec<String> {
    let mut column = column_def(field, dialect, ColumnContext::AddedColumn);
    let target = field
        .references
        .as_ref()
        .and_then(|fk| Some((fk, config.resource(&fk.resource)?)));
    if let (Dialect::Sqlite, Some((fk, target))) = (dialect, target) {
        // SQLite cannot ALTER TABLE ADD CONSTRAINT; a REFERENCES clause on
        // the new column is its only way. Names are validated identifiers.
        column.extra(format!(
            "REFERENCES \"{}\" (\"{}\") ON DELETE {}",
            target.table,
            target.primary_key,
            match fk.on_delete {
                OnDelete::Cascade => "CASCADE",
                OnDelete::Restrict => "RESTRICT",
                OnDelete::SetNull => "SET NULL",
            }
        ));
    }
    let mut alter = Table::alter();
    alter.table(resource.table.clone()).add_column(column);
    let mut statements = vec![match dialect {
        Dialect::Sqlite => alter.to_string(SqliteQueryBuilder),
        Dialect::Postgres => alter.to_string(PostgresQueryBuilder),
    }];
    if let (Dialect::Postgres, Some((fk, target))) = (dialect, target) {
        let foreign_key = ForeignKey::create()
            .name(format!("fk_{}_{}", resource.table, field.name))
            .from(resource.table.clone(), field.name.clone())
            .to(target.table.clone(), target.primary_key.clone())
            .on_delete(on_delete_action(fk.on_delete))
            .to_owned();
        statements.push(foreign_key.to_string(PostgresQueryBuilder));
    }
    statements
}

/// `ALTER TABLE ... ADD COLUMN _version` for tables made before it existed.
pub fn add_version_column(resource: &ResourceDef, dialect: Dialect) -> String {
    let alter = Table::alter()
        .table(resource.table.clone())
        .add_column(version_column())
        .to_owned();
    match dialect {
        Dialect::Sqlite => alter.to_string(SqliteQueryBuilder),
        Dialect::Postgres => alter.to_string(PostgresQueryBuilder),
    }
}

/// An index warden maintains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub unique: bool,
}

impl IndexSpec {
    fn new(table: &str, columns: Vec<String>, unique: bool) -> Self {
        let prefix = if unique { "ux" } else { "ix" };
        Self {
            name: format!("{prefix}_{table}_{}", columns.join("_")),
            table: table.to_owned(),
            columns,
            unique,
        }
    }

    pub fn create_statement(&self, dialect: Dialect) -> String {
        let mut index = Index::create();
        index.name(self.name.clone()).table(self.table.clone());
        for column in &self.columns {
            index.col(column.clone());
        }
        if self.unique {
            index.unique();
        }
        match dialect {
            Dialect::Sqlite => index.to_string(SqliteQueryBuilder),
            Dialect::Postgres => index.to_string(PostgresQueryBuilder),
        }
    }
}

/// Indexes a resource needs: unique fields and sets (as unique indexes, so
/// that adding one later is an additive migration), owner fields and every
/// foreign key (what owner and relation rules filter on). A plain index
/// already covered by the leading columns of another is skipped.
///
/// `lookups` are further column lists the resource's rules look rows up by:
/// one column (`exists(acl where it.user_id == user.id)`), or a grant
/// table's caller column then its link to the row (`acl(user_id,
/// article_id)`, which a list walks in key order). Each gets an index too.
pub fn indexes(resource: &ResourceDef, lookups: &[Vec<String>]) -> Vec<IndexSpec> {
    let mut all: Vec<IndexSpec> = resource
        .fields
        .values()
        .filter(|field| field.unique && !field.primary)
        .map(|field| IndexSpec::new(&resource.table, vec![field.name.clone()], true))
        .collect();
    all.extend(
        resource
            .unique
            .iter()
            .map(|set| IndexSpec::new(&resource.table, set.clone(), true)),
    );
    let led = |all: &[IndexSpec], columns: &[String]| {
        all.iter().any(|index| index.columns.starts_with(columns))
    };
    for columns in lookups.iter().filter(|columns| columns.len() > 1) {
        let known = columns.iter().all(|c| resource.fields.contains_key(c));
        if known && !led(&all, columns) {
            all.push(IndexSpec::new(&resource.table, columns.clone(), false));
        }
    }
    let plain = resource
        .fields
        .values()
        .filter(|field| {
            let looked_up = lookups
                .iter()
                .any(|columns| columns.as_slice() == std::slice::from_ref(&field.name));
            (field.owner || field.references.is_some() || looked_up) && !field.primary
        })
        .filter(|field| !led(&all, std::slice::from_ref(&field.name)))
        .map(|field| IndexSpec::new(&resource.table, vec![field.name.clone()], false))
        .collect::<Vec<_>>();
    all.extend(plain);
    all
}

/// The column lists a to-many expansion reads `resource` by: `(via, key)`
/// for each to-many relation of any resource that targets it, so that the
/// first rows of one parent in key order come from an index and stop at
/// the expansion's cap (`authz::expand`) rather than gathering every row
/// of the parent to sort them. To pass to [`indexes`] as `lookups`.
pub fn expansion_lookups(config: &Config, resource: &ResourceDef) -> Vec<Vec<String>> {
    let mut lookups: Vec<Vec<String>> = config
        .resources
        .values()
        .flat_map(|r| r.relations.values())
        .filter(|r| r.kind == RelationKind::ToMany && r.target == resource.name)
        .map(|r| vec![r.via.clone(), resource.primary_key.clone()])
        .collect();
    lookups.sort();
    lookups.dedup();
    lookups
}

/// warden's own tables: schema metadata and, with `[auth]`, per-user scope
/// and role grants keyed by the users resource's primary key.
pub fn internal_tables(config: &Config, dialect: Dialect) -> Vec<(String, String)> {
    let mut tables = vec![(
        META_TABLE.to_owned(),
        render_create(
            Table::create()
                .table(META_TABLE)
                .col(ColumnDef::new("key").text().not_null().primary_key())
                .col(ColumnDef::new("value").text().not_null()),
            dialect,
        ),
    )];
    if let Some(users) = config.users_resource() {
        let key = users.primary_field();
        for (table, column) in [(USER_SCOPES_TABLE, "scope"), (USER_ROLES_TABLE, "role")] {
            let mut user_id = ColumnDef::new("user_id");
            match (key.kind, dialect) {
                (FieldKind::Integer, Dialect::Sqlite) => user_id.integer(),
                (FieldKind::Integer, Dialect::Postgres) => user_id.big_integer(),
                _ => user_id.text(),
            };
            user_id.not_null();
            let create = Table::create()
                .table(table)
                .col(user_id)
                .col(ColumnDef::new(column).text().not_null())
                .primary_key(Index::create().col("user_id").col(column))
                .foreign_key(
                    ForeignKey::create()
                        .name(format!("fk_{table}_user_id"))
                        .from(table, "user_id")
                        .to(users.table.clone(), users.primary_key.clone())
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned();
            tables.push((table.to_owned(), render_create(&create, dialect)));
        }
        tables.extend(credential_tables(users, dialect));
    }
    tables
}

/// A column holding a users-resource key.
fn user_key_column(users: &ResourceDef, dialect: Dialect) -> ColumnDef {
    let mut column = ColumnDef::new("user_id");
    match (users.primary_field().kind, dialect) {
        (FieldKind::Integer, Dialect::Sqlite) => column.integer(),
        (FieldKind::Integer, Dialect::Postgres) => column.big_integer(),
        _ => column.text(),
    };
    column.not_null().to_owned()
}

/// Sessions, refresh tokens and attempt budgets. Times are Unix seconds
/// (`bigint`, budgets milliseconds) so both backends compare them the same
/// way; secrets and budget keys are stored only as SHA-256 digests.
fn credential_tables(users: &ResourceDef, dialect: Dialect) -> Vec<(String, String)> {
    let seconds = |name: &'static str| ColumnDef::new(name).big_integer().not_null().to_owned();
    let sessions = Table::create()
        .table(SESSIONS_TABLE)
        .col(ColumnDef::new("id").text().not_null().primary_key())
        .col(user_key_column(users, dialect))
        .col(ColumnDef::new("kind").text().not_null())
        .col(ColumnDef::new("secret_hash").text().null().unique_key())
        .col(ColumnDef::new("csrf_token").text().null())
        .col(ColumnDef::new("scope").text().not_null().default(""))
        .col(seconds("created_at"))
        .col(seconds("last_seen_at"))
        .col(seconds("expires_at"))
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{SESSIONS_TABLE}_user_id"))
                .from(SESSIONS_TABLE, "user_id")
                .to(users.table.clone(), users.primary_key.clone())
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    let refresh = Table::create()
        .table(REFRESH_TOKENS_TABLE)
        .col(ColumnDef::new("token_hash").text().not_null().primary_key())
        .col(ColumnDef::new("family_id").text().not_null())
        .col(user_key_column(users, dialect))
        .col(seconds("created_at"))
        .col(seconds("expires_at"))
        .col(ColumnDef::new("spent").boolean().not_null().default(false))
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{REFRESH_TOKENS_TABLE}_family_id"))
                .from(REFRESH_TOKENS_TABLE, "family_id")
                .to(SESSIONS_TABLE, "id")
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    let budgets = Table::create()
        .table(ATTEMPT_BUDGETS_TABLE)
        .col(ColumnDef::new("key_hash").text().not_null().primary_key())
        .col(ColumnDef::new("refilled_at").big_integer().not_null())
        .to_owned();
    vec![
        (SESSIONS_TABLE.to_owned(), render_create(&sessions, dialect)),
        (
            REFRESH_TOKENS_TABLE.to_owned(),
            render_create(&refresh, dialect),
        ),
        (
            ATTEMPT_BUDGETS_TABLE.to_owned(),
            render_create(&budgets, dialect),
        ),
    ]
}

/// Indexes of warden's own tables: what session expiry, family revocation
/// and forgetting whole budgets look up.
pub fn internal_indexes(config: &Config) -> Vec<IndexSpec> {
    if config.users_resource().is_none() {
        return Vec::new();
    }
    let index = |table: &str, columns: &[&str]| {
        IndexSpec::new(
            table,
            columns.iter().map(|c| (*c).to_owned()).collect(),
            false,
        )
    };
    vec![
        index(SESSIONS_TABLE, &["user_id"]),
        index(SESSIONS_TABLE, &["expires_at"]),
        index(REFRESH_TOKENS_TABLE, &["family_id"]),
        index(ATTEMPT_BUDGETS_TABLE, &["refilled_at"]),
    ]
}

/// `DROP TABLE IF EXISTS` for one of warden's own retired tables.
pub fn drop_table(table: &str, dialect: Dialect) -> String {
    let drop = Table::drop().table(table.to_owned()).if_exists().to_owned();
    match dialect {
        Dialect::Sqlite => drop.to_string(SqliteQueryBuilder),
        Dialect::Postgres => drop.to_string(PostgresQueryBuilder),
    }
}

fn render_create(table: &TableCreateStatement, dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => table.to_string(SqliteQueryBuilder),
        Dialect::Postgres => table.to_string(PostgresQueryBuilder),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn example() -> Config {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/posts/warden.toml");
        Config::load(&path).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn sqlite_posts_table() {
        let config = example();
        let sql = create_table(&config, &config.resources["posts"], Dialect::Sqlite);
        assert_eq!(
            sql,
            concat!(
                r#"CREATE TABLE "posts" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "title" text NOT NULL, "#,
                r#""content" text NOT NULL, "published" boolean NOT NULL DEFAULT TRUE, "#,
                r#""created_at" text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'), "#,
                r#""owner_id" integer NOT NULL, "_version" integer NOT NULL DEFAULT 1, "#,
                r#"FOREIGN KEY ("owner_id") REFERENCES "users" ("id") ON DELETE CASCADE )"#
            )
        );
    }

    #[test]
    fn postgres_posts_table() {
        let config = example();
        let sql = create_table(&config, &config.resources["posts"], Dialect::Postgres);
        assert_eq!(
            sql,
            concat!(
                r#"CREATE TABLE "posts" ( "id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL PRIMARY KEY, "#,
                r#""title" text NOT NULL, "content" text NOT NULL, "published" bool NOT NULL DEFAULT TRUE, "#,
                r#""created_at" timestamp with time zone NOT NULL DEFAULT (CURRENT_TIMESTAMP), "#,
                r#""owner_id" bigint NOT NULL, "_version" bigint NOT NULL DEFAULT 1, "#,
                r#"CONSTRAINT "fk_posts_owner_id" FOREIGN KEY ("owner_id") REFERENCES "users" ("id") ON DELETE CASCADE )"#
            )
        );
    }

    #[test]
    fn indexes_cover_unique_owner_and_foreign_keys_once() {
        let config = example();
        let names = |resource: &str| {
            indexes(&config.resources[resource], &[])
                .into_iter()
                .map(|index| index.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("users"), ["ux_users_email"]);
        assert_eq!(names("posts"), ["ix_posts_owner_id"]);
        // post_id leads the unique set, so only user_id needs its own index.
        assert_eq!(
            names("votes"),
            ["ux_votes_post_id_user_id", "ix_votes_user_id"]
        );
        assert_eq!(
            indexes(&config.resources["votes"], &[])[0].create_statement(Dialect::Sqlite),
            r#"CREATE UNIQUE INDEX "ux_votes_post_id_user_id" ON "votes" ("post_id", "user_id")"#
        );
        // A grant table walked by caller then post: that index leads
        // with user_id, so user_id needs none of its own.
        let walked = vec!["user_id".to_owned(), "post_id".to_owned()];
        let names: Vec<String> = indexes(&config.resources["votes"], &[walked])
            .into_iter()
            .map(|index| index.name)
            .collect();
        assert_eq!(
            names,
            ["ux_votes_post_id_user_id", "ix_votes_user_id_post_id"]
        );
    }

    #[test]
    fn to_many_targets_get_an_index_in_parent_then_key_order() {
        let config = example();
        let votes = &config.resources["votes"];
        let lookups = expansion_lookups(&config, votes);
        assert_eq!(lookups, [["post_id", "id"]], "posts.votes reads votes");
        let names: Vec<String> = indexes(votes, &lookups)
            .into_iter()
            .map(|index| index.name)
            .collect();
        assert_eq!(
            names,
            [
                "ux_votes_post_id_user_id",
                "ix_votes_post_id_id",
                "ix_votes_user_id"
            ]
        );
        assert!(expansion_lookups(&config, &config.resources["posts"]).is_empty());
    }
}
