//! `/auth/*`: the OAuth2 token endpoint (RFC 6749 §4.3 password grant and
//! §6 refresh, answered per §5.1 and §5.2), registration, cookie login and
//! logout, the HTML login page, and `GET /auth/me`. Handlers translate
//! HTTP to `auth` calls and back; they must not check passwords, touch
//! session rows or decide scopes themselves.
//!
//! The password grant is legacy (RFC 9700 §2.4); it is offered because the
//! seed applications use it, beside cookie sessions for browsers.

use crate::app::App;
use crate::auth::accounts;
use crate::auth::caller::{Caller, SESSION_COOKIE, User, Via};
use crate::auth::client::Client;
use crate::auth::csrf;
use crate::auth::login::{self, LoginError};
use crate::auth::session::{self, IssuedTokens, SessionError};
use crate::config::FieldKind;
use crate::problem::{Kind, Problem};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{Map, Value as Json_, json};

/// The token request, form-encoded (RFC 6749 §4.3.2 and §6). Client
/// credentials may be sent in the body; this server has no registered
/// clients, so they are accepted and ignored.
#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    scope: Option<String>,
    refresh_token: Option<String>,
}

/// RFC 6749 §3.2: a parameter sent without a value counts as omitted.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
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

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The §5.2 answer for a failed grant, or a problem for other failures.
fn grant_error(error: SessionError) -> Response {
    match error {
        SessionError::InvalidGrant(reason) => {
            tracing::info!(reason, "token request refused: invalid_grant");
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the refresh token is invalid, expired, or revoked",
            )
        }
        SessionError::InvalidScope => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "the requested scope exceeds the scope granted",
        ),
        SessionError::PasswordChanged => wrong_password(),
        other => Problem::from(other).into_response(),
    }
}

/// The §5.2 answer for a wrong username or password (the same for an
/// unknown user).
fn wrong_password() -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "the username or password is wrong",
    )
}

fn token_answer(issued: IssuedTokens) -> Response {
    let mut response = Json(json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "refresh_token": issued.refresh_token,
        "scope": issued.scope.join(" "),
    }))
    .into_response();
    no_store(&mut response);
    response
}

/// `POST /auth/token`.
pub async fn token(
    State(app): State<App>,
    client: Client,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(request)) = form else {
        return invalid_request(
            "send the parameters form-encoded (application/x-www-form-urlencoded), each at most once",
        );
    };
    match given(request.grant_type).as_deref() {
        Some("password") => {
            let (Some(username), Some(secret)) = (given(request.username), given(request.password))
            else {
                return invalid_request("username and password are required");
            };
            let login = match login::authenticate(&app, &username, &secret, client.address).await {
                Ok(login) => login,
                Err(LoginError::InvalidCredentials) => return wrong_password(),
                Err(other) => return Problem::from(other).into_response(),
            };
            let user = &login.user;
            let scope = match session::narrow(&user.principal.scopes, request.scope.as_deref()) {
                Ok(scope) => scope,
                Err(error) => return grant_error(error),
            };
            match session::start_token_family(&app, user, scope, Some(&login.password_hash)).await {
                Ok(issued) => token_answer(issued),
                Err(error) => grant_error(error),
            }
        }
        Some("refresh_token") => {
            let Some(refresh_token) = given(request.refresh_token) else {
                return invalid_request("refresh_token is required");
            };
            match session::refresh(&app, &refresh_token, request.scope.as_deref()).await {
                Ok(issued) => token_answer(issued),
                Err(error) => grant_error(error),
            }
        }
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "this server supports the password and refresh_token grants",
        ),
        None => invalid_request("grant_type is required"),
    }
}

/// `POST /auth/register`: 201 with the new user (never its hash).
pub async fn register(
    State(app): State<App>,
    client: Client,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let body = json_body(&headers, &body)?;
    let user = accounts::register(app.config(), app.store(), body, client.address).await?;
    Ok((StatusCode::CREATED, Json(Json_::Object(user))).into_response())
}

fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Json_, Problem> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
    if !is_json {
        return Err(Problem::new(
            Kind::UnsupportedMediaType,
            "send the body as application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Problem::new(Kind::MalformedBody, format!("malformed JSON: {e}")))
}

/// Login credentials, JSON or form-encoded. The login name may be sent as
/// `login`, `username`, or under the configured login field's name.
#[derive(Debug, Default)]
struct LoginRequest {
    login: Option<String>,
    password: Option<String>,
    /// Where a browser goes after a form login (a local path only).
    next: Option<String>,
}

impl LoginRequest {
    fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>, login_field: &str) -> Self {
        let mut request = LoginRequest::default();
        for (key, value) in pairs {
            match key.as_str() {
                "password" => request.password = Some(value),
                "next" => request.next = Some(value),
                "login" | "username" => request.login = Some(value),
                other if other == login_field => request.login = Some(value),
                _ => {}
            }
        }
        request
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// `POST /auth/login`: starts a cookie session, unless another site's
/// page sent the login (`auth::csrf::login_from_this_site`).
pub async fn login(
    State(app): State<App>,
    client: Client,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let auth = app.config().auth.as_ref();
    csrf::login_from_this_site(&headers, &uri, auth.is_some_and(|a| a.trust_proxy_headers))?;
    let login_field = auth.map_or("login", |auth| auth.login.as_str()).to_owned();
    let form = is_form(&headers);
    let request = if form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|e| Problem::new(Kind::MalformedBody, format!("malformed form: {e}")))?;
        LoginRequest::from_pairs(pairs, &login_field)
    } else {
        let Json_::Object(object) = json_body(&headers, &body)? else {
            return Err(Problem::new(
                Kind::MalformedBody,
                "the body must be a JSON object",
            ));
        };
        let pairs = object.into_iter().filter_map(|(key, value)| match value {
            Json_::String(text) => Some((key, text)),
            _ => None,
        });
        LoginRequest::from_pairs(pairs, &login_field)
    };
    let (Some(name), Some(secret)) = (request.login, request.password) else {
        return Err(Problem::new(
            Kind::Validation,
            format!("send `{login_field}` (or `login`) and `password`"),
        ));
    };
    let browser = form && wants_html(&headers);
    let login = match login::authenticate(&app, &name, &secret, client.address).await {
        Ok(login) => login,
        Err(LoginError::InvalidCredentials) if browser => {
            return Ok(crate::ui::login_page(
                &app,
                &headers,
                request.next.as_deref(),
                Some("Wrong login or password."),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let user = login.user;
    let started = session::start_cookie_session(&app, &user, Some(&login.password_hash)).await?;
    let cookie = session_cookie(&app, &client, &started.secret);
    let mut response = if browser {
        let mut redirect = StatusCode::SEE_OTHER.into_response();
        let next = crate::ui::redirect::local_path(request.next.as_deref(), "/");
        if let Ok(location) = HeaderValue::from_str(&next) {
            redirect.headers_mut().insert(header::LOCATION, location);
        }
        redirect
    } else {
        Json(principal_json(
            &app,
            &user,
            started.row.csrf_token.as_deref(),
        ))
        .into_response()
    };
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    no_store(&mut response);
    tracing::info!(user = %user.id, "cookie session started");
    Ok(response)
}

/// `Set-Cookie` for a session: HttpOnly, SameSite=Lax, Path=/, lasting the
/// session's absolute lifetime, Secure over HTTPS (or as configured).
fn session_cookie(app: &App, client: &Client, value: &str) -> String {
    let auth = app.config().auth.as_ref();
    let max_age = auth.map_or(0, |a| a.session_ttl.as_secs());
    let secure = auth.and_then(|a| a.cookie_secure).unwrap_or(client.https);
    format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The query of `POST /auth/logout`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogoutParams {
    /// End every session of the caller's account, not only this one.
    #[serde(default)]
    everywhere: bool,
}

/// `POST /auth/logout`: ends the caller's session (a cookie session, or
/// the refresh-token family behind a bearer token, which also ends every
/// access token issued in it) and clears the cookie. 204 either way;
/// a browser's form post is sent on to the login page instead. With
/// `?everywhere=true`, every session and refresh-token family of the
/// caller's account ends (a lost device, a leaked token); that needs a
/// caller (401 without one).
pub async fn logout(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let params: LogoutParams =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).map_err(|e| {
            Problem::new(
                Kind::InvalidQuery,
                format!("{e}; the parameter is everywhere=true|false"),
            )
        })?;
    if params.everywhere {
        let Some(user) = &caller.user else {
            return Err(Problem::unauthenticated("log in to end your sessions"));
        };
        let ended = session::end_all(&app, &user.id).await?;
        tracing::info!(user = %user.id, ended, "every session ended by logout");
    } else if let Some(session) = &caller.session {
        session::end(&app, &session.id).await?;
        tracing::info!(via = ?session.via, "session ended by logout");
    }
    let mut response = if is_form(&headers) && wants_html(&headers) {
        crate::ui::logged_out()
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    if let Ok(clear) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    no_store(&mut response);
    Ok(response)
}

/// The principal as `/auth/me` and `/auth/login` show it.
/// Rules see every column of the user's row; this shows only what the
/// API would show the user on their own row: no `hidden` field, and a
/// field with a `read` rule only when that rule holds in memory (one that
/// needs other rows is left out).
fn principal_json(app: &App, user: &User, csrf_token: Option<&str>) -> Json_ {
    let users = app.config().users_resource();
    let field_rules = users.and_then(|u| app.policy().resource(&u.name));
    let own_row: warden_policy::Row = user
        .principal
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let shown = |name: &str| {
        let Some(field) = users.and_then(|u| u.field(name)) else {
            return true;
        };
        if field.hidden || field.kind == FieldKind::Password {
            return false;
        }
        field_rules
            .and_then(|p| p.fields.iter().find(|(f, _)| f == name))
            .is_none_or(|(_, rule)| {
                rule.evaluate(&warden_policy::Env::new(
                    Some(&user.principal),
                    Some(&own_row),
                ))
            })
    };
    let mut attributes = Map::new();
    for (name, value) in user.principal.attributes.iter().filter(|(n, _)| shown(n)) {
        attributes.insert(
            name.clone(),
            crate::rows::output::to_json(FieldKind::Text, value),
        );
    }
    let mut body = json!({
        "id": crate::rows::output::to_json(FieldKind::Text, &user.id),
        "user": attributes,
        "scopes": user.principal.scopes,
        "roles": user.principal.roles,
    });
    if let (Some(token), Some(object)) = (csrf_token, body.as_object_mut()) {
        object.insert("csrf_token".to_owned(), json!(token));
    }
    body
}

/// `GET /auth/me`: the caller with scopes and roles, never a secret; the
/// CSRF token when the caller came by cookie.
pub async fn me(State(app): State<App>, caller: Caller) -> Result<Response, Problem> {
    let Some(user) = &caller.user else {
        return Err(Problem::unauthenticated("log in to see who you are"));
    };
    let csrf = caller
        .session
        .as_ref()
        .filter(|s| s.via == Via::Cookie)
        .and_then(|s| s.csrf_token.as_deref());
    let mut response = Json(principal_json(&app, user, csrf)).into_response();
    no_store(&mut response);
    Ok(response)
}
