//! Per-user scope and role grants (`_warden_user_scopes`,
//! `_warden_user_roles`): read on every authenticated request so a
//! revocation on any instance takes effect at once; written by
//! `warden user grant|revoke`. It must not decide what a scope allows.

use super::ddl::{USER_ROLES_TABLE, USER_SCOPES_TABLE};
use super::rows::{take, text};
use super::{Store, StoreError};
use crate::config::FieldKind;
use sea_query::{Expr, ExprTrait, Query};
use warden_policy::Value;

/// A user's directly granted scopes and roles, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
}

/// Selects a user's scopes and roles beside their row, space-separated, as
/// `w_text_scopes` and `w_text_roles`: the grants cost no extra round trip
/// on every authenticated request.
pub fn select_grants(
    select: &mut sea_query::SelectStatement,
    users_table: &str,
    users_key: &str,
    dialect: super::Dialect,
) {
    for (aggregate, alias) in grant_aggregates(users_table, users_key, dialect) {
        select.expr_as(aggregate, alias);
    }
}

/// The scope and role aggregates of the user row `users_ref.users_key`
/// (a table name or alias in the enclosing query), with their aliases.
pub fn grant_aggregates(
    users_ref: &str,
    users_key: &str,
    dialect: super::Dialect,
) -> [(Expr, &'static str); 2] {
    [
        (USER_SCOPES_TABLE, "scope", "w_text_scopes"),
        (USER_ROLES_TABLE, "role", "w_text_roles"),
    ]
    .map(|(table, column, alias)| {
        let aggregate = match dialect {
            super::Dialect::Sqlite => sea_query::Func::cust("group_concat")
                .arg(Expr::col(column))
                .arg(" "),
            super::Dialect::Postgres => sea_query::Func::cust("string_agg")
                .arg(Expr::col(column))
                .arg(" "),
        };
        let sub = Query::select()
            .expr(aggregate)
            .from(table)
            .and_where(
                Expr::col((table, "user_id")).equals((users_ref.to_owned(), users_key.to_owned())),
            )
            .to_owned();
        (
            Expr::SubQuery(
                None,
                Box::new(sea_query::SubQueryStatement::SelectStatement(sub)),
            ),
            alias,
        )
    })
}

impl Store {
    /// Reads a user's grants in one round trip.
    pub async fn grants(&self, user_id: &Value, key_kind: FieldKind) -> Result<Grants, StoreError> {
        let key = super::to_sql_value(key_kind, user_id, self.dialect()).map_err(|problem| {
            StoreError::InvalidValue {
                field: "user id".into(),
                problem,
            }
        })?;
        let scopes = Query::select()
            .expr_as(Expr::val("scope"), "kind")
            .expr_as(Expr::col("scope"), "name")
            .from(USER_SCOPES_TABLE)
            .and_where(Expr::col("user_id").eq(Expr::val(key.clone())))
            .to_owned();
        let roles = Query::select()
            .expr_as(Expr::val("role"), "kind")
            .expr_as(Expr::col("role"), "name")
            .from(USER_ROLES_TABLE)
            .and_where(Expr::col("user_id").eq(Expr::val(key)))
            .to_owned();
        let union = scopes
            .clone()
            .union(sea_query::UnionType::All, roles)
            .to_owned();
        let rows = self
            .fetch_as(self.build(&union), &|_| Some(FieldKind::Text))
            .await?;
        let mut grants = Grants::default();
        for mut row in rows {
            let name = take(&mut row, "name", text)?;
            if take(&mut row, "kind", text)? == "scope" {
                grants.scopes.push(name)
            } else {
                grants.roles.push(name)
            }
        }
        grants.scopes.sort();
        grants.roles.sort();
        Ok(grants)
    }
}

impl Store {
    /// Adds scope and role grants (existing ones stay); returns how many
    /// were new.
    pub async fn add_grants(
        &self,
        user_id: &Value,
        key_kind: FieldKind,
        scopes: &[String],
        roles: &[String],
    ) -> Result<u64, StoreError> {
        let key = super::to_sql_value(key_kind, user_id, self.dialect()).map_err(|problem| {
            StoreError::InvalidValue {
                field: "user id".into(),
                problem,
            }
        })?;
        let mut statements = Vec::new();
        for (table, column, names) in [
            (USER_SCOPES_TABLE, "scope", scopes),
            (USER_ROLES_TABLE, "role", roles),
        ] {
            for name in names {
                statements.push(
                    self.build(
                        Query::insert()
                            .into_table(table)
                            .columns(["user_id", column])
                            .values_panic([Expr::val(key.clone()), Expr::val(name.clone())])
                            .on_conflict(sea_query::OnConflict::new().do_nothing().to_owned()),
                    ),
                );
            }
        }
        Ok(self.execute_all(statements).await?.iter().sum())
    }

    /// Removes scope and role grants; returns how many existed.
    pub async fn remove_grants(
        &self,
        user_id: &Value,
        key_kind: FieldKind,
        scopes: &[String],
        roles: &[String],
    ) -> Result<u64, StoreError> {
        let key = super::to_sql_value(key_kind, user_id, self.dialect()).map_err(|problem| {
            StoreError::InvalidValue {
                field: "user id".into(),
                problem,
            }
        })?;
        let mut statements = Vec::new();
        for (table, column, names) in [
            (USER_SCOPES_TABLE, "scope", scopes),
            (USER_ROLES_TABLE, "role", roles),
        ] {
            if names.is_empty() {
                continue;
            }
            statements.push(
                self.build(
                    Query::delete()
                        .from_table(table)
                        .and_where(Expr::col("user_id").eq(Expr::val(key.clone())))
                        .and_where(Expr::col(column).is_in(names.iter().cloned())),
                ),
            );
        }
        Ok(self.execute_all(statements).await?.iter().sum())
    }
}
