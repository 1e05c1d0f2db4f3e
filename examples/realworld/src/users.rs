//! `POST /users` (register), `POST /users/login`, `GET /user`, `PUT
//! /user`. Accounts are written through warden (the users rules; the
//! password hashed by warden) and tokens come from warden's sessions.

use crate::errors::{ApiError, required};
use crate::session::{Auth, user_id};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use warden::{LoginError, PasswordError, Principal, Warden};

#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    user: T,
}

#[derive(Debug, Deserialize)]
pub struct NewUser {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginUser {
    email: Option<String>,
    password: Option<String>,
}

/// The fields a user may change on themselves, and `current_password`,
/// which warden needs beside a new `password` (not in the RealWorld spec:
/// without it a stolen token could take the account over).
const UPDATABLE: [&str; 6] = [
    "email",
    "password",
    "username",
    "bio",
    "image",
    "current_password",
];

/// `POST /users`: 201 with the new user and a token; 409 when the
/// username or email is taken; 422 for missing fields.
pub async fn register(
    State(warden): State<Warden>,
    body: Result<Json<Envelope<NewUser>>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(Envelope { user }) = body?;
    let [username, email, password] = required([
        ("username", user.username),
        ("email", user.email),
        ("password", user.password),
    ])?;
    warden
        .guard(None)
        .create(
            "users",
            json!({ "username": username, "email": email, "password": password }),
        )
        .await
        .map_err(ApiError::on("user"))?;
    let principal = warden
        .log_in(&email, &password, None)
        .await
        .map_err(login_refused)?;
    let token = warden
        .issue_token(&principal)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok((
        StatusCode::CREATED,
        Json(user_body(&warden, &principal, &token).await?),
    ))
}

/// `POST /users/login`: 401 when the email or password is wrong.
pub async fn login(
    State(warden): State<Warden>,
    body: Result<Json<Envelope<LoginUser>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(Envelope { user }) = body?;
    let [email, password] = required([("email", user.email), ("password", user.password)])?;
    let principal = warden
        .log_in(&email, &password, None)
        .await
        .map_err(login_refused)?;
    let token = warden
        .issue_token(&principal)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(user_body(&warden, &principal, &token).await?))
}

/// `GET /user`.
pub async fn current(State(warden): State<Warden>, auth: Auth) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        user_body(&warden, &auth.principal, &auth.token).await?,
    ))
}

/// `PUT /user`: changes the given fields (the users `update` rule lets
/// each user change only themselves); 409 for a taken username or email.
/// A blank `bio` or `image` is stored as `null`, as the spec asks.
pub async fn update(
    State(warden): State<Warden>,
    auth: Auth,
    body: Result<Json<Envelope<Map<String, Value>>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(Envelope { user: mut changes }) = body?;
    let unknown: Vec<(String, String)> = changes
        .keys()
        .filter(|key| !UPDATABLE.contains(&key.as_str()))
        .map(|key| (key.clone(), "cannot be changed".to_owned()))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid(unknown));
    }
    if changes.is_empty() {
        return Err(ApiError::invalid(vec![(
            "user".into(),
            "give at least one field to change".into(),
        )]));
    }
    let blank: Vec<(String, String)> = ["email", "username", "password"]
        .into_iter()
        .filter(|key| {
            changes
                .get(*key)
                .and_then(Value::as_str)
                .is_some_and(|v| v.trim().is_empty())
        })
        .map(|key| (key.to_owned(), "can't be blank".to_owned()))
        .collect();
    if !blank.is_empty() {
        return Err(ApiError::invalid(blank));
    }
    for key in ["bio", "image"] {
        if let Some(value) = changes.get_mut(key)
            && value.as_str().is_some_and(|v| v.trim().is_empty())
        {
            *value = Value::Null;
        }
    }
    warden
        .guard(Some(&auth.principal))
        .update("users", &auth.id.to_string(), Value::Object(changes), None)
        .await
        .map_err(ApiError::on("user"))?;
    Ok(Json(
        user_body(&warden, &auth.principal, &auth.token).await?,
    ))
}

/// `{"user": {email, token, username, bio, image}}` as the user reads
/// themselves through warden.
async fn user_body(warden: &Warden, principal: &Principal, token: &str) -> Result<Value, ApiError> {
    let item = warden
        .guard(Some(principal))
        .read("users", &user_id(principal)?.to_string())
        .await
        .map_err(ApiError::on("user"))?;
    let field = |name: &str| item.json.get(name).cloned().unwrap_or(Value::Null);
    Ok(json!({ "user": {
        "email": field("email"),
        "token": token,
        "username": field("username"),
        "bio": field("bio"),
        "image": field("image"),
    }}))
}

fn login_refused(error: LoginError) -> ApiError {
    match error {
        // One answer for a wrong email and a wrong password alike.
        LoginError::InvalidCredentials => {
            ApiError::new(StatusCode::UNAUTHORIZED, "credentials", "invalid")
        }
        LoginError::RateLimited(seconds) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "credentials",
            &format!("too many failed logins; retry in {seconds} s"),
        ),
        LoginError::Password(PasswordError::Overloaded) => ApiError::busy(),
        other => ApiError::internal(&other),
    }
}
