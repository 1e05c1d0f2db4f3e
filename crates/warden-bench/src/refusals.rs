//! Before a size is measured: the fair floor refuses what warden refuses,
//! so that its req/s is the price of the same promises. A token with a
//! changed signature is a 401, and a token whose session warden's logout
//! ended is a 401 on both at once. It only checks; it measures nothing.

use crate::data::forged;
use crate::load::{self, Request};
use crate::scenarios::token_request;
use anyhow::{Context, Result, bail};
use axum::http::Method;
use std::net::SocketAddr;
use std::sync::Arc;

/// Logs reader 1 in at warden, then checks the floor at `floor` against
/// warden at `warden` with that token, a forged copy, and after logout.
pub async fn check(warden: SocketAddr, floor: SocketAddr) -> Result<()> {
    let (status, body) = load::once(warden, token_request(1)).await?;
    if status != 200 {
        bail!("refusals: login at warden answered {status}");
    }
    let json: serde_json::Value = serde_json::from_slice(&body)?;
    let token: Arc<str> = json["access_token"]
        .as_str()
        .context("refusals: no access_token")?
        .into();
    expect(
        floor,
        "/posts/1",
        &token,
        200,
        "the fair floor, warden's token",
    )
    .await?;
    expect(
        floor,
        "/posts/1",
        &forged(&token),
        401,
        "the fair floor, a forged signature",
    )
    .await?;
    let logout = Request {
        method: Method::POST,
        path: "/auth/logout".to_owned(),
        body: None,
        token: Some(Arc::clone(&token)),
        expect: 204,
    };
    let (status, _) = load::once(warden, logout).await?;
    if status != 204 {
        bail!("refusals: logout at warden answered {status}");
    }
    expect(warden, "/api/posts/1", &token, 401, "warden, after logout").await?;
    expect(
        floor,
        "/posts/1",
        &token,
        401,
        "the fair floor, after logout",
    )
    .await
}

async fn expect(
    addr: SocketAddr,
    path: &str,
    token: &Arc<str>,
    wanted: u16,
    what: &str,
) -> Result<()> {
    let request = Request {
        method: Method::GET,
        path: path.to_owned(),
        body: None,
        token: Some(Arc::clone(token)),
        expect: wanted,
    };
    let (status, body) = load::once(addr, request).await?;
    if status != wanted {
        bail!(
            "refusals: {what} answered {status}, not {wanted}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}
