//! Every error the API answers, as `application/problem+json` (RFC 9457),
//! mapped in this one place. 401 carries `WWW-Authenticate: Bearer`
//! (RFC 6750 §3); 403 for a missing scope names the scope. Internal errors
//! are logged and answered without detail.

use crate::password::PasswordError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json, json};

/// A problem type: a stable URI per kind of error, a status and a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Unauthenticated,
    InvalidToken,
    InsufficientScope,
    Forbidden,
    NotFound,
    Validation,
    MalformedBody,
    UnknownFields,
    ReadonlyFields,
    Conflict,
    InvalidReference,
    PayloadTooLarge,
    PreconditionFailed,
    InvalidQuery,
    FilterTooComplex,
    UnsupportedMediaType,
    MethodNotAllowed,
    TooManyRequests,
    BadRequest,
    Overloaded,
    Timeout,
    Internal,
}

impl Kind {
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Unauthenticated => "unauthenticated",
            Kind::InvalidToken => "invalid-token",
            Kind::InsufficientScope => "insufficient-scope",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not-found",
            Kind::Validation => "validation",
            Kind::MalformedBody => "malformed-body",
            Kind::UnknownFields => "unknown-fields",
            Kind::ReadonlyFields => "readonly-fields",
            Kind::Conflict => "conflict",
            Kind::InvalidReference => "invalid-reference",
            Kind::PayloadTooLarge => "payload-too-large",
            Kind::PreconditionFailed => "precondition-failed",
            Kind::InvalidQuery => "invalid-query",
            Kind::FilterTooComplex => "filter-too-complex",
            Kind::UnsupportedMediaType => "unsupported-media-type",
            Kind::MethodNotAllowed => "method-not-allowed",
            Kind::TooManyRequests => "too-many-requests",
            Kind::BadRequest => "bad-request",
            Kind::Overloaded => "overloaded",
            Kind::Timeout => "timeout",
            Kind::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Kind::Unauthenticated | Kind::InvalidToken => StatusCode::UNAUTHORIZED,
            Kind::InsufficientScope | Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Validation
            | Kind::MalformedBody
            | Kind::UnknownFields
            | Kind::ReadonlyFields
            | Kind::InvalidQuery
            | Kind::FilterTooComplex
            | Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::InvalidReference => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Kind::Overloaded | Kind::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::Unauthenticated => "Authentication required",
            Kind::InvalidToken => "Invalid or expired credentials",
            Kind::InsufficientScope => "Insufficient scope",
            Kind::Forbidden => "Forbidden",
            Kind::NotFound => "Not found",
            Kind::Validation => "Invalid field values",
            Kind::MalformedBody => "Malformed request body",
            Kind::UnknownFields => "Unknown fields",
            Kind::ReadonlyFields => "Fields that cannot be written",
            Kind::Conflict => "Conflict with an existing row",
            Kind::InvalidReference => "Reference to a missing row",
            Kind::PayloadTooLarge => "Request body too large",
            Kind::PreconditionFailed => "The row changed since you read it",
            Kind::InvalidQuery => "Invalid query parameter",
            Kind::FilterTooComplex => "Filter too complex",
            Kind::UnsupportedMediaType => "Unsupported media type",
            Kind::MethodNotAllowed => "Method not allowed",
            Kind::TooManyRequests => "Too many requests",
            Kind::BadRequest => "Bad request",
            Kind::Overloaded => "Server busy",
            Kind::Timeout => "Request took too long",
            Kind::Internal => "Internal error",
        }
    }

    pub fn type_uri(self) -> String {
        format!("https://warden.dev/problems/{}", self.slug())
    }
}

/// One answered error.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: Kind,
    pub detail: String,
    /// Extension members (`errors`, `fields`, `scope`, …).
    pub extra: Map<String, Json>,
    /// Seconds for `Retry-After`, on 429.
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    pub fn with(mut self, key: &str, value: Json) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    pub fn not_found(resource: &str) -> Self {
        Self::new(Kind::NotFound, format!("no such {resource}"))
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(Kind::Unauthenticated, detail)
    }

    pub fn insufficient_scope(scopes: &[String]) -> Self {
        Self::new(
            Kind::InsufficientScope,
            format!("this needs the scope(s): {}", scopes.join(" ")),
        )
        .with("scope", json!(scopes.join(" ")))
    }

    /// 503 with `Retry-After: 1`: the argon2 queue is full.
    pub fn hashing_overloaded() -> Self {
        let mut problem = Self::new(
            Kind::Overloaded,
            "too many passwords are being checked at once; retry shortly",
        );
        problem.retry_after = Some(1);
        problem
    }

    /// 429 with `Retry-After`: an attempt budget is used up.
    pub fn too_many(detail: String, seconds: u64) -> Self {
        let mut problem = Self::new(Kind::TooManyRequests, detail);
        problem.retry_after = Some(seconds);
        problem
    }

    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(
            Kind::Internal,
            "the server could not complete the request; it has been logged",
        )
    }

    /// The RFC 6750 `WWW-Authenticate` challenge for this problem, if any.
    fn challenge(&self) -> Option<String> {
        let realm = "realm=\"warden\"";
        match self.kind {
            Kind::Unauthenticated => Some(format!("Bearer {realm}")),
            Kind::InvalidToken => Some(format!(
                "Bearer {realm}, error=\"invalid_token\", error_description=\"{}\"",
                self.detail.replace('"', "'")
            )),
            Kind::InsufficientScope => {
                let scope = self.extra.get("scope").and_then(Json::as_str).unwrap_or("");
                Some(format!(
                    "Bearer {realm}, error=\"insufficient_scope\", scope=\"{scope}\""
                ))
            }
            _ => None,
        }
    }
}

/// Errors answered by axum's own extractors (a path segment that is not
/// UTF-8, a body that cannot be read) come as `text/plain`; this turns
/// them into problems, so every error a client sees has one shape.
pub async fn plain_errors(response: Response) -> Response {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let kind = match response.status() {
        StatusCode::BAD_REQUEST => Kind::BadRequest,
        StatusCode::NOT_FOUND => Kind::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Kind::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Kind::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Kind::UnsupportedMediaType,
        _ => return response,
    };
    if !plain {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let detail: String = String::from_utf8_lossy(&body).chars().take(300).collect();
    Problem::new(kind, detail).into_response()
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.kind.status();
        let mut body = Map::new();
        body.insert("type".into(), json!(self.kind.type_uri()));
        body.insert("title".into(), json!(self.kind.title()));
        body.insert("status".into(), json!(status.as_u16()));
        body.insert("detail".into(), json!(self.detail));
        let challenge = self.challenge();
        let retry_after = self.retry_after;
        body.extend(self.extra);
        let mut response = (status, axum::Json(Json::Object(body))).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A field-level problem in a request body.
pub fn field_error(field: &str, message: impl Into<String>) -> Json {
    json!({ "field": field, "message": message.into() })
}

impl crate::authz::AuthzError {
    /// The kind of problem this error is answered as.
    fn kind(&self) -> Kind {
        use crate::authz::AuthzError as E;
        use crate::rows::input::InputError as I;
        match self {
            E::Unauthenticated => Kind::Unauthenticated,
            E::Forbidden(_) => Kind::Forbidden,
            E::NotFound(_) => Kind::NotFound,
            E::InsufficientScope(_) => Kind::InsufficientScope,
            E::Stale { .. } => Kind::PreconditionFailed,
            E::Input(I::NotAnObject) => Kind::MalformedBody,
            E::Input(I::UnknownFields(_)) => Kind::UnknownFields,
            E::Input(I::Readonly(_)) => Kind::ReadonlyFields,
            E::Input(I::Invalid(_)) => Kind::Validation,
            E::InvalidQuery(_) => Kind::InvalidQuery,
            E::FilterTooComplex(_) => Kind::FilterTooComplex,
            E::Conflict(_) => Kind::Conflict,
            E::InvalidReference => Kind::InvalidReference,
            E::Overloaded => Kind::Overloaded,
            E::RateLimited(_) => Kind::TooManyRequests,
            E::Store(error) => Problem::from_store_kind(error),
            E::Internal(_) => Kind::Internal,
        }
    }

    /// The HTTP status the built-in API answers this error with.
    ///
    /// ```
    /// assert_eq!(warden::Error::Unauthenticated.status(), 401);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.kind().status()
    }
}

impl IntoResponse for crate::authz::AuthzError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

impl From<crate::authz::AuthzError> for Problem {
    fn from(error: crate::authz::AuthzError) -> Self {
        use crate::authz::AuthzError as E;
        use crate::rows::input::InputError as I;
        let kind = error.kind();
        match error {
            E::Unauthenticated => Problem::unauthenticated("log in to do this"),
            E::Forbidden(detail) => Problem::new(kind, detail),
            E::NotFound(what) => Problem::not_found(&what),
            E::InsufficientScope(scopes) => Problem::insufficient_scope(&scopes),
            E::Stale { current } => Problem::new(
                kind,
                format!("the row is at version {current}; read it again and retry"),
            )
            .with("current_version", json!(current)),
            E::Input(I::NotAnObject) => Problem::new(kind, "the body must be a JSON object"),
            E::Input(I::UnknownFields(fields)) => {
                Problem::new(kind, format!("unknown fields: {}", fields.join(", ")))
                    .with("fields", json!(fields))
            }
            E::Input(I::Readonly(fields)) => Problem::new(
                kind,
                format!(
                    "these fields are set by the server or cannot change: {}",
                    fields.join(", ")
                ),
            )
            .with("fields", json!(fields)),
            E::Input(I::Invalid(errors)) => {
                let detail = errors
                    .iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                let list: Vec<Json> = errors
                    .iter()
                    .map(|(f, m)| field_error(f, m.clone()))
                    .collect();
                Problem::new(kind, detail).with("errors", Json::Array(list))
            }
            E::InvalidQuery(detail) => Problem::new(kind, detail),
            E::FilterTooComplex(over) => Problem::new(kind, over.to_string())
                .with("limit", json!(over.limit.key()))
                .with("allowed", json!(over.allowed))
                .with("found", json!(over.found)),
            E::Conflict(fields) => Problem::new(
                kind,
                if fields.is_empty() {
                    "a row with these values already exists".to_owned()
                } else {
                    format!("{} already taken", fields.join(", "))
                },
            )
            .with("fields", json!(fields)),
            E::InvalidReference => Problem::new(
                kind,
                "a referenced row does not exist (or this row is still referenced by others)",
            ),
            E::Overloaded => Problem::hashing_overloaded(),
            E::RateLimited(seconds) => Problem::too_many(
                format!("too many failed password checks; try again in {seconds} s"),
                seconds,
            ),
            E::Store(error) => Problem::from(error),
            E::Internal(error) => Problem::internal(&error),
        }
    }
}

impl From<crate::store::StoreError> for Problem {
    /// A busy pool or a statement stopped at its deadline is the server's
    /// load, not a fault: 503 with `Retry-After`; anything else is a 500.
    fn from(error: crate::store::StoreError) -> Self {
        let kind = Problem::from_store_kind(&error);
        let detail = match kind {
            Kind::Overloaded => "every database connection is busy; retry shortly",
            Kind::Timeout => "the database stopped this request's statement at its deadline",
            _ => return Problem::internal(&error),
        };
        let mut problem = Problem::new(kind, detail);
        problem.retry_after = Some(1);
        problem
    }
}

impl Problem {
    fn from_store_kind(error: &crate::store::StoreError) -> Kind {
        use crate::store::StoreError as E;
        match error {
            E::Busy => Kind::Overloaded,
            E::Deadline => Kind::Timeout,
            _ => Kind::Internal,
        }
    }
}

impl From<crate::query::QueryError> for Problem {
    fn from(error: crate::query::QueryError) -> Self {
        Problem::new(Kind::InvalidQuery, error.0)
    }
}

impl From<crate::auth::caller::CallerError> for Problem {
    fn from(error: crate::auth::caller::CallerError) -> Self {
        use crate::auth::caller::CallerError as E;
        match error {
            E::Store(error) => Problem::from(error),
            E::Session(error) => Problem::from(error),
            E::MissingCsrfToken => Problem::new(Kind::Forbidden, error.to_string()),
            E::MalformedHeader | E::Expired | E::InvalidToken | E::NoSuchUser | E::SessionEnded => {
                Problem::new(Kind::InvalidToken, error.to_string())
            }
        }
    }
}

impl IntoResponse for crate::auth::caller::CallerError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

impl From<crate::auth::csrf::CrossSiteLogin> for Problem {
    fn from(error: crate::auth::csrf::CrossSiteLogin) -> Self {
        Problem::new(Kind::Forbidden, error.to_string())
    }
}

impl From<crate::auth::login::LoginError> for Problem {
    fn from(error: crate::auth::login::LoginError) -> Self {
        use crate::auth::login::LoginError as E;
        match error {
            E::RateLimited(seconds) => Problem::too_many(
                format!("too many login attempts; try again in {seconds} s"),
                seconds,
            ),
            // One answer for unknown user and wrong password alike.
            E::InvalidCredentials => Problem::unauthenticated("the login or password is wrong"),
            E::Store(error) => Problem::from(error),
            E::Password(PasswordError::Overloaded) => Problem::hashing_overloaded(),
            E::Password(error) => Problem::internal(&error),
        }
    }
}

impl From<crate::auth::session::SessionError> for Problem {
    fn from(error: crate::auth::session::SessionError) -> Self {
        use crate::auth::session::SessionError as E;
        match error {
            E::InvalidGrant(_) => Problem::new(Kind::InvalidToken, "the credential is invalid"),
            E::InvalidScope => Problem::new(
                Kind::Validation,
                "the requested scope exceeds the scope granted",
            ),
            // Answered as the password it was: wrong by now.
            E::PasswordChanged => Problem::unauthenticated("the login or password is wrong"),
            E::NoUsers => Problem::new(Kind::NotFound, "this server has no user accounts"),
            E::Store(error) => Problem::from(error),
            E::Token(error) => Problem::internal(&error),
        }
    }
}

impl From<crate::auth::accounts::AccountError> for Problem {
    fn from(error: crate::auth::accounts::AccountError) -> Self {
        use crate::auth::accounts::AccountError as E;
        match error {
            E::RegistrationClosed => Problem::new(Kind::Forbidden, "registration is closed"),
            E::RateLimited(seconds) => Problem::too_many(
                format!("too many registrations from this address; try again in {seconds} s"),
                seconds,
            ),
            E::NoUsers => Problem::new(Kind::NotFound, "this server has no user accounts"),
            E::Input(input) => Problem::from(crate::authz::AuthzError::Input(input)),
            E::Taken(field) => Problem::new(
                Kind::Conflict,
                format!("an account with this {field} already exists"),
            )
            .with("fields", json!([field])),
            E::UnknownUser(_) => Problem::new(Kind::NotFound, "no such user"),
            E::UnknownScope(_) | E::UnknownRole(_) => {
                Problem::new(Kind::Validation, error.to_string())
            }
            E::Store(error) => Problem::from(error),
            E::Password(PasswordError::Overloaded) => Problem::hashing_overloaded(),
            E::Password(error) => Problem::internal(&error),
        }
    }
}
