//! Who is calling, per request: a bearer token verified and its user
//! loaded fresh from the database (so deleted or deactivated users and
//! revoked grants take effect at once). No header means anonymous; a bad
//! one is a 401, never silently anonymous.

use crate::api::problem::{Kind, Problem};
use crate::app::App;
use crate::auth::token::TokenError;
use crate::config::{Config, FieldKind, ResourceDef};
use crate::store::{Row, Store, select_all};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sea_query::{Alias, Expr, ExprTrait};
use std::collections::BTreeSet;
use warden_policy::{Principal, Value};

/// The request's caller; `user` is `None` for anonymous requests.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user: Option<User>,
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
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Ok(Caller::default());
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                Problem::new(
                    Kind::InvalidToken,
                    "the Authorization header must be `Bearer <token>`",
                )
            })?;
        let claims = app.tokens().verify(token).map_err(|e| match e {
            TokenError::Expired => Problem::new(Kind::InvalidToken, "the access token expired"),
            _ => Problem::new(Kind::InvalidToken, "the access token is invalid"),
        })?;
        let token_scopes: BTreeSet<&str> = claims.scope.split_whitespace().collect();
        let user = load_user(app.config(), app.store(), &claims.sub, Some(&token_scopes))
            .await?
            .ok_or_else(|| {
                Problem::new(
                    Kind::InvalidToken,
                    "the token's user no longer exists or is deactivated",
                )
            })?;
        Ok(Caller { user: Some(user) })
    }
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
) -> Result<Option<User>, Problem> {
    let Some(users) = config.users_resource() else {
        return Ok(None);
    };
    let Some(id) = parse_key(users, subject) else {
        return Ok(None);
    };
    let Some(row) = fetch_user_row(store, users, &id)
        .await
        .map_err(|e| Problem::internal(&e))?
    else {
        return Ok(None);
    };
    if row
        .get("active")
        .is_some_and(|active| matches!(active, Value::Bool(false)))
    {
        return Ok(None);
    }
    let grants = store
        .grants(&id, users.primary_field().kind)
        .await
        .map_err(|e| Problem::internal(&e))?;
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
    Ok(Some(User { id, principal }))
}

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
) -> Result<Option<Row>, crate::store::StoreError> {
    let key = crate::store::to_sql_value(users.primary_field().kind, id, store.dialect()).map_err(
        |problem| crate::store::StoreError::InvalidValue {
            field: users.primary_key.clone(),
            problem,
        },
    )?;
    let mut select = select_all(users);
    select.and_where(
        Expr::col((
            Alias::new(users.table.clone()),
            Alias::new(users.primary_key.clone()),
        ))
        .eq(Expr::val(key)),
    );
    Ok(store.fetch_rows(users, &select).await?.into_iter().next())
}
