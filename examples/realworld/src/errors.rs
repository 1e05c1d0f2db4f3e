//! RealWorld's error bodies: `{"errors": {"<key>": ["<message>", …]}}`
//! with the spec's statuses. warden's refusals are translated here and
//! only here; this module decides nothing about who may do what.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use warden::{Error, InputError};

/// A refused request, as RealWorld clients expect it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    errors: Vec<(String, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, key: &str, message: &str) -> ApiError {
        ApiError {
            status,
            errors: vec![(key.to_owned(), message.to_owned())],
        }
    }

    /// 401: no token, or one that is not (or no longer) valid.
    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "token", message)
    }

    /// 404 for a missing `what` (article, profile, comment).
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, what, "not found")
    }

    /// 422 naming the fields at fault.
    pub fn invalid(errors: Vec<(String, String)>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        }
    }

    /// 503: too many passwords are being hashed at once; retry shortly.
    pub fn busy() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "body",
            "the server is busy; retry shortly",
        )
    }

    /// 500, with the cause logged rather than sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "body", "internal error")
    }

    /// warden's refusal of an action on `what` (article, comment, …): the
    /// statuses are warden's (`Error::status`), except 422 for every
    /// invalid input as the spec wants; the body is RealWorld's.
    pub fn refused(what: &str, error: Error) -> ApiError {
        match error {
            Error::Unauthenticated => ApiError::unauthorized("is missing"),
            Error::Forbidden(_) | Error::InsufficientScope(_) => {
                ApiError::new(StatusCode::FORBIDDEN, what, "forbidden")
            }
            Error::NotFound(_) => ApiError::not_found(what),
            Error::Conflict(fields) if fields.is_empty() => {
                ApiError::new(StatusCode::CONFLICT, what, "already exists")
            }
            Error::Conflict(fields) => ApiError {
                status: StatusCode::CONFLICT,
                errors: fields
                    .into_iter()
                    .map(|field| (field, "has already been taken".to_owned()))
                    .collect(),
            },
            Error::Stale { .. } => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, what, "changed meanwhile")
            }
            Error::Input(InputError::Invalid(fields)) => ApiError::invalid(fields),
            Error::Input(other) => ApiError::invalid(vec![("body".into(), other.to_string())]),
            Error::InvalidQuery(message) => ApiError::invalid(vec![("query".into(), message)]),
            Error::FilterTooComplex(over) => {
                ApiError::invalid(vec![("query".into(), over.to_string())])
            }
            Error::InvalidReference => {
                ApiError::invalid(vec![(what.to_owned(), "refers to a missing row".into())])
            }
            // Hashing past its queue, a busy database, a statement stopped
            // at its deadline.
            Error::Overloaded => ApiError::busy(),
            busy @ Error::Store(_) if busy.status() == StatusCode::SERVICE_UNAVAILABLE => {
                ApiError::busy()
            }
            Error::RateLimited(seconds) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "current_password",
                &format!("too many wrong passwords; retry in {seconds} s"),
            ),
            other @ (Error::Store(_) | Error::Internal(_)) => ApiError::internal(&other),
        }
    }

    /// A closure for `map_err`: [`ApiError::refused`] on `what`.
    pub fn on(what: &'static str) -> impl Fn(Error) -> ApiError {
        move |error| ApiError::refused(what, error)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::invalid(vec![("body".into(), rejection.body_text())])
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::invalid(vec![("query".into(), rejection.body_text())])
    }
}

impl From<warden::sqlx::Error> for ApiError {
    fn from(error: warden::sqlx::Error) -> Self {
        ApiError::internal(&error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut errors = Map::new();
        for (key, message) in self.errors {
            let entry = errors
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(messages) = entry {
                messages.push(Value::String(message));
            }
        }
        let body = Json(json!({ "errors": errors }));
        if self.status == StatusCode::UNAUTHORIZED {
            (self.status, [(header::WWW_AUTHENTICATE, "Token")], body).into_response()
        } else {
            (self.status, body).into_response()
        }
    }
}

/// The values of required string fields, or 422 naming each one that is
/// missing or blank.
pub fn required<const N: usize>(
    fields: [(&str, Option<String>); N],
) -> Result<[String; N], ApiError> {
    let mut blank = Vec::new();
    let values = fields.map(|(name, value)| match value {
        Some(value) if !value.trim().is_empty() => value,
        _ => {
            blank.push((name.to_owned(), "can't be blank".to_owned()));
            String::new()
        }
    });
    if blank.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::invalid(blank))
    }
}

/// Answers any path the API does not have.
pub async fn no_such_route() -> ApiError {
    ApiError::not_found("path")
}
