//! "May this caller do this?", asked before acting so that pages can show
//! an action enabled or disabled. It answers with the same scopes and the
//! same rules, specialised by the same gates, that guard the action
//! itself. It must not act, write, or log denials, and its `true` grants
//! nothing: the action decides again when it is taken.

use super::{Authz, AuthzError, parse_id};
use crate::config::ResourceDef;
use crate::store::key_column;
use sea_query::{Alias, Expr, ExprTrait, Query};
use warden_policy::{Action, Value};

impl<'a> Authz<'a> {
    /// Whether the caller could take `action` on some row of `resource`:
    /// it holds the scopes the action requires, and the action's rule,
    /// specialised for the caller with no row known, is not always false.
    pub fn may(&self, resource: &str, action: Action) -> bool {
        self.resource(resource).is_ok_and(|resource| {
            self.holds_scopes(resource, action) && !self.gate(resource, action).allows_nothing()
        })
    }

    /// For each of `ids`, whether the caller may take `action` on that
    /// stored row from a page: it holds the scopes, its read rule admits
    /// the row (a page shows the row before it acts; the action itself
    /// does not need it), and the action's rule holds on it; an update is
    /// judged on the row left as it is (`new` is the stored row). One
    /// query for all ids; a missing or unparsable id is `false`.
    pub async fn may_on(
        &self,
        resource: &str,
        action: Action,
        ids: &[String],
    ) -> Result<Vec<bool>, AuthzError> {
        let resource = self.resource(resource)?;
        let read = self.gate(resource, Action::Read);
        let gate = self.gate(resource, action);
        let keys: Vec<Option<Value>> = ids.iter().map(|id| parse_id(resource, id)).collect();
        let wanted: Vec<&Value> = keys.iter().flatten().collect();
        if wanted.is_empty()
            || !self.holds_scopes(resource, action)
            || read.allows_nothing()
            || gate.allows_nothing()
        {
            return Ok(vec![false; ids.len()]);
        }
        let mut target = self.target(resource);
        target.new = Some(target.row.clone());
        let kind = resource.primary_field().kind;
        let bound = wanted
            .iter()
            .map(|k| crate::store::to_sql_value(kind, k, target.dialect).map(Expr::val))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AuthzError::Internal)?;
        let mut select = Query::select();
        select
            .expr_as(
                key_column(resource),
                Alias::new(resource.primary_key.clone()),
            )
            .from(Alias::new(resource.table.clone()))
            .and_where(key_column(resource).is_in(bound));
        read.select_flag(&mut select, &target, "read")?;
        gate.select_flag(&mut select, &target, "may")?;
        let rows = self.app.store().fetch_rows(resource, &select).await?;
        let allowed: Vec<&Value> = rows
            .iter()
            .filter(|row| read.holds_for(row, "read") && gate.holds_for(row, "may"))
            .filter_map(|row| row.get(&resource.primary_key))
            .collect();
        Ok(keys
            .iter()
            .map(|key| key.as_ref().is_some_and(|k| allowed.contains(&k)))
            .collect())
    }

    /// Whether the caller holds every scope `action` on `resource` needs.
    pub(super) fn holds_scopes(&self, resource: &ResourceDef, action: Action) -> bool {
        let required = resource.require_scopes.get(action);
        required.is_empty()
            || self
                .caller
                .principal()
                .is_some_and(|p| required.iter().all(|scope| p.scopes.contains(scope)))
    }
}
