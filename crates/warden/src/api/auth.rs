//! `/auth/*`: the OAuth2 password grant (RFC 6749 §4.3; answers per §5.1
//! and §5.2) and `GET /auth/me`. Credentials are checked in constant time
//! against a dummy hash for unknown users, so the answer and its timing
//! say nothing about which part was wrong.

use super::problem::Problem;
use crate::app::App;
use crate::auth::caller::{Caller, load_user};
use crate::auth::password;
use crate::config::FieldKind;
use crate::store::select_all;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use sea_query::{Alias, Expr, ExprTrait};
use serde::Deserialize;
use serde_json::{Map, json};
use std::collections::BTreeSet;
use warden_policy::Value;

/// The token request, form-encoded (RFC 6749 §4.3.2).
#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    scope: Option<String>,
}

/// An RFC 6749 §5.2 error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    no_store(&mut response);
    response
}

fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

pub async fn token(
    State(app): State<App>,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(request)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send grant_type, username and password form-encoded",
        );
    };
    match request.grant_type.as_deref() {
        Some("password") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "this server supports the password grant",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
    }
    let (Some(username), Some(secret)) = (request.username, request.password) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "username and password are required",
        );
    };
    let invalid_grant = || {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the username or password is wrong",
        )
    };
    let subject = match check_credentials(&app, &username, &secret).await {
        Ok(Some(subject)) => subject,
        Ok(None) => return invalid_grant(),
        Err(problem) => return problem.into_response(),
    };
    let user = match load_user(app.config(), app.store(), &subject, None).await {
        Ok(Some(user)) => user,
        Ok(None) => return invalid_grant(),
        Err(problem) => return problem.into_response(),
    };
    let granted: BTreeSet<String> = user.principal.scopes.iter().cloned().collect();
    let scopes: Vec<String> = match request
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => granted.iter().cloned().collect(),
        Some(requested) => {
            let requested: BTreeSet<String> =
                requested.split_whitespace().map(str::to_owned).collect();
            if !requested.is_subset(&granted) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "the requested scope exceeds the scopes granted to this user",
                );
            }
            requested.into_iter().collect()
        }
    };
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
    let (access_token, _) = match app.tokens().issue(&subject, &scopes, extra) {
        Ok(issued) => issued,
        Err(error) => return Problem::internal(&error).into_response(),
    };
    let mut response = Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": app.tokens().ttl.as_secs(),
        "scope": scopes.join(" "),
    }))
    .into_response();
    no_store(&mut response);
    response
}

/// The subject (user key as text) when the login and password match.
pub async fn check_credentials(
    app: &App,
    login: &str,
    secret: &str,
) -> Result<Option<String>, Problem> {
    let config = app.config();
    let (Some(auth), Some(users)) = (&config.auth, config.users_resource()) else {
        return Ok(None);
    };
    let Some(password_field) = users
        .fields
        .values()
        .find(|f| f.kind == FieldKind::Password)
    else {
        return Ok(None);
    };
    let mut select = select_all(users);
    select.and_where(
        Expr::col((
            Alias::new(users.table.clone()),
            Alias::new(auth.login.clone()),
        ))
        .eq(Expr::val(login.to_owned())),
    );
    let row = app
        .store()
        .fetch_rows(users, &select)
        .await
        .map_err(|e| Problem::internal(&e))?
        .into_iter()
        .next();
    let stored_hash = match row.as_ref().and_then(|r| r.get(&password_field.name)) {
        Some(Value::Text(hash)) => Some(hash.clone()),
        _ => None,
    };
    let matches = password::verify_or_dummy(secret.to_owned(), stored_hash)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(match (matches, row) {
        (true, Some(row)) => row.get(&users.primary_key).map(|k| match k {
            Value::Text(s) => s.clone(),
            other => other.to_string(),
        }),
        _ => None,
    })
}

/// `GET /auth/me`: the caller with scopes and roles, never a secret.
pub async fn me(caller: Caller) -> Result<Response, Problem> {
    let Some(user) = caller.user else {
        return Err(Problem::unauthenticated("log in to see who you are"));
    };
    let mut attributes = Map::new();
    for (name, value) in &user.principal.attributes {
        attributes.insert(
            name.clone(),
            crate::rows::output::to_json(FieldKind::Text, value),
        );
    }
    Ok(Json(json!({
        "id": crate::rows::output::to_json(FieldKind::Text, &user.id),
        "user": attributes,
        "scopes": user.principal.scopes,
        "roles": user.principal.roles,
    }))
    .into_response())
}
