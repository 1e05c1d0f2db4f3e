//! `?expand=`: relations of fetched rows, read through the target
//! resource's own gates in the order a read of the target passes them —
//! its required scopes, then its rule, then its field rules — and capped.
//! To-one: the target's read scopes and rule; a row not visible is null,
//! or the target's deny status when one row was asked for and the target
//! answers 403. To-many: the target's list scopes and rule, silently
//! filtered, at most the target's `max_page_size` rows per parent, with a
//! link to the rest (`<relation>@next`). It must not read a row any other
//! way, nor without a bound.

use super::read::Visible;
use super::{Authz, AuthzError};
use crate::config::{DenyStatus, RelationKind, ResourceDef};
use crate::policy::publicly_readable;
use crate::rows::output::render;
use crate::store::{key_column, key_equals, select_all, to_sql_value};
use sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, SelectStatement, UnionType};
use serde_json::Value as Json;
use std::collections::HashMap;
use warden_policy::{Action, Value};

/// Parents whose to-many rows one statement reads: each is one branch of
/// a `UNION ALL`, and SQLite allows 500 (`SQLITE_MAX_COMPOUND_SELECT`).
const PARENTS_PER_STATEMENT: usize = 100;

impl<'a> Authz<'a> {
    /// Adds each relation in `expand` to every item's JSON.
    pub(super) async fn expand(
        &self,
        resource: &ResourceDef,
        items: &mut [Visible],
        expand: &[String],
        single: bool,
    ) -> Result<(), AuthzError> {
        if expand.is_empty() {
            return Ok(());
        }
        // Boxed: most reads expand nothing, and an awaited future is held
        // inline by its caller, so the expansion would otherwise grow every
        // read's future (which axum moves whole into a box per request).
        Box::pin(async move {
            for name in expand {
                let relation = resource.relations.get(name).ok_or_else(|| {
                    let known: Vec<&str> = resource.relations.keys().map(String::as_str).collect();
                    AuthzError::InvalidQuery(format!(
                        "`{name}` is not a relation of {}; expandable: {}",
                        resource.name,
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ))
                })?;
                let target = self.resource(&relation.target)?;
                match relation.kind {
                    RelationKind::ToOne => {
                        self.expand_to_one(target, name, &relation.via, items, single)
                            .await?
                    }
                    RelationKind::ToMany => {
                        self.expand_to_many(resource, target, name, &relation.via, items)
                            .await?
                    }
                }
            }
            Ok(())
        })
        .await
    }

    async fn expand_to_one(
        &self,
        target: &ResourceDef,
        name: &str,
        via: &str,
        items: &mut [Visible],
        single: bool,
    ) -> Result<(), AuthzError> {
        let keys: Vec<Value> = distinct(
            items
                .iter()
                .filter_map(|i| i.row.get(via))
                .filter(|v| !v.is_null()),
        );
        let found = self.visible_by_key(target, &keys).await?;
        let by_key: HashMap<String, &Visible> = found
            .iter()
            .filter_map(|v| Some((v.row.get(&target.primary_key)?.to_string(), v)))
            .collect();
        for item in items.iter_mut() {
            let value = match item.row.get(via).filter(|v| !v.is_null()) {
                None => Json::Null,
                Some(key) => match by_key.get(&key.to_string()) {
                    Some(visible) => Json::Object(visible.json.clone()),
                    None if single
                        && target.deny_status == DenyStatus::Forbidden
                        && self.exists(target, key).await? =>
                    {
                        return Err(AuthzError::Forbidden(format!(
                            "you may not read the {name} of this row"
                        )));
                    }
                    None => Json::Null,
                },
            };
            item.json.insert(name.to_owned(), value);
        }
        Ok(())
    }

    /// Each item's rows of `target` whose `via` holds its key, as a list
    /// of `target` would show them (in key order), at most
    /// `target.max_page_size` of them; `<name>@next` links to the rest
    /// (null when there is none).
    async fn expand_to_many(
        &self,
        resource: &ResourceDef,
        target: &ResourceDef,
        name: &str,
        via: &str,
        items: &mut [Visible],
    ) -> Result<(), AuthzError> {
        let keys: Vec<Value> = distinct(
            items
                .iter()
                .filter_map(|i| i.row.get(&resource.primary_key)),
        );
        let cap = target.max_page_size as usize;
        let mut groups: HashMap<String, Vec<Visible>> = HashMap::new();
        for visible in self.first_of_each(target, via, &keys, cap + 1).await? {
            if let Some(parent) = visible.row.get(via) {
                groups.entry(parent.to_string()).or_default().push(visible);
            }
        }
        for item in items.iter_mut() {
            let key = item.row.get(&resource.primary_key);
            let mut children = key
                .and_then(|k| groups.remove(&k.to_string()))
                .unwrap_or_default();
            let next = match (key, children.len() > cap) {
                (Some(key), true) => {
                    children.truncate(cap);
                    rest_of(target, via, key, children.last())
                }
                _ => Json::Null,
            };
            item.json.insert(
                name.to_owned(),
                Json::Array(children.into_iter().map(|v| Json::Object(v.json)).collect()),
            );
            item.json.insert(format!("{name}@next"), next);
        }
        Ok(())
    }

    /// The rows of `resource` whose key is one of `keys` that the caller
    /// may read: the read scopes, then the read rule, then field rules.
    async fn visible_by_key(
        &self,
        resource: &ResourceDef,
        keys: &[Value],
    ) -> Result<Vec<Visible>, AuthzError> {
        if keys.is_empty() || !self.may_reach(resource, Action::Read) {
            return Ok(Vec::new());
        }
        let target = self.target(resource);
        let fields = self.field_gates(resource);
        let kind = resource.primary_field().kind;
        let bound = keys
            .iter()
            .map(|k| to_sql_value(kind, k, target.dialect).map(Expr::val))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AuthzError::Internal)?;
        let mut select = select_all(resource);
        fields.select_flags(&mut select, &target)?;
        select.and_where(key_column(resource).is_in(bound));
        if let Some(condition) = self.gate(resource, Action::Read).condition(&target)? {
            select.and_where(condition);
        }
        let rows = self.app.store().fetch_rows(resource, &select).await?;
        Ok(self.visible(resource, rows, &fields))
    }

    /// For each of `parents`, the first `limit` rows of `resource` (in key
    /// order) whose `via` holds it and that the caller may list: the list
    /// scopes, then the list rule, then field rules. One statement per
    /// [`PARENTS_PER_STATEMENT`] parents, each parent a `UNION ALL` branch
    /// that stops at its `LIMIT` in the `(via, key)` index: the rows read
    /// are bounded by parents × `limit`, however many rows a parent has.
    async fn first_of_each(
        &self,
        resource: &ResourceDef,
        via: &str,
        parents: &[Value],
        limit: usize,
    ) -> Result<Vec<Visible>, AuthzError> {
        if parents.is_empty() || !self.may_reach(resource, Action::List) {
            return Ok(Vec::new());
        }
        let target = self.target(resource);
        let fields = self.field_gates(resource);
        let condition = self.gate(resource, Action::List).condition(&target)?;
        let kind = resource
            .field(via)
            .map(|f| f.kind)
            .ok_or_else(|| AuthzError::Internal(format!("no field {via}")))?;
        let mut found = Vec::new();
        for chunk in parents.chunks(PARENTS_PER_STATEMENT) {
            let mut union: Option<SelectStatement> = None;
            for (i, parent) in chunk.iter().enumerate() {
                let bound =
                    to_sql_value(kind, parent, target.dialect).map_err(AuthzError::Internal)?;
                let mut branch = select_all(resource);
                fields.select_flags(&mut branch, &target)?;
                branch.and_where(column(resource, via).eq(Expr::val(bound)));
                if let Some(condition) = &condition {
                    branch.and_where(condition.clone());
                }
                branch
                    .order_by_expr(key_column(resource), Order::Asc)
                    .limit(limit as u64);
                let branch = Query::select()
                    .column(Asterisk)
                    .from_subquery(branch, Alias::new(format!("w_many{i}")))
                    .to_owned();
                union = Some(match union {
                    None => branch,
                    Some(mut union) => {
                        union.union(UnionType::All, branch);
                        union
                    }
                });
            }
            let Some(mut select) = union else { continue };
            // Key order within each parent, whatever order the branches
            // come back in.
            select.order_by(Alias::new(resource.primary_key.clone()), Order::Asc);
            let rows = self.app.store().fetch_rows(resource, &select).await?;
            found.extend(self.visible(resource, rows, &fields));
        }
        Ok(found)
    }

    /// Whether the caller holds the scopes `action` on `resource` needs
    /// and its rule admits some row: without them, an expansion reads
    /// nothing, as `GET /api/<resource>` would refuse.
    fn may_reach(&self, resource: &ResourceDef, action: Action) -> bool {
        // Scopes first, as a read of the resource checks them.
        self.holds_scopes(resource, action) && !self.gate(resource, action).allows_nothing()
    }

    /// Fetched rows with their field rules applied.
    fn visible(
        &self,
        resource: &ResourceDef,
        rows: Vec<crate::store::Row>,
        fields: &super::gate::FieldGates<'_>,
    ) -> Vec<Visible> {
        rows.into_iter()
            .map(|row| {
                let withheld = fields.withheld(&row);
                let json = render(resource, &row, |f| withheld.contains(f));
                Visible { row, json }
            })
            .collect()
    }

    /// Whether a row with this key exists at all (for an honest 403).
    async fn exists(&self, resource: &ResourceDef, key: &Value) -> Result<bool, AuthzError> {
        let mut select = sea_query::Query::select();
        select
            .expr(key_column(resource))
            .from(Alias::new(resource.table.clone()))
            .and_where(key_equals(resource, key, self.app.store().dialect())?);
        Ok(!self
            .app
            .store()
            .fetch_rows(resource, &select)
            .await?
            .is_empty())
    }
}

/// Where the rest of a capped to-many expansion is: the target's own list,
/// filtered to this parent, after the last row shown —
/// `/api/<target>?filter=row.<via> == <key>&cursor=<after last>`. When
/// `via` is a field a list filter may not test (hidden, or under a field
/// rule), there is no such link, and the answer is only `true`: more rows
/// exist.
fn rest_of(target: &ResourceDef, via: &str, parent: &Value, last: Option<&Visible>) -> Json {
    let filterable = target.field(via).is_some_and(publicly_readable);
    let (Some(literal), Some(last), true) = (filter_literal(parent), last, filterable) else {
        return Json::Bool(true);
    };
    let query = serde_urlencoded::to_string([
        ("filter", format!("row.{via} == {literal}")),
        ("cursor", super::list::key_cursor(target, &last.row)),
    ])
    .unwrap_or_default();
    Json::String(format!("/api/{}?{query}", target.name))
}

/// `value` as a literal of the rule language (keys are integers or text).
fn filter_literal(value: &Value) -> Option<String> {
    match value {
        Value::Int(n) => Some(n.to_string()),
        Value::Text(text) => Some(format!(
            "'{}'",
            text.replace('\\', "\\\\").replace('\'', "\\'")
        )),
        _ => None,
    }
}

fn column(resource: &ResourceDef, field: &str) -> Expr {
    Expr::col((
        Alias::new(resource.table.clone()),
        Alias::new(field.to_owned()),
    ))
}

fn distinct<'v>(values: impl Iterator<Item = &'v Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    values
        .filter(|v| seen.insert(v.to_string()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::filter_literal;
    use warden_policy::Value;

    #[test]
    fn keys_become_literals_the_filter_reads_back() {
        assert_eq!(filter_literal(&Value::Int(-7)).as_deref(), Some("-7"));
        assert_eq!(
            filter_literal(&Value::Text(r"it's a \ key".into())).as_deref(),
            Some(r"'it\'s a \\ key'")
        );
        assert_eq!(filter_literal(&Value::Null), None);
    }
}
