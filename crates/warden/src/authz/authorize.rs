//! Authorization for hand-written handlers: "may this caller take this
//! action on this row?" and "which rows may this caller list?", decided by
//! the same gates, answered with the same statuses and logged the same way
//! as the built-in API. It must not write: the handler acts afterwards.

use super::read::Item;
use super::write::Stored;
use super::{Authz, AuthzError, key_only, parse_key, singular};
use crate::rows::output::{render, version};
use sea_query::Expr;
use warden_policy::Action;

impl Authz<'_> {
    /// Whether the caller may take `action` on the row `id` of
    /// `resource`: it holds the scopes for `action` and `action`'s rule
    /// holds on the row as stored (for `update`, `new` is the stored row)
    /// — for `update` and `delete`, whether or not the read rule shows the
    /// caller the row, as the built-in actions decide. The row is shown as
    /// a read would show it: only its key to a caller without the read
    /// scopes or whom the read rule does not show it, field rules applied.
    /// Errors: 404 when missing; when the rule refuses, 403 (or 401) if
    /// the caller may read the row, else the deny status (or 401). `list`
    /// and `create` have no stored row: use [`Authz::list_condition`] or
    /// [`Authz::create`].
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
        self.refuse_anonymous_early(resource, action)?;
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
            .next()
            .ok_or_else(|| AuthzError::NotFound(singular(resource)))?;
        let stored = Stored {
            readable: read.holds_for(&row, "read"),
            key,
            row,
        };
        if !gate.holds_for(&stored.row, "may") {
            return Err(self.refuse(resource, action, id, &stored));
        }
        let json = if stored.readable && self.holds_scopes(resource, Action::Read) {
            let withheld = fields.withheld(&stored.row);
            render(resource, &stored.row, |f| withheld.contains(f))
        } else {
            key_only(resource, &stored.key)
        };
        Ok(Item {
            json,
            version: version(&stored.row),
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
