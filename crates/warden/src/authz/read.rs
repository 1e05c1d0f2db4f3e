//! Reading one row, and expanding relations of fetched rows through the
//! target resource's own gates, in the order a read of the target passes
//! them: its required scopes, then its rule, then its field rules (to-many:
//! the target's list scopes and rule, silently filtered; to-one: its read
//! scopes and rule, and one not visible is null, or the target's deny
//! status when one row was asked for and the target answers 403).

use super::{Authz, AuthzError, key_column, key_equals, parse_key};
use crate::config::{DenyStatus, RelationKind, ResourceDef};
use crate::rows::output::{render, version};
use crate::store::{Row, select_all, to_sql_value};
use sea_query::{Alias, Expr, ExprTrait};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use warden_policy::{Action, Value};

/// One row as the caller may see it (hidden and withheld fields left
/// out), and its version for `If-Match`.
///
/// ```no_run
/// # async fn f(warden: warden::Warden) -> Result<(), warden::Error> {
/// let post = warden.guard(None).read("posts", "4").await?;
/// println!("{} (version {:?})", post.json["title"], post.version);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Item {
    pub json: Map<String, Json>,
    pub version: Option<i64>,
}

/// A fetched row with what its caller may see of it.
pub(super) struct Visible {
    pub row: Row,
    pub json: Map<String, Json>,
}

impl<'a> Authz<'a> {
    /// `GET /api/<resource>/<id>`.
    pub async fn read(
        &self,
        resource: &str,
        id: &str,
        expand: &[String],
    ) -> Result<Item, AuthzError> {
        let resource = self.resource(resource)?;
        self.require_scopes(resource, Action::Read)?;
        self.read_item(resource, id, expand).await
    }

    /// A read once its scopes are checked (by [`Authz::read`], or for a
    /// write's answer by `Authz::written`).
    pub(super) async fn read_item(
        &self,
        resource: &ResourceDef,
        id: &str,
        expand: &[String],
    ) -> Result<Item, AuthzError> {
        let visible = self.read_visible(resource, id).await?;
        let version = version(&visible.row);
        let mut items = vec![visible];
        self.expand(resource, &mut items, expand, true).await?;
        let json = items.pop().map(|v| v.json).unwrap_or_default();
        Ok(Item { json, version })
    }

    /// Fetches one row with its read flag and field flags; answers 404,
    /// the deny status or 401 when the caller may not see it.
    pub(super) async fn read_visible(
        &self,
        resource: &ResourceDef,
        id: &str,
    ) -> Result<Visible, AuthzError> {
        let key = parse_key(resource, id)?;
        let read = self.gate(resource, Action::Read);
        if read.allows_nothing()
            && (resource.deny_status == DenyStatus::NotFound || self.caller.is_anonymous())
        {
            // The answer does not depend on whether the row exists.
            self.log_denial(Action::Read, resource, id, read.rule, None);
            return Err(self.unseen(read.rule, resource));
        }
        let fields = self.field_gates(resource);
        let row = self.fetch_by_key(resource, &key, &read, &fields).await?;
        let row = self.seen(resource, id, &read, row)?;
        let withheld = fields.withheld(&row);
        let json = render(resource, &row, |f| withheld.contains(f));
        Ok(Visible { row, json })
    }

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
        Box::pin(self.expand_each(resource, items, expand, single)).await
    }

    async fn expand_each(
        &self,
        resource: &ResourceDef,
        items: &mut [Visible],
        expand: &[String],
        single: bool,
    ) -> Result<(), AuthzError> {
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
                    self.expand_to_one(resource, target, name, &relation.via, items, single)
                        .await?
                }
                RelationKind::ToMany => {
                    self.expand_to_many(resource, target, name, &relation.via, items)
                        .await?
                }
            }
        }
        Ok(())
    }

    async fn expand_to_one(
        &self,
        _resource: &ResourceDef,
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
        let found = self
            .visible_rows_where(target, &target.primary_key, &keys, Action::Read)
            .await?;
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
        let found = self
            .visible_rows_where(target, via, &keys, Action::List)
            .await?;
        let mut groups: HashMap<String, Vec<Json>> = HashMap::new();
        for visible in found {
            if let Some(parent) = visible.row.get(via) {
                groups
                    .entry(parent.to_string())
                    .or_default()
                    .push(Json::Object(visible.json));
            }
        }
        for item in items.iter_mut() {
            let children = item
                .row
                .get(&resource.primary_key)
                .and_then(|k| groups.remove(&k.to_string()))
                .unwrap_or_default();
            item.json.insert(name.to_owned(), Json::Array(children));
        }
        Ok(())
    }

    /// Rows of `resource` whose `column` is one of `keys` that the caller
    /// may see (the read scopes and rule for a to-one relation, the list
    /// ones for a to-many one), with field rules applied.
    async fn visible_rows_where(
        &self,
        resource: &ResourceDef,
        column: &str,
        keys: &[Value],
        action: Action,
    ) -> Result<Vec<Visible>, AuthzError> {
        // Scopes first, as `GET /api/<target>` checks them: without them
        // the relation shows as one whose rule admits no row.
        if keys.is_empty() || !self.holds_scopes(resource, action) {
            return Ok(Vec::new());
        }
        let gate = self.gate(resource, action);
        if gate.allows_nothing() {
            return Ok(Vec::new());
        }
        let target = self.target(resource);
        let fields = self.field_gates(resource);
        let kind = resource
            .field(column)
            .map(|f| f.kind)
            .ok_or_else(|| AuthzError::Internal(format!("no field {column}")))?;
        let bound = keys
            .iter()
            .map(|k| to_sql_value(kind, k, target.dialect).map(Expr::val))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AuthzError::Internal)?;
        let mut select = select_all(resource);
        fields.select_flags(&mut select, &target)?;
        select.and_where(
            Expr::col((
                Alias::new(resource.table.clone()),
                Alias::new(column.to_owned()),
            ))
            .is_in(bound),
        );
        if let Some(condition) = gate.condition(&target)? {
            select.and_where(condition);
        }
        select.order_by(key_column_ref(resource), sea_query::Order::Asc);
        let rows = self.app.store().fetch_rows(resource, &select).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let withheld = fields.withheld(&row);
                let json = render(resource, &row, |f| withheld.contains(f));
                Visible { row, json }
            })
            .collect())
    }

    /// Whether a row with this key exists at all (for an honest 403).
    pub(super) async fn exists(
        &self,
        resource: &ResourceDef,
        key: &Value,
    ) -> Result<bool, AuthzError> {
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

fn key_column_ref(resource: &ResourceDef) -> (Alias, Alias) {
    (
        Alias::new(resource.table.clone()),
        Alias::new(resource.primary_key.clone()),
    )
}

fn distinct<'v>(values: impl Iterator<Item = &'v Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    values
        .filter(|v| seen.insert(v.to_string()))
        .cloned()
        .collect()
}
