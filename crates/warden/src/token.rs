//! Access tokens: HS256 JWTs per RFC 8725 — the algorithm pinned, `none`
//! and every other algorithm refused, `exp iat nbf iss aud sub` required,
//! a small leeway, and neither `nbf` nor `iat` in the future. Issuing and
//! verifying only; who the subject is, and whether they still exist, is
//! the caller module's job.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::time::Duration;

/// The shortest secret accepted outside development mode.
pub const MIN_SECRET_BYTES: usize = 32;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: u64 = 5;

/// The keys and settings tokens are made and checked with.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.issuer)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error(
        "the JWT secret is {0} bytes; at least {MIN_SECRET_BYTES} are required (set WARDEN_JWT_SECRET, or use --dev)"
    )]
    WeakSecret(usize),
    #[error("the token is expired")]
    Expired,
    #[error("the token is invalid")]
    Invalid,
    #[error("could not sign the token")]
    Signing,
}

/// The claims warden puts in an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    pub iat: u64,
    pub nbf: u64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
    /// Space-separated scopes (RFC 8693 §4.2 style).
    #[serde(default)]
    pub scope: String,
    /// The session (refresh-token family) the token was issued in; while
    /// present, the token dies with its session (logout, reuse detection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Configured user claims (seed 001's `emp_no`, …).
    #[serde(flatten)]
    pub extra: Map<String, Json>,
}

impl TokenKeys {
    pub fn new(
        secret: &[u8],
        issuer: &str,
        audience: &str,
        ttl: Duration,
    ) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(TokenError::WeakSecret(secret.len()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "nbf", "iss", "aud", "sub"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        })
    }

    /// Signs an access token for `subject` with `scopes`, the session it
    /// belongs to, and extra claims.
    pub fn issue(
        &self,
        subject: &str,
        scopes: &[String],
        sid: Option<&str>,
        extra: Map<String, Json>,
    ) -> Result<(String, Claims), TokenError> {
        let now = now_seconds();
        let claims = Claims {
            sub: subject.to_owned(),
            exp: now + self.ttl.as_secs(),
            iat: now,
            nbf: now,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
            scope: scopes.join(" "),
            sid: sid.map(str::to_owned),
            extra,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Signing)?;
        Ok((token, claims))
    }

    /// Verifies signature, algorithm and registered claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        // jsonwebtoken checks `nbf` but not `iat`; we never issue a token
        // dated later than now, so one that says so was not made here
        // honestly (or the clocks disagree beyond the leeway).
        if claims.iat > now_seconds() + LEEWAY_SECONDS {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

/// The clock as token claims count it: Unix seconds.
fn now_seconds() -> u64 {
    u64::try_from(crate::timestamp::unix_seconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32], "warden", "warden", Duration::from_secs(60)).expect("keys")
    }

    #[test]
    fn round_trip_and_scopes() {
        let (token, claims) = keys()
            .issue("23", &["a".into(), "b".into()], Some("s1"), Map::new())
            .expect("issue");
        let keys = keys();
        assert_eq!(keys.verify(&token), Ok(claims.clone()));
        assert_eq!(claims.scope, "a b");
    }

    #[test]
    fn weak_secret_is_refused() {
        assert_eq!(
            TokenKeys::new(b"short", "w", "w", Duration::from_secs(1)).err(),
            Some(TokenError::WeakSecret(5))
        );
    }

    #[test]
    fn tampered_wrong_key_and_alg_none_are_invalid() {
        let (token, _) = keys().issue("23", &[], None, Map::new()).expect("issue");
        let other =
            TokenKeys::new(&[8u8; 32], "warden", "warden", Duration::from_secs(60)).expect("keys");
        assert_eq!(other.verify(&token), Err(TokenError::Invalid));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"1","exp":99999999999,"iat":0,"nbf":0,"iss":"warden","aud":"warden","jti":"x"}"#);
        parts[1] = &forged_payload;
        assert_eq!(keys().verify(&parts.join(".")), Err(TokenError::Invalid));
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{forged_payload}.");
        assert_eq!(keys().verify(&unsigned), Err(TokenError::Invalid));
    }

    #[test]
    fn issued_in_the_future_is_invalid_beyond_the_leeway() {
        let keys = keys();
        let (_, mut claims) = keys.issue("23", &[], None, Map::new()).expect("issue");
        let sign = |claims: &Claims| {
            encode(
                &Header::new(Algorithm::HS256),
                claims,
                &EncodingKey::from_secret(&[7u8; 32]),
            )
            .expect("sign")
        };
        claims.iat = now_seconds() + LEEWAY_SECONDS + 60;
        assert_eq!(keys.verify(&sign(&claims)), Err(TokenError::Invalid));
        // Within the leeway: a clock a little ahead is tolerated.
        claims.iat = now_seconds() + 1;
        assert!(keys.verify(&sign(&claims)).is_ok());
    }

    #[test]
    fn expired_is_expired() {
        let expired =
            TokenKeys::new(&[7u8; 32], "warden", "warden", Duration::from_secs(0)).expect("keys");
        let mut claims_token = expired.issue("1", &[], None, Map::new()).expect("issue");
        // Re-sign with exp well in the past.
        claims_token.1.exp = now_seconds() - 3600;
        let token = encode(
            &Header::new(Algorithm::HS256),
            &claims_token.1,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .expect("sign");
        assert_eq!(keys().verify(&token), Err(TokenError::Expired));
    }
}
