//! Who is calling, as an axum extractor for hand-written handlers: the
//! same credential check as the built-in API (bearer token or cookie
//! session with CSRF), loaded once per request and shared with
//! [`RequireScopes`](super::RequireScopes). It decides nothing about rows.

use super::Warden;
use crate::auth::caller::{Caller, User};
use crate::problem::Problem;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use warden_policy::Value;

/// An authenticated caller. As an extractor it answers 401 (problem+json
/// with `WWW-Authenticate`) for anonymous requests and bad tokens.
///
/// ```
/// use warden::{Principal, Warden};
/// async fn whoami(principal: Principal) -> String {
///     format!("you are user {}", principal.id())
/// }
/// # let _: axum::Router<Warden> = axum::Router::new().route("/whoami", axum::routing::get(whoami));
/// ```
#[derive(Debug, Clone)]
pub struct Principal {
    caller: Caller,
}

/// A caller who may be anonymous: `MaybePrincipal(None)`. A bad token is
/// still a 401, never silently anonymous.
///
/// ```
/// use warden::MaybePrincipal;
/// async fn greet(MaybePrincipal(who): MaybePrincipal) -> String {
///     who.map_or("hello, stranger".into(), |p| format!("hello, {}", p.id()))
/// }
/// # let _: axum::Router<warden::Warden> = axum::Router::new().route("/", axum::routing::get(greet));
/// ```
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl Principal {
    pub(super) fn from_user(user: User) -> Principal {
        Principal {
            caller: Caller {
                user: Some(user),
                session: None,
            },
        }
    }

    pub(super) fn from_caller(caller: Caller) -> Option<Principal> {
        caller.user.is_some().then_some(Principal { caller })
    }

    pub(super) fn caller(&self) -> &Caller {
        &self.caller
    }

    pub(super) fn user(&self) -> &User {
        // Built only from a caller with a user (`from_user`, `from_caller`).
        self.caller
            .user
            .as_ref()
            .unwrap_or_else(|| unreachable!("a Principal always has a user"))
    }

    /// The user's key (`user.id` in rules).
    ///
    /// ```no_run
    /// # fn f(p: warden::Principal) {
    /// let id: &warden::Value = p.id();
    /// # }
    /// ```
    pub fn id(&self) -> &Value {
        &self.user().id
    }

    /// An attribute of the user as rules see it (`user.<name>`), e.g.
    /// `is_superuser`; `None` if it has none.
    ///
    /// ```no_run
    /// # fn f(p: warden::Principal) {
    /// let admin = p.attribute("is_superuser") == Some(&warden::Value::Bool(true));
    /// # }
    /// ```
    pub fn attribute(&self, name: &str) -> Option<&Value> {
        self.user().principal.attributes.get(name)
    }

    /// The scopes this request carries (a token's scopes, narrowed at
    /// issue; a cookie session's are the user's).
    ///
    /// ```no_run
    /// # fn f(p: warden::Principal) {
    /// for scope in p.scopes() { println!("{scope}"); }
    /// # }
    /// ```
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.user().principal.scopes.iter().map(String::as_str)
    }

    /// Whether the request carries `scope`.
    ///
    /// ```no_run
    /// # fn f(p: warden::Principal) {
    /// if p.has_scope("admin:write") { /* … */ }
    /// # }
    /// ```
    pub fn has_scope(&self, scope: &str) -> bool {
        self.user().principal.scopes.iter().any(|s| s == scope)
    }
}

/// The request's caller, loaded once and kept in the request's
/// extensions for every extractor and layer after it.
pub(super) async fn caller_of(parts: &mut Parts, warden: &Warden) -> Result<Caller, Problem> {
    if let Some(caller) = parts.extensions.get::<Caller>() {
        return Ok(caller.clone());
    }
    let caller = Caller::from_request_parts(parts, warden.app()).await?;
    parts.extensions.insert(caller.clone());
    Ok(caller)
}

impl<S> FromRequestParts<S> for Principal
where
    Warden: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        let caller = caller_of(parts, &warden).await?;
        Principal::from_caller(caller).ok_or_else(|| Problem::unauthenticated("log in to do this"))
    }
}

impl<S> FromRequestParts<S> for MaybePrincipal
where
    Warden: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let warden = Warden::from_ref(state);
        let caller = caller_of(parts, &warden).await?;
        Ok(MaybePrincipal(Principal::from_caller(caller)))
    }
}
