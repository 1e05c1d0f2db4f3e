//! `warden explain`: why a caller may or may not do an action on a
//! resource (or one row of it) — the rule, the caller's scopes, the SQL
//! predicate the rule becomes for them, and, for a row, every
//! sub-expression with the value it took. Reads only.

use crate::auth::caller::load_user;
use crate::config::Config;
use crate::policy::Policy;
use crate::store::{Store, StoreError, select_all};
use sea_query::{Alias, Expr, ExprTrait};
use std::fmt::Write as _;
use warden_policy::{Action, Dataset, Env, Principal, SqlTarget};

/// Rows loaded per other resource to explain `exists` and relations.
pub const DATASET_LIMIT: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("no resource `{0}`")]
    UnknownResource(String),
    #[error("no user `{0}` (or the user is deactivated)")]
    UnknownUser(String),
    #[error("no {0} with id `{1}`")]
    NoRow(String, String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

/// Explains `action` on `resource` (or `resource/id`) for user `as_user`
/// (`anonymous` for none).
pub async fn explain(
    config: &Config,
    store: &Store,
    policy: &Policy,
    as_user: &str,
    action: Action,
    target: &str,
) -> Result<String, ExplainError> {
    let (resource_name, id) = match target.split_once('/') {
        Some((r, id)) => (r, Some(id)),
        None => (target, None),
    };
    let resource = config
        .resource(resource_name)
        .ok_or_else(|| ExplainError::UnknownResource(resource_name.to_owned()))?;
    let principal: Option<Principal> = if as_user == "anonymous" {
        None
    } else {
        let user = load_user(config, store, as_user, None)
            .await
            .map_err(|e| ExplainError::Other(e.to_string()))?
            .ok_or_else(|| ExplainError::UnknownUser(as_user.to_owned()))?;
        Some(user.principal)
    };
    let mut out = String::new();
    match &principal {
        None => out.push_str("caller: anonymous\n"),
        Some(p) => {
            let _ = writeln!(
                out,
                "caller: user {} (scopes: {}; roles: {})",
                as_user,
                if p.scopes.is_empty() {
                    "none".to_owned()
                } else {
                    p.scopes.join(" ")
                },
                if p.roles.is_empty() {
                    "none".to_owned()
                } else {
                    p.roles.join(" ")
                }
            );
        }
    }
    let Some(rule) = policy.resource(&resource.name).and_then(|p| p.rule(action)) else {
        let _ = writeln!(
            out,
            "rule: none — {} on {} has no rule, so it is denied to everyone",
            action.name(),
            resource.name
        );
        return Ok(out);
    };
    let text = resource.rules.get(action).map_or("", |t| t.text.as_str());
    let _ = writeln!(out, "rule: {} = {text}", rule.name());
    let residual = rule.specialize(principal.as_ref());
    match residual.to_sql_string(&SqlTarget::new(store.dialect(), resource.table.clone())) {
        Ok((sql, values)) => {
            let _ = writeln!(
                out,
                "for this caller, as SQL: {sql}   params: {:?}",
                values.0
            );
        }
        Err(error) => {
            let _ = writeln!(out, "for this caller, as SQL: (not compilable: {error})");
        }
    }
    let Some(id) = id else {
        return Ok(out);
    };
    let key = match resource.primary_field().kind {
        crate::config::FieldKind::Integer => id
            .parse::<i64>()
            .map(warden_policy::Value::Int)
            .map_err(|_| ExplainError::NoRow(resource.name.clone(), id.to_owned()))?,
        _ => warden_policy::Value::Text(id.to_owned()),
    };
    let bound = crate::store::to_sql_value(resource.primary_field().kind, &key, store.dialect())
        .map_err(ExplainError::Other)?;
    let mut select = select_all(resource);
    select.and_where(
        Expr::col((
            Alias::new(resource.table.clone()),
            Alias::new(resource.primary_key.clone()),
        ))
        .eq(Expr::val(bound)),
    );
    let row = store
        .fetch_rows(resource, &select)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ExplainError::NoRow(resource.name.clone(), id.to_owned()))?;
    let row = crate::rows::output::policy_row(resource, &row);
    let mut data = Dataset::new();
    for other in rule.resources_reached() {
        if let Some(other_resource) = config.resource(&other) {
            let mut select = select_all(other_resource);
            select.limit(DATASET_LIMIT);
            for r in store.fetch_rows(other_resource, &select).await? {
                data.insert(&other, r.into_iter().collect());
            }
        }
    }
    let explanation = rule.explain(&Env::new(principal.as_ref(), Some(&row)).with_data(&data));
    out.push_str(&explanation.to_text());
    Ok(out)
}
