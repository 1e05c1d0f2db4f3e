//! Failed-login limits per account and per client address, counted in the
//! database so every instance sees the same numbers. Keys are stored as
//! digests (no login names or addresses at rest). It must not check
//! passwords; it only answers "may this attempt proceed" and records
//! outcomes.

use super::secret::digest;
use crate::config::LoginLimit;
use crate::store::{Store, StoreError};
use std::net::IpAddr;

/// The keys one login attempt counts against.
#[derive(Debug, Clone)]
pub struct AttemptKeys {
    account: String,
    address: Option<String>,
}

impl AttemptKeys {
    /// Login names are compared case-insensitively here so that case
    /// variants of one account share a budget.
    pub fn new(login: &str, address: Option<IpAddr>) -> Self {
        Self {
            account: digest(&format!("account:{}", login.trim().to_lowercase())),
            address: address.map(|ip| digest(&format!("address:{ip}"))),
        }
    }
}

/// Seconds until another attempt is allowed, when one is not.
pub async fn retry_after(
    store: &Store,
    limit: &LoginLimit,
    keys: &AttemptKeys,
    now: i64,
) -> Result<Option<u64>, StoreError> {
    let window = i64::try_from(limit.window.as_secs()).unwrap_or(i64::MAX);
    let since = now.saturating_sub(window);
    let mut wait: Option<u64> = None;
    let checks = [
        (Some(&keys.account), limit.per_account),
        (keys.address.as_ref(), limit.per_address),
    ];
    for (key, allowed) in checks {
        let Some(key) = key else { continue };
        let failures = store.login_failures(key, since).await?;
        if failures.count >= i64::from(allowed) {
            // The oldest failure leaves the window first; then one more
            // attempt fits.
            let free_at = failures.oldest.unwrap_or(now).saturating_add(window);
            let seconds = u64::try_from(free_at.saturating_sub(now))
                .unwrap_or(0)
                .max(1);
            wait = Some(wait.map_or(seconds, |w| w.max(seconds)));
        }
    }
    Ok(wait)
}

/// Counts a failed attempt against its account and address.
pub async fn record_failure(
    store: &Store,
    limit: &LoginLimit,
    keys: &AttemptKeys,
    now: i64,
) -> Result<(), StoreError> {
    let window = i64::try_from(limit.window.as_secs()).unwrap_or(i64::MAX);
    let mut hashes = vec![keys.account.as_str()];
    if let Some(address) = &keys.address {
        hashes.push(address);
    }
    store
        .record_login_failure(&hashes, now, now.saturating_sub(window))
        .await
}

/// A success clears the account's failures (not the address's: one valid
/// account must not reset a password-spraying budget).
pub async fn record_success(store: &Store, keys: &AttemptKeys) -> Result<(), StoreError> {
    store.clear_login_failures(&keys.account).await
}
