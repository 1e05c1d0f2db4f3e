//! Who is calling, per request: a bearer token verified and its user
//! loaded fresh from the database (so deleted or deactivated users and
//! revoked grants take effect at once), its session checked (so logout and
//! refresh-token reuse end it); or, without an `Authorization` header, a
//! session cookie, which on unsafe methods must come with the session's
//! CSRF token. No credential means anonymous; a bad bearer token is a 401,
//! never silently anonymous. A stale cookie counts as no cookie, because
//! browsers keep sending it to public pages.

use super::secret;
use super::session;
use crate::app::App;
use crate::config::{Config, FieldKind, ResourceDef};
use crate::store::{Row, Store, StoreError, select_all};
use crate::token::TokenError;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use sea_query::{Alias, Expr, ExprTrait, Query};
use std::collections::BTreeSet;
use warden_policy::{Principal, Value};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "warden_session";
/// The header carrying the CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Why a request's credential was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    #[error("the Authorization header must be `Bearer <token>`")]
    MalformedHeader,
    #[error("the access token expired")]
    Expired,
    #[error("the access token is invalid")]
    InvalidToken,
    #[error("the token's user no longer exists or is deactivated")]
    NoSuchUser,
    #[error("the access token's session has ended")]
    SessionEnded,
    #[error(
        "a cookie-authenticated write needs the session's CSRF token in the X-CSRF-Token header (or a csrf_token form field)"
    )]
    MissingCsrfToken,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Session(#[from] session::SessionError),
}

impl From<TokenError> for CallerError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Expired => CallerError::Expired,
            _ => CallerError::InvalidToken,
        }
    }
}

/// The request's caller; `user` is `None` for anonymous requests.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user: Option<User>,
    /// The session the credential belongs to, when it names one.
    pub session: Option<CallerSession>,
}

/// The session behind a request's credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerSession {
    pub id: String,
    pub via: Via,
    /// The CSRF token pages must send back (cookie sessions only).
    pub csrf_token: Option<String>,
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Bearer,
    Cookie,
}

/// An authenticated user as rules see them.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Value,
    pub principal: Principal,
}

impl Caller {
    pub fn principal(&self) -> Option<&Principal> {
        self.user.as_ref().map(|u| &u.principal)
    }

    pub fn is_anonymous(&self) -> bool {
        self.user.is_none()
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = CallerError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer_token(parts, app) {
            return bearer(app, token?).await;
        }
        match session_cookie(&parts.headers) {
            // Boxed, for the reason `bearer` boxes its load.
            Some(cookie) => {
                Box::pin(cookie_caller(app, &cookie, &parts.method, &parts.headers)).await
            }
            None => Ok(Caller::default()),
        }
    }
}

/// The bearer token of the `Authorization` header, if there is one; a
/// header in another form is an error.
fn bearer_token<'p>(parts: &'p Parts, app: &App) -> Option<Result<&'p str, CallerError>> {
    let header = parts.headers.get(AUTHORIZATION)?;
    let extra = app
        .config()
        .auth
        .as_ref()
        .and_then(|a| a.token_scheme.as_deref());
    Some(
        header
            .to_str()
            .ok()
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| {
                scheme.eq_ignore_ascii_case("bearer")
                    || extra.is_some_and(|extra| scheme.eq_ignore_ascii_case(extra))
            })
            .map(|(_, token)| token.trim())
            .ok_or(CallerError::MalformedHeader),
    )
}

async fn bearer(app: &App, token: &str) -> Result<Caller, CallerError> {
    let claims = app.tokens().verify(token)?;
    let token_scopes: BTreeSet<&str> = claims.scope.split_whitespace().collect();
    // The session check rides along in the user's query: one round trip.
    // Boxed: an awaited future is held inline by its caller, so the load
    // would otherwise make every handler's future that extracts a caller
    // several kilobytes, moved whole into axum's box on every request.
    let loaded = Box::pin(load(
        app.config(),
        app.store(),
        &claims.sub,
        Some(&token_scopes),
        claims.sid.as_deref(),
    ))
    .await?
    .ok_or(CallerError::NoSuchUser)?;
    if !loaded.session_live {
        return Err(CallerError::SessionEnded);
    }
    Ok(Caller {
        user: Some(loaded.user),
        session: claims.sid.clone().map(|id| CallerSession {
            id,
            via: Via::Bearer,
            csrf_token: None,
        }),
    })
}

async fn cookie_caller(
    app: &App,
    cookie: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Caller, CallerError> {
    let Some(session) = session::cookie_session(app, cookie).await? else {
        return Ok(Caller::default());
    };
    if !method.is_safe() {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let expected = session.csrf_token.as_deref();
        let matches = matches!((sent, expected), (Some(sent), Some(expected)) if secret::same(sent, expected));
        if !matches {
            return Err(CallerError::MissingCsrfToken);
        }
    }
    let subject = match &session.user_id {
        Value::Text(text) => text.clone(),
        other => other.to_string(),
    };
    let Some(user) = load_user(app.config(), app.store(), &subject, None).await? else {
        session::end(app, &session.id).await?;
        return Ok(Caller::default());
    };
    Ok(Caller {
        user: Some(user),
        session: Some(CallerSession {
            id: session.id,
            via: Via::Cookie,
            csrf_token: session.csrf_token,
        }),
    })
}

/// The value of the session cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|value| !value.is_empty())
}

/// Loads a user by the token subject: their row (without secrets) as
/// `user.<attr>`, their roles, and their current scopes, narrowed to
/// `token_scopes` when the credential carries a scope set. `None` when the
/// user does not exist or is deactivated.
pub async fn load_user(
    config: &Config,
    store: &Store,
    subject: &str,
    token_scopes: Option<&BTreeSet<&str>>,
) -> Result<Option<User>, StoreError> {
    Ok(load(config, store, subject, token_scopes, None)
        .await?
        .map(|loaded| loaded.user))
}

/// A user as loaded for a credential.
struct Loaded {
    user: User,
    /// Whether the credential's session (if it names one) is live.
    session_live: bool,
}

/// [`load_user`], also answering whether session `sid` (when the
/// credential names one) is still live, in the same statement.
async fn load(
    config: &Config,
    store: &Store,
    subject: &str,
    token_scopes: Option<&BTreeSet<&str>>,
    sid: Option<&str>,
) -> Result<Option<Loaded>, StoreError> {
    let Some(users) = config.users_resource() else {
        return Ok(None);
    };
    let Some(id) = parse_key(users, subject) else {
        return Ok(None);
    };
    let Some(row) = fetch_user_row(store, users, &id, sid).await? else {
        return Ok(None);
    };
    let session_live = sid.is_none() || matches!(row.get(SESSION_FLAG), Some(Value::Bool(true)));
    if row
        .get("active")
        .is_some_and(|active| matches!(active, Value::Bool(false)))
    {
        return Ok(None);
    }
    let mut grants = crate::store::Grants {
        scopes: words(row.get("w_text_scopes")),
        roles: words(row.get("w_text_roles")),
    };
    grants.roles.sort();
    let mut current: BTreeSet<String> = grants.scopes.iter().cloned().collect();
    if let Some(auth) = &config.auth {
        for role in &grants.roles {
            if let Some(scopes) = auth.roles.get(role) {
                current.extend(scopes.iter().cloned());
            }
        }
    }
    let scopes: Vec<String> = match token_scopes {
        Some(narrowed) => current
            .into_iter()
            .filter(|s| narrowed.contains(s.as_str()))
            .collect(),
        None => current.into_iter().collect(),
    };
    let mut principal = Principal {
        scopes,
        roles: grants.roles,
        ..Principal::default()
    };
    for (name, value) in row {
        let secret = users
            .field(&name)
            .is_none_or(|f| f.kind == FieldKind::Password);
        if !secret {
            principal.attributes.insert(name, value);
        }
    }
    principal.attributes.insert("id".to_owned(), id.clone());
    Ok(Some(Loaded {
        user: User { id, principal },
        session_live,
    }))
}

/// The computed column saying whether the credential's session is live.
const SESSION_FLAG: &str = "w_flag_session";

/// The users resource's key value written in a token subject.
pub fn parse_key(users: &ResourceDef, subject: &str) -> Option<Value> {
    match users.primary_field().kind {
        FieldKind::Integer => subject.parse().ok().map(Value::Int),
        _ => Some(Value::Text(subject.to_owned())),
    }
}

async fn fetch_user_row(
    store: &Store,
    users: &ResourceDef,
    id: &Value,
    sid: Option<&str>,
) -> Result<Option<Row>, StoreError> {
    let key = crate::store::to_sql_value(users.primary_field().kind, id, store.dialect()).map_err(
        |problem| StoreError::InvalidValue {
            field: users.primary_key.clone(),
            problem,
        },
    )?;
    let mut select = select_all(users);
    crate::store::select_grants(
        &mut select,
        &users.table,
        &users.primary_key,
        store.dialect(),
    );
    if let Some(sid) = sid {
        select.expr_as(
            session_live(sid, crate::timestamp::unix_seconds()),
            SESSION_FLAG,
        );
    }
    select.and_where(
        Expr::col((
            Alias::new(users.table.clone()),
            Alias::new(users.primary_key.clone()),
        ))
        .eq(Expr::val(key)),
    );
    Ok(store.fetch_rows(users, &select).await?.into_iter().next())
}

/// `EXISTS (SELECT 1 FROM sessions WHERE id = sid AND expires_at >= now)`.
fn session_live(sid: &str, now: i64) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::cust("1"))
            .from(crate::store::ddl::SESSIONS_TABLE)
            .and_where(Expr::col("id").eq(Expr::val(sid.to_owned())))
            .and_where(Expr::col("expires_at").gte(Expr::val(now)))
            .to_owned(),
    )
}

/// Space-separated names (an aggregate of grants) as a list.
fn words(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Text(text)) => text.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}
