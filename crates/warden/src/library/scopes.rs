//! A tower layer that lets a request through only when its caller holds
//! every listed scope: 401 for anonymous callers, 403 `insufficient_scope`
//! otherwise (RFC 6750 §3.1), answered before the handler runs and
//! without reading any row.

use super::Warden;
use super::principal::caller_of;
use crate::problem::Problem;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// From [`Warden::require_scopes`]; put it on routes with
/// `route_layer` (or `layer`).
///
/// ```
/// # tokio_test::block_on(async {
/// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
/// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
/// #     .build().await.unwrap();
/// let admin: axum::Router = axum::Router::new()
///     .route("/admin/stats", axum::routing::get(|| async { "{}" }))
///     .route_layer(warden.require_scopes(["admin:read"]));
/// # drop(admin);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct RequireScopesLayer {
    warden: Warden,
    scopes: Arc<[String]>,
}

/// The service [`RequireScopesLayer`] wraps around a route; you do not
/// name it, `route_layer` does.
///
/// ```
/// # tokio_test::block_on(async {
/// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
/// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
/// #     .build().await.unwrap();
/// use tower::Layer;
/// let service: warden::RequireScopes<_> = warden
///     .require_scopes(["admin:read"])
///     .layer(tower::service_fn(|_: axum::extract::Request| async {
///         Ok::<_, std::convert::Infallible>(axum::response::Response::new(axum::body::Body::empty()))
///     }));
/// # drop(service);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct RequireScopes<S> {
    inner: S,
    warden: Warden,
    scopes: Arc<[String]>,
}

impl Warden {
    /// A layer requiring every scope in `scopes` of the caller.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .build().await.unwrap();
    /// let layer = warden.require_scopes(["admin:write"]);
    /// # drop(layer);
    /// # });
    /// ```
    pub fn require_scopes<'s>(
        &self,
        scopes: impl IntoIterator<Item = &'s str>,
    ) -> RequireScopesLayer {
        RequireScopesLayer {
            warden: self.clone(),
            scopes: scopes.into_iter().map(str::to_owned).collect(),
        }
    }
}

impl<S> Layer<S> for RequireScopesLayer {
    type Service = RequireScopes<S>;

    fn layer(&self, inner: S) -> RequireScopes<S> {
        RequireScopes {
            inner,
            warden: self.warden.clone(),
            scopes: self.scopes.clone(),
        }
    }
}

impl<S> Service<Request> for RequireScopes<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready serves this request.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let warden = self.warden.clone();
        let scopes = self.scopes.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let caller = match caller_of(&mut parts, &warden).await {
                Ok(caller) => caller,
                Err(problem) => return Ok(problem.into_response()),
            };
            let Some(principal) = caller.principal() else {
                return Ok(Problem::unauthenticated("log in to do this").into_response());
            };
            if !scopes.iter().all(|s| principal.scopes.contains(s)) {
                tracing::info!(
                    principal = %caller.user.as_ref().map_or_else(String::new, |u| u.id.to_string()),
                    path = %parts.uri.path(),
                    required = %scopes.join(" "),
                    "denied: insufficient scope"
                );
                return Ok(Problem::insufficient_scope(&scopes).into_response());
            }
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}
