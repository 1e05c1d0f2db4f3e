//! `warden explain`: why a caller may or may not do an action on a
//! resource (or one row of it), gate by gate in the order requests pass
//! them — the scopes the action requires, then the rule (the SQL predicate
//! it becomes for the caller and, for a row, every sub-expression with the
//! value it took), then for reads the field rules. Reads only.

use crate::auth::caller::load_user;
use crate::config::{Config, ResourceDef};
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
    if !explain_scopes(&mut out, resource, action, principal.as_ref()) {
        return Ok(out);
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
    let field_rules: &[(String, warden_policy::Rule)] = match action {
        Action::Read | Action::List => policy
            .resource(&resource.name)
            .map_or(&[], |p| p.fields.as_slice()),
        _ => &[],
    };
    let mut reached = rule.resources_reached();
    reached.extend(field_rules.iter().flat_map(|(_, r)| r.resources_reached()));
    reached.sort();
    reached.dedup();
    let mut data = Dataset::new();
    for other in reached {
        if let Some(other_resource) = config.resource(&other) {
            let mut select = select_all(other_resource);
            select.limit(DATASET_LIMIT);
            for r in store.fetch_rows(other_resource, &select).await? {
                data.insert(&other, r.into_iter().collect());
            }
        }
    }
    let env = Env::new(principal.as_ref(), Some(&row)).with_data(&data);
    let explanation = rule.explain(&env);
    out.push_str(&explanation.to_text());
    if explanation.allowed {
        explain_fields(&mut out, field_rules, &env);
    }
    Ok(out)
}

/// The first gate: the scopes `action` requires. Writes it and whether
/// the caller holds them; `false` when not (no rule runs then).
fn explain_scopes(
    out: &mut String,
    resource: &ResourceDef,
    action: Action,
    principal: Option<&Principal>,
) -> bool {
    let required = resource.require_scopes.get(action);
    if required.is_empty() {
        let _ = writeln!(out, "scopes: {} needs none", action.name());
        return true;
    }
    let missing: Vec<&str> = required
        .iter()
        .filter(|scope| principal.is_none_or(|p| !p.scopes.contains(scope)))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        let _ = writeln!(
            out,
            "scopes: {} needs {}: held",
            action.name(),
            required.join(" ")
        );
        return true;
    }
    let answer = if principal.is_none() {
        "401"
    } else {
        "403 insufficient_scope"
    };
    let _ = writeln!(
        out,
        "scopes: {} needs {}: missing {}\ndenied by resources.{}.require_scopes.{} ({answer}); no rule runs",
        action.name(),
        required.join(" "),
        missing.join(" "),
        resource.name,
        action.name()
    );
    false
}

/// The last gate of a read: each field rule on the row, and whether the
/// field is shown or withheld.
fn explain_fields(out: &mut String, fields: &[(String, warden_policy::Rule)], env: &Env<'_>) {
    for (field, rule) in fields {
        let explanation = rule.explain(env);
        let _ = write!(
            out,
            "field {field}: {} — {}",
            if explanation.allowed {
                "shown"
            } else {
                "withheld"
            },
            explanation.to_text()
        );
    }
}
