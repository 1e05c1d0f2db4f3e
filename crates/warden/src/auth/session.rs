//! Sessions: refresh-token families behind access tokens, and cookie
//! sessions for browsers. Secrets leave here once, to the client; the
//! database keeps only their digests. A refresh token is single-use: each
//! use spends it and issues the next in its family, and a spent token
//! presented again ends the whole family (RFC 9700 §4.14.2), which also
//! ends every access token carrying the family's id as `sid`. A family
//! never outlives `refresh_max_age` from its login. A session started by a
//! login starts only while the password hash the login verified is still
//! stored, so a password changed meanwhile (which ends the account's other
//! sessions) cannot be outrun. It must not check passwords.

use super::caller::{User, load_user};
use super::secret;
use crate::app::App;
use crate::config::{FieldKind, ResourceDef};
use crate::store::{NewSession, SessionKind, SessionRow, StoreError, to_sql_value};
use crate::token::TokenError;
use sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use serde_json::Map;
use std::collections::BTreeSet;
use warden_policy::Value;

/// Why no tokens were issued.
///
/// ```
/// let error = warden::SessionError::InvalidScope;
/// assert!(!error.to_string().is_empty());
/// ```
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// RFC 6749 §5.2 `invalid_grant`, with the reason for the log.
    #[error("invalid grant: {0}")]
    InvalidGrant(&'static str),
    /// RFC 6749 §5.2 `invalid_scope`.
    #[error("the requested scope exceeds what was granted")]
    InvalidScope,
    /// The password the login verified was changed before the session
    /// started: answered as a wrong password.
    #[error("the password changed during the login")]
    PasswordChanged,
    #[error("no [auth] users resource is configured")]
    NoUsers,
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Token(#[from] TokenError),
}

/// An access token with its refresh token (RFC 6749 §5.1).
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub scope: Vec<String>,
}

/// A new cookie session: the cookie value (secret) and its row.
#[derive(Debug, Clone)]
pub struct CookieSession {
    pub secret: String,
    pub row: SessionRow,
}

fn users(app: &App) -> Result<&ResourceDef, SessionError> {
    app.config().users_resource().ok_or(SessionError::NoUsers)
}

fn seconds(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// When a token family started at `created_at` ends if its refresh token
/// is not used again: `refresh_ttl` from `now`, but never past
/// `refresh_max_age` from its start.
fn family_expiry(app: &App, created_at: i64, now: i64) -> i64 {
    let Some(auth) = &app.config().auth else {
        return now;
    };
    std::cmp::min(
        now.saturating_add(seconds(auth.refresh_ttl)),
        created_at.saturating_add(seconds(auth.refresh_max_age)),
    )
}

/// `SELECT 1 FROM users WHERE key = <user> AND <password> = <hash>`: the
/// condition a login's session starts under (`None` when the login
/// verified no stored hash, or the users have no password field).
fn password_still_stored(
    app: &App,
    users: &ResourceDef,
    user: &Value,
    verified_hash: Option<&str>,
) -> Result<Option<SelectStatement>, SessionError> {
    let (Some(hash), Some(field)) = (verified_hash, super::login::password_field(users)) else {
        return Ok(None);
    };
    let key = to_sql_value(users.primary_field().kind, user, app.store().dialect()).map_err(
        |problem| StoreError::InvalidValue {
            field: users.primary_key.clone(),
            problem,
        },
    )?;
    Ok(Some(
        Query::select()
            .expr(Expr::cust("1"))
            .from(Alias::new(users.table.clone()))
            .and_where(Expr::col(Alias::new(users.primary_key.clone())).eq(Expr::val(key)))
            .and_where(Expr::col(Alias::new(field.name.clone())).eq(Expr::val(hash.to_owned())))
            .to_owned(),
    ))
}

/// `requested` (space-separated) narrowed from `granted`; absent or blank
/// means all of `granted`. Asking for anything not granted is an error.
pub fn narrow(granted: &[String], requested: Option<&str>) -> Result<Vec<String>, SessionError> {
    let granted: BTreeSet<&str> = granted.iter().map(String::as_str).collect();
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(granted.into_iter().map(str::to_owned).collect()),
        Some(requested) => {
            let requested: BTreeSet<&str> = requested.split_whitespace().collect();
            if requested.is_subset(&granted) {
                Ok(requested.into_iter().map(str::to_owned).collect())
            } else {
                Err(SessionError::InvalidScope)
            }
        }
    }
}

/// Signs an access token for `user` in session `sid`, with the configured
/// user claims.
fn access_token(app: &App, user: &User, scope: &[String], sid: &str) -> Result<String, TokenError> {
    let mut extra = Map::new();
    if let Some(auth) = &app.config().auth {
        for claim in &auth.user_claims {
            if let Some(value) = user.principal.attributes.get(claim) {
                extra.insert(
                    claim.clone(),
                    crate::rows::output::to_json(FieldKind::Text, value),
                );
            }
        }
    }
    let subject = match &user.id {
        warden_policy::Value::Text(text) => text.clone(),
        other => other.to_string(),
    };
    let (token, _) = app.tokens().issue(&subject, scope, Some(sid), extra)?;
    Ok(token)
}

/// Starts a refresh-token family for a freshly authenticated user and
/// issues its first tokens. `scope` is already narrowed. `verified_hash`:
/// the password hash the login verified, which must still be stored.
pub async fn start_token_family(
    app: &App,
    user: &User,
    scope: Vec<String>,
    verified_hash: Option<&str>,
) -> Result<IssuedTokens, SessionError> {
    let users = users(app)?;
    let now = crate::timestamp::unix_seconds();
    app.store().delete_expired_sessions(now).await?;
    let row = SessionRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        kind: SessionKind::Token,
        csrf_token: None,
        scope: scope.join(" "),
        created_at: now,
        last_seen_at: now,
        expires_at: family_expiry(app, now, now),
    };
    let refresh_token = secret::generate();
    let started = app
        .store()
        .create_session(
            NewSession {
                row: &row,
                secret_hash: None,
            },
            Some(&secret::digest(&refresh_token)),
            users.primary_field().kind,
            password_still_stored(app, users, &user.id, verified_hash)?,
        )
        .await?;
    if !started {
        return Err(SessionError::PasswordChanged);
    }
    Ok(IssuedTokens {
        access_token: access_token(app, user, &scope, &row.id)?,
        expires_in: app.tokens().ttl.as_secs(),
        refresh_token,
        scope,
    })
}

/// RFC 6749 §6: trades a refresh token for new tokens, rotating it.
pub async fn refresh(
    app: &App,
    refresh_token: &str,
    requested_scope: Option<&str>,
) -> Result<IssuedTokens, SessionError> {
    let users = users(app)?;
    let key_kind = users.primary_field().kind;
    let now = crate::timestamp::unix_seconds();
    let digest = secret::digest(refresh_token);
    let Some(stored) = app.store().refresh_token(&digest, key_kind).await? else {
        return Err(SessionError::InvalidGrant("unknown refresh token"));
    };
    if stored.spent {
        return Err(revoke_on_reuse(app, &stored.family_id).await);
    }
    if stored.expires_at < now {
        return Err(SessionError::InvalidGrant("expired refresh token"));
    }
    let Some(mut session) = app
        .store()
        .session_by_id(&stored.family_id, key_kind)
        .await?
    else {
        return Err(SessionError::InvalidGrant("the session has ended"));
    };
    // Families started before `refresh_max_age` existed may have slid past it.
    if family_expiry(app, session.created_at, now) < now {
        app.store().delete_session(&session.id).await?;
        return Err(SessionError::InvalidGrant(
            "the session reached refresh_max_age",
        ));
    }
    let family_scope: Vec<String> = session
        .scope
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let scope = narrow(&family_scope, requested_scope)?;
    let subject = match &stored.user_id {
        warden_policy::Value::Text(text) => text.clone(),
        other => other.to_string(),
    };
    let Some(user) = load_user(app.config(), app.store(), &subject, None).await? else {
        app.store().delete_session(&session.id).await?;
        return Err(SessionError::InvalidGrant(
            "the user is gone or deactivated",
        ));
    };
    // Never more than the user holds now, even within the family's scope.
    let scope: Vec<String> = scope
        .into_iter()
        .filter(|s| user.principal.scopes.contains(s))
        .collect();
    let next = secret::generate();
    session.expires_at = family_expiry(app, session.created_at, now);
    let rotated = app
        .store()
        .rotate_refresh_token(&digest, &secret::digest(&next), &session, key_kind, now)
        .await?;
    if !rotated {
        // Spent between our read and our write: a concurrent replay.
        return Err(revoke_on_reuse(app, &stored.family_id).await);
    }
    Ok(IssuedTokens {
        access_token: access_token(app, &user, &scope, &session.id)?,
        expires_in: app.tokens().ttl.as_secs(),
        refresh_token: next,
        scope,
    })
}

/// A spent refresh token came back: someone holds a copy. End the family.
async fn revoke_on_reuse(app: &App, family: &str) -> SessionError {
    tracing::warn!(session = %family, "refresh token reused; the session is revoked");
    match app.store().delete_session(family).await {
        Ok(_) => SessionError::InvalidGrant("refresh token reused; session revoked"),
        Err(error) => SessionError::Store(error),
    }
}

/// Starts a cookie session with its CSRF token. `verified_hash`: the
/// password hash the login verified, which must still be stored.
pub async fn start_cookie_session(
    app: &App,
    user: &User,
    verified_hash: Option<&str>,
) -> Result<CookieSession, SessionError> {
    let users = users(app)?;
    let now = crate::timestamp::unix_seconds();
    let ttl = app
        .config()
        .auth
        .as_ref()
        .map_or(0, |auth| seconds(auth.session_ttl));
    app.store().delete_expired_sessions(now).await?;
    let cookie = secret::generate();
    let row = SessionRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        kind: SessionKind::Cookie,
        csrf_token: Some(secret::generate()),
        scope: String::new(),
        created_at: now,
        last_seen_at: now,
        expires_at: now.saturating_add(ttl),
    };
    let started = app
        .store()
        .create_session(
            NewSession {
                row: &row,
                secret_hash: Some(&secret::digest(&cookie)),
            },
            None,
            users.primary_field().kind,
            password_still_stored(app, users, &user.id, verified_hash)?,
        )
        .await?;
    if !started {
        return Err(SessionError::PasswordChanged);
    }
    Ok(CookieSession {
        secret: cookie,
        row,
    })
}

/// Activity is written at most this often per session, so the idle
/// timeout is exact to within this many seconds.
const TOUCH_EVERY_SECONDS: i64 = 30;

/// The live cookie session named by `cookie`, with its activity recorded;
/// `None` when unknown, idle too long or past its absolute expiry (an
/// ended session is deleted on sight).
pub async fn cookie_session(app: &App, cookie: &str) -> Result<Option<SessionRow>, SessionError> {
    let (Some(auth), Ok(users)) = (&app.config().auth, users(app)) else {
        return Ok(None);
    };
    let now = crate::timestamp::unix_seconds();
    let Some(session) = app
        .store()
        .session_by_secret(&secret::digest(cookie), users.primary_field().kind)
        .await?
    else {
        return Ok(None);
    };
    let idle_until = session
        .last_seen_at
        .saturating_add(seconds(auth.session_idle));
    if session.kind != SessionKind::Cookie || session.expires_at < now || idle_until < now {
        app.store().delete_session(&session.id).await?;
        return Ok(None);
    }
    if now - session.last_seen_at >= TOUCH_EVERY_SECONDS {
        app.store().touch_session(&session.id, now).await?;
    }
    Ok(Some(session))
}

/// Ends a session and its refresh tokens.
pub async fn end(app: &App, id: &str) -> Result<bool, SessionError> {
    Ok(app.store().delete_session(id).await?)
}

/// Ends every session of `user` (logout everywhere); returns how many.
pub async fn end_all(app: &App, user: &Value) -> Result<u64, SessionError> {
    let users = users(app)?;
    Ok(app
        .store()
        .delete_user_sessions(user, users.primary_field().kind, None)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_narrows_but_never_widens() {
        let granted = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(narrow(&granted, None).ok(), Some(granted.clone()));
        assert_eq!(narrow(&granted, Some("  ")).ok(), Some(granted.clone()));
        assert_eq!(narrow(&granted, Some("b")).ok(), Some(vec!["b".to_owned()]));
        assert!(matches!(
            narrow(&granted, Some("a c")),
            Err(SessionError::InvalidScope)
        ));
    }
}
