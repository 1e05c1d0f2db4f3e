//! Checking a login name and password: the attempt is reserved against
//! the account's and the address's budgets first, then one argon2
//! verification runs whether or not the account exists (a dummy hash
//! stands in for unknown users), then the account's state is read. Every
//! failure is the same `InvalidCredentials`, so neither answer nor timing
//! tells which part was wrong. A stale hash is upgraded on success (unless
//! the password changed meanwhile). Every password check of a login name
//! goes through [`authenticate`]. It must not issue tokens or sessions; it
//! hands the hash it verified to whoever starts one (`auth::session`).

use super::caller::{User, load_user};
use super::limit::{LimitError, LoginAttempt};
use crate::app::App;
use crate::config::{FieldKind, ResourceDef};
use crate::password::{self, PasswordError};
use crate::store::{Row, StoreError, to_sql_value};
use sea_query::{Alias, Expr, ExprTrait, Query};
use std::net::IpAddr;
use warden_policy::Value;

/// Why a login did not succeed.
///
/// ```
/// let error = warden::LoginError::InvalidCredentials;
/// assert_eq!(error.to_string(), "the login or password is wrong");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("too many failed logins; retry in {0} s")]
    RateLimited(u64),
    #[error("the login or password is wrong")]
    InvalidCredentials,
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Password(#[from] PasswordError),
}

impl From<LimitError> for LoginError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Exhausted(seconds) => LoginError::RateLimited(seconds),
            LimitError::Store(error) => LoginError::Store(error),
        }
    }
}

/// A login that succeeded.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user, with every scope they currently hold.
    pub user: User,
    /// The password hash the secret matched, as stored now; a session for
    /// this login starts only while it is still the stored one.
    pub password_hash: String,
}

/// The users resource's password field, if it has one.
pub fn password_field(users: &ResourceDef) -> Option<&crate::config::FieldDef> {
    users
        .fields
        .values()
        .find(|field| field.kind == FieldKind::Password)
}

/// The subject string (the user's key as text) of a row.
pub fn subject_of(users: &ResourceDef, row: &Row) -> Option<String> {
    row.get(&users.primary_key).map(|key| match key {
        Value::Text(text) => text.clone(),
        other => other.to_string(),
    })
}

/// Checks `login` and `secret`, each attempt reserved against the
/// account's and `address`'s budgets before the password is looked at.
pub async fn authenticate(
    app: &App,
    login: &str,
    secret: &str,
    address: Option<IpAddr>,
) -> Result<Authenticated, LoginError> {
    let config = app.config();
    let (Some(auth), Some(users)) = (&config.auth, config.users_resource()) else {
        return Err(LoginError::InvalidCredentials);
    };
    let login = crate::login_name::normalize(login);
    let attempt = LoginAttempt::new(&auth.login_limit, &login, address);
    if let Err(error) = attempt.reserve(app.store()).await {
        if let LimitError::Exhausted(wait) = error {
            tracing::warn!(retry_after = wait, "login refused: no attempt left");
        }
        return Err(error.into());
    }
    let row = super::accounts::find_by_login(config, app.store(), &login).await?;
    let stored = match (row.as_ref(), password_field(users)) {
        (Some(row), Some(field)) => match row.get(&field.name) {
            Some(Value::Text(hash)) => Some(hash.clone()),
            _ => None,
        },
        _ => None,
    };
    let matches = match password::verify_or_dummy(secret.to_owned(), stored.clone()).await {
        Err(PasswordError::Overloaded) => {
            attempt.abandoned(app.store()).await?;
            return Err(PasswordError::Overloaded.into());
        }
        verified => verified?,
    };
    let user = match (matches, row.as_ref().and_then(|r| subject_of(users, r))) {
        (true, Some(subject)) => load_user(config, app.store(), &subject, None).await?,
        _ => None,
    };
    let (Some(user), Some(mut password_hash)) = (user, stored) else {
        attempt.failed(app.store()).await?;
        tracing::info!("login failed");
        return Err(LoginError::InvalidCredentials);
    };
    attempt.succeeded(app.store()).await?;
    if let Some(field) = password_field(users)
        && password::needs_rehash(&password_hash)
    {
        match rehash(app, users, &field.name, &user.id, secret, &password_hash).await {
            Ok(Some(fresh)) => password_hash = fresh,
            Ok(None) => {}
            // The login stands; the upgrade waits for a quieter moment.
            Err(LoginError::Password(PasswordError::Overloaded)) => {
                tracing::info!(user = %user.id, "password hash upgrade deferred: hashing is busy");
            }
            Err(error) => return Err(error),
        }
    }
    Ok(Authenticated {
        user,
        password_hash,
    })
}

/// Stores a hash made with today's parameters in place of `verified`;
/// `None` when `verified` is no longer stored (the password changed since
/// it was read: the change stands, and this login's session will not
/// start).
async fn rehash(
    app: &App,
    users: &ResourceDef,
    field: &str,
    id: &Value,
    secret: &str,
    verified: &str,
) -> Result<Option<String>, LoginError> {
    let fresh = password::hash(secret.to_owned()).await?;
    let key =
        to_sql_value(users.primary_field().kind, id, app.store().dialect()).map_err(|problem| {
            StoreError::InvalidValue {
                field: users.primary_key.clone(),
                problem,
            }
        })?;
    let stored = app
        .store()
        .execute(
            Query::update()
                .table(Alias::new(users.table.clone()))
                .value(Alias::new(field), fresh.clone())
                .and_where(Expr::col(Alias::new(users.primary_key.clone())).eq(Expr::val(key)))
                .and_where(Expr::col(Alias::new(field)).eq(Expr::val(verified.to_owned()))),
        )
        .await?;
    if stored == 0 {
        return Ok(None);
    }
    tracing::info!(user = %id, "password hash upgraded to current parameters");
    Ok(Some(fresh))
}
