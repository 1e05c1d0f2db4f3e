//! What one request and one client may consume (`[limits]`): a deadline
//! for the whole request, a cap on requests served at once (one more is
//! shed with a 503, not queued), and an optional token bucket per client
//! address (429). Every refusal is a problem+json answer. The body size
//! cap is applied where bodies are read (`DefaultBodyLimit`, the CSRF form
//! layer); this module must not look inside requests.

use crate::config::Limits;
use crate::problem::{Kind, Problem};
use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Ready;
use std::time::Duration;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::{BoxError, Layer, Service, ServiceBuilder};
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::{GovernorError, GovernorLayer};

/// The limits as one layer, for the API router's single stack. Rate
/// limiting keys on the peer address, so the app must be served with
/// connect info (`into_make_service_with_connect_info`, as `warden serve`
/// does).
pub fn layer<S: Wrappable>(
    limits: &Limits,
) -> impl Layer<S, Service = impl Wrappable> + Clone + Send + Sync + 'static {
    ServiceBuilder::new()
        .option_layer(rate_limit(limits))
        .layer(HandleErrorLayer::new(
            refused as fn(BoxError) -> Ready<Response>,
        ))
        .load_shed()
        // One semaphore for all routes (`Router::layer` clones the layer
        // per route; the plain concurrency layer would count per route).
        .layer(GlobalConcurrencyLimitLayer::new(
            limits.max_in_flight as usize,
        ))
        .timeout(limits.request_timeout)
        .into_inner()
}

/// The token bucket per client address, when `[limits]` asks for one.
fn rate_limit<S: Wrappable>(
    limits: &Limits,
) -> Option<impl Layer<S, Service = impl Wrappable> + Clone + Send + Sync + 'static> {
    let rate = limits.rate_limit?;
    let period = Duration::from_secs(1) / rate.per_second.max(1);
    let config = GovernorConfigBuilder::default()
        .period(period.max(Duration::from_nanos(1)))
        .burst_size(rate.burst.max(1))
        .finish()?;
    let limiter = std::sync::Arc::downgrade(config.limiter());
    forget_idle_clients(move || {
        limiter
            .upgrade()
            .map(|limiter| limiter.retain_recent())
            .is_some()
    });
    Some(
        GovernorLayer::new(config).error_handler(|error| match error {
            GovernorError::TooManyRequests { wait_time, .. } => {
                let mut problem = Problem::new(
                    Kind::TooManyRequests,
                    "this client sent too many requests; wait before the next",
                );
                problem.retry_after = Some(wait_time.max(1));
                problem.into_response()
            }
            other => Problem::internal(&other).into_response(),
        }),
    )
}

/// A service that `Router::layer` accepts: what a route is, and what
/// each of the API's layers makes of one.
pub trait Wrappable:
    Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Wrappable for T where
    T: Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The limiter keeps one bucket per address it has seen; buckets that are
/// full again are dropped every minute, for as long as the router lives.
fn forget_idle_clients(mut sweep: impl FnMut() -> bool + Send + 'static) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            if !sweep() {
                break;
            }
        }
    });
}

fn refused(error: BoxError) -> Ready<Response> {
    std::future::ready(refusal(&error))
}

fn refusal(error: &BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        return Problem::new(
            Kind::Timeout,
            "the request took longer than the server allows",
        )
        .into_response();
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        let mut problem = Problem::new(
            Kind::Overloaded,
            "too many requests are in progress; retry shortly",
        );
        problem.retry_after = Some(1);
        return problem.into_response();
    }
    Problem::internal(error).into_response()
}
