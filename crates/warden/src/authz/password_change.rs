//! A password change through the API (`PATCH`/`PUT` of the users
//! resource's password field, the HTML edit form included). A change to
//! the caller's own account must come with the current password, checked
//! as a login is (argon2, counted against the account's login limit), so a
//! stolen session alone cannot take the account over. Any change ends
//! every other session of the account, in the transaction that writes the
//! new password (`Authz::update`). It must not decide who may change the
//! row: the update rule does, before any of this runs.

use super::{Authz, AuthzError};
use crate::auth::login::{self, LoginError};
use crate::config::ResourceDef;
use crate::rows::input::InputError;
use crate::store::Row;
use serde_json::Value as Json;
use warden_policy::Value;

/// The body member carrying the current password.
pub const CURRENT_PASSWORD: &str = "current_password";

/// A password change about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PasswordChange {
    /// The session that survives it: the caller's own, when they change
    /// their own password (they just proved they know it); else none.
    pub keep: Option<String>,
}

impl Authz<'_> {
    /// Takes `current_password` out of a body for the users resource
    /// (where it is not a field), so the body parses as a row.
    pub(super) fn take_current_password(
        &self,
        resource: &ResourceDef,
        mut body: Json,
    ) -> Result<(Json, Option<String>), AuthzError> {
        let is_users = self
            .app
            .config()
            .users_resource()
            .is_some_and(|users| users.name == resource.name);
        let taken = match &mut body {
            Json::Object(object) if is_users && resource.field(CURRENT_PASSWORD).is_none() => {
                object.shift_remove(CURRENT_PASSWORD)
            }
            _ => None,
        };
        match taken {
            None => Ok((body, None)),
            Some(Json::String(current)) => Ok((body, Some(current))),
            Some(_) => Err(invalid("expected a string")),
        }
    }

    /// The password change `changes` make to the account `key` (stored as
    /// `stored`), if they change its password. The caller's own change is
    /// refused unless `current` is the password stored now.
    pub(super) async fn password_change(
        &self,
        resource: &ResourceDef,
        key: &Value,
        stored: &Row,
        changes: &Row,
        current: Option<&str>,
    ) -> Result<Option<PasswordChange>, AuthzError> {
        let config = self.app.config();
        let (Some(auth), Some(users)) = (&config.auth, config.users_resource()) else {
            return Ok(None);
        };
        let changes_password = users.name == resource.name
            && login::password_field(users).is_some_and(|field| changes.contains_key(&field.name));
        if !changes_password {
            return Ok(None);
        }
        let own = self
            .caller
            .user
            .as_ref()
            .is_some_and(|user| user.id == *key);
        if !own {
            return Ok(Some(PasswordChange { keep: None }));
        }
        let Some(current) = current else {
            return Err(invalid("give your current password to change it"));
        };
        let login_name = match stored.get(&auth.login) {
            Some(Value::Text(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => return Err(AuthzError::Internal("the account has no login".to_owned())),
        };
        // As a login of this account: limited per account (a caller can
        // only ever guess their own password here, so not per address).
        match login::authenticate(self.app, &login_name, current, None).await {
            Ok(confirmed) if confirmed.user.id == *key => Ok(Some(PasswordChange {
                keep: self.caller.session.as_ref().map(|s| s.id.clone()),
            })),
            // A field error, like any wrong value, so a form shows it
            // beside the field.
            Ok(_) | Err(LoginError::InvalidCredentials) => {
                Err(invalid("is not your current password"))
            }
            Err(LoginError::RateLimited(seconds)) => Err(AuthzError::RateLimited(seconds)),
            Err(LoginError::Store(error)) => Err(error.into()),
            Err(LoginError::Password(error)) => Err(AuthzError::Internal(error.to_string())),
        }
    }
}

fn invalid(problem: &str) -> AuthzError {
    AuthzError::Input(InputError::Invalid(vec![(
        CURRENT_PASSWORD.to_owned(),
        problem.to_owned(),
    )]))
}
