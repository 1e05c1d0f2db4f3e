//! Where a request comes from: the client address (for login limits) and
//! whether it arrived over HTTPS (for the cookie's `Secure` flag). Proxy
//! headers count only when `[auth] trust_proxy_headers` says a reverse
//! proxy sets them. It must not authenticate anyone.

use crate::app::App;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// The client of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub address: Option<IpAddr>,
    pub https: bool,
}

impl FromRequestParts<App> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let trust = app
            .config()
            .auth
            .as_ref()
            .is_some_and(|auth| auth.trust_proxy_headers);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        // The proxy appends the address it saw: the last entry is the one
        // a client cannot forge.
        let forwarded = header("x-forwarded-for").and_then(|list| {
            list.rsplit(',')
                .next()
                .and_then(|last| last.trim().parse::<IpAddr>().ok())
        });
        let https = header("x-forwarded-proto")
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
        Ok(if trust {
            Client {
                address: forwarded.or(peer),
                https,
            }
        } else {
            Client {
                address: peer,
                https: false,
            }
        })
    }
}
