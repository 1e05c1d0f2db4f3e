//! What one request and one client may consume (`[limits]`): a deadline
//! for the whole request, a cap on requests served at once (one more is
//! shed with a 503, not queued), and an optional token bucket per client
//! address (429). Every refusal is a problem+json answer. The body size
//! cap is applied where bodies are read (`DefaultBodyLimit`, the CSRF form
//! layer); this module must not look inside requests.

use super::problem::{Kind, Problem};
use crate::config::Limits;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_governor::GovernorError;
use tower_governor::governor::GovernorConfigBuilder;

/// Wraps every route of `router` in the limits. Rate limiting keys on the
/// peer address, so the app must be served with connect info
/// (`into_make_service_with_connect_info`, as `warden serve` does).
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>, limits: &Limits) -> Router<S> {
    let guarded = router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|error: tower::BoxError| async move {
                refusal(&error)
            }))
            .load_shed()
            // One semaphore for all routes (`Router::layer` clones the layer
            // per route; the plain concurrency layer would count per route).
            .layer(GlobalConcurrencyLimitLayer::new(
                limits.max_in_flight as usize,
            ))
            .timeout(limits.request_timeout),
    );
    let Some(rate) = limits.rate_limit else {
        return guarded;
    };
    let period = Duration::from_secs(1) / rate.per_second.max(1);
    let Some(config) = GovernorConfigBuilder::default()
        .period(period.max(Duration::from_nanos(1)))
        .burst_size(rate.burst.max(1))
        .finish()
    else {
        return guarded;
    };
    let limiter = std::sync::Arc::downgrade(config.limiter());
    forget_idle_clients(move || {
        limiter
            .upgrade()
            .map(|limiter| limiter.retain_recent())
            .is_some()
    });
    guarded.layer(
        tower_governor::GovernorLayer::new(config).error_handler(|error| match error {
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

fn refusal(error: &tower::BoxError) -> Response {
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
