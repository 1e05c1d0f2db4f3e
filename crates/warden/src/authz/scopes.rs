//! `require_scopes`: the scopes a resource action needs, checked against
//! the caller's credential before any rule runs or any row is read
//! (RFC 6750 §3.1 `insufficient_scope`). It must not read the database.

use super::{Authz, AuthzError};
use crate::config::ResourceDef;
use warden_policy::Action;

impl<'a> Authz<'a> {
    /// Ok when the caller holds every scope `action` on `resource`
    /// requires; 401 for an anonymous caller, 403 naming the scopes
    /// otherwise. Each action has its own list, as each has its own rule.
    pub(super) fn require_scopes(
        &self,
        resource: &ResourceDef,
        action: Action,
    ) -> Result<(), AuthzError> {
        if self.holds_scopes(resource, action) {
            return Ok(());
        }
        if self.caller.is_anonymous() {
            self.log_denial(action, resource, "*", None, None);
            return Err(AuthzError::Unauthenticated);
        }
        let required = resource.require_scopes.get(action);
        tracing::info!(
            principal = %self.caller.user.as_ref().map_or_else(String::new, |u| u.id.to_string()),
            action = action.name(),
            resource = %resource.name,
            required = %required.join(" "),
            "denied: insufficient scope"
        );
        Err(AuthzError::InsufficientScope(required.to_vec()))
    }
}
