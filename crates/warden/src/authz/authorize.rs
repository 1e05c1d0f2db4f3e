//! Authorization for hand-written handlers: "may this caller take this
//! action on this row?" and "which rows may this caller list?", decided by
//! the same gates, answered with the same statuses and logged the same way
//! as the built-in API. It must not write: the handler acts afterwards.

use super::read::Item;
use super::{Authz, AuthzError, key_only, parse_key};
use crate::rows::output::{render, version};
use sea_query::Expr;
use warden_policy::Action;

impl Authz<'_> {
    /// The row `id` of `resource` as the caller may see it, if the caller
    /// holds the scopes for `action`, may read the row and `action`'s rule
    /// holds on it as stored (for `update`, `new` is the stored row). The
    /// row is shown as a read would show it: only its key to a caller
    /// without the read scopes, field rules applied.
    /// Errors: 404 when missing, the deny status (or 401) when hidden, 403
    /// (or 401) when the rule refuses. `list` and `create` have no stored
    /// row: use [`Authz::list_condition`] or [`Authz::create`].
    pub async fn authorize(
        &self,
        resource: &str,
        id: &str,
        action: Action,
    ) -> Result<Item, AuthzError> {
        let resource = self.resource(resource)?;
        if matches!(action, Action::List | Action::Create) {
            return Err(AuthzError::Internal(format!(
                "authorize takes read, update or delete; {} has no stored row",
                action.name()
            )));
        }
        self.require_scopes(resource, action)?;
        self.refuse_anonymous_early(resource)?;
        let key = parse_key(resource, id)?;
        let read = self.gate(resource, Action::Read);
        let gate = self.gate(resource, action);
        let fields = self.field_gates(resource);
        let mut target = self.target(resource);
        target.new = Some(target.row.clone());
        let mut select = self.select_readable(resource, &key, &read.residual)?;
        gate.select_flag(&mut select, &target, "may")?;
        fields.select_flags(&mut select, &target)?;
        let row = self
            .app
            .store()
            .fetch_rows(resource, &select)
            .await?
            .into_iter()
            .next();
        let row = self.seen(resource, id, &read, row)?;
        if !gate.holds_for(&row, "may") {
            self.log_denial(action, resource, id, gate.rule, Some(&row));
            return Err(self.forbidden(gate.rule, action, resource));
        }
        let json = if self.holds_scopes(resource, Action::Read) {
            let withheld = fields.withheld(&row);
            render(resource, &row, |f| withheld.contains(f))
        } else {
            key_only(resource, &key)
        };
        Ok(Item {
            json,
            version: version(&row),
        })
    }

    /// The list rule of `resource` for this caller as a SQL condition on
    /// its table (bound values, the store's dialect), for a handler that
    /// writes its own `SELECT`: `None` when every row is listable; 401 or
    /// 403 when none is, as the built-in list answers.
    pub fn list_condition(&self, resource: &str) -> Result<Option<Expr>, AuthzError> {
        let resource = self.resource(resource)?;
        self.require_scopes(resource, Action::List)?;
        let list = self.gate(resource, Action::List);
        if list.allows_nothing() {
            self.log_denial(Action::List, resource, "*", list.rule, None);
            return Err(self.forbidden(list.rule, Action::List, resource));
        }
        list.condition(&self.target(resource))
    }
}
