//! Who is calling: warden's own credential check (a token sent as
//! `Authorization: Token <jwt>`), answered with RealWorld's 401 body
//! instead of problem+json. It says who, never what they may do.

use crate::errors::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use warden::{MaybePrincipal, Principal, Value, Warden};

/// A logged-in caller, with the token they sent (RealWorld's user
/// responses carry it back).
#[derive(Debug, Clone)]
pub struct Auth {
    pub principal: Principal,
    pub id: i64,
    pub token: String,
}

/// A caller who may be anonymous; a bad token is still a 401.
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Auth>);

impl MaybeAuth {
    pub fn principal(&self) -> Option<&Principal> {
        self.0.as_ref().map(|auth| &auth.principal)
    }
}

impl FromRequestParts<Warden> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, warden: &Warden) -> Result<Self, ApiError> {
        let MaybePrincipal(principal) = MaybePrincipal::from_request_parts(parts, warden)
            .await
            .map_err(|_| ApiError::unauthorized("is invalid or expired"))?;
        let Some(principal) = principal else {
            return Ok(MaybeAuth(None));
        };
        let id = user_id(&principal)?;
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .map(|(_, token)| token.trim().to_owned())
            .unwrap_or_default();
        Ok(MaybeAuth(Some(Auth {
            principal,
            id,
            token,
        })))
    }
}

impl FromRequestParts<Warden> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, warden: &Warden) -> Result<Self, ApiError> {
        MaybeAuth::from_request_parts(parts, warden)
            .await?
            .0
            .ok_or_else(|| ApiError::unauthorized("is missing"))
    }
}

/// The integer key of a logged-in user.
pub fn user_id(principal: &Principal) -> Result<i64, ApiError> {
    match principal.id() {
        Value::Int(id) => Ok(*id),
        _ => Err(ApiError::unauthorized("names no user of this API")),
    }
}
