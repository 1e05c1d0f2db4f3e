//! Attempt budgets: how many logins may start per account and per client
//! address, and how many registrations per address, kept in the database
//! so every instance shares them. An attempt is reserved — checked and
//! counted in one step — before the work it limits, so concurrent attempts
//! cannot all pass a check made before any of them was counted. Keys are
//! stored as digests (no login names or addresses at rest). It must not
//! check or hash passwords.
//!
//! A budget of `n` per `window` holds `n` slots; a used slot comes back
//! `window / n` after it was taken (the generic cell rate algorithm). So
//! `n` attempts may come at once, a drained budget is whole again after
//! `window` without attempts, and over time no more than `n` per `window`
//! get through (at most `2n - 1` inside any one span of `window`).

use super::secret::digest;
use crate::config::{LoginLimit, RegistrationLimit};
use crate::store::{Draw, Store, StoreError};
use std::net::IpAddr;
use std::time::Duration;

/// Why an attempt may not start.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("no attempt left; retry in {0} s")]
    Exhausted(u64),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// One key's budget: `slots` at once, each back `window / slots` later.
#[derive(Debug, Clone)]
struct Budget {
    key: String,
    slot_ms: i64,
    tolerance_ms: i64,
}

impl Budget {
    /// The budget of `name` among attempts of one `kind` (`account`,
    /// `address`, `register`), stored under a digest of both.
    fn keyed(kind: &str, name: impl std::fmt::Display, slots: u32, window: Duration) -> Self {
        Self::new(digest(&format!("{kind}:{name}")), slots, window)
    }

    fn new(key: String, slots: u32, window: Duration) -> Self {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let slots = i64::from(slots.max(1));
        let slot_ms = (window_ms / slots).max(1);
        Self {
            key,
            slot_ms,
            // Exactly `slots` fit: the last one may leave the refill time
            // `slots * slot_ms` (<= window) ahead.
            tolerance_ms: slot_ms.saturating_mul(slots - 1),
        }
    }

    fn draw(&self) -> Draw<'_> {
        Draw {
            key: &self.key,
            slot_ms: self.slot_ms,
            tolerance_ms: self.tolerance_ms,
        }
    }
}

/// Takes a slot from each budget, all or none.
async fn reserve(store: &Store, budgets: &[&Budget]) -> Result<(), LimitError> {
    let draws: Vec<Draw<'_>> = budgets.iter().map(|budget| budget.draw()).collect();
    match store
        .draw_slots(&draws, crate::timestamp::unix_millis())
        .await?
    {
        None => Ok(()),
        Some(wait_ms) => {
            let seconds = u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000);
            Err(LimitError::Exhausted(seconds.max(1)))
        }
    }
}

/// One login attempt: the budgets of its account and of its address.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    account: Budget,
    address: Option<Budget>,
}

impl LoginAttempt {
    /// `login` is the normalised login name (`crate::login_name`), so every
    /// spelling of one account shares its budget.
    pub fn new(limit: &LoginLimit, login: &str, address: Option<IpAddr>) -> Self {
        Self {
            account: Budget::keyed("account", login, limit.per_account, limit.window),
            address: address
                .map(|ip| Budget::keyed("address", ip, limit.per_address, limit.window)),
        }
    }

    /// Reserves the attempt before any password is looked at. The account
    /// comes first in every transaction (see `Store::draw_slots`).
    pub async fn reserve(&self, store: &Store) -> Result<(), LimitError> {
        let budgets: Vec<&Budget> = self.budgets().collect();
        reserve(store, &budgets).await
    }

    /// The password was right: the account and the address get back this
    /// attempt's slots, and nothing more. Wrong guesses stay counted: a
    /// valid login must neither reset a password-spraying budget nor hand
    /// fresh guesses to someone guessing the same account at that moment.
    pub async fn succeeded(&self, store: &Store) -> Result<(), StoreError> {
        self.give_back(store).await?;
        store
            .forget_whole_budgets(crate::timestamp::unix_millis())
            .await
    }

    /// The password was wrong (or the account unknown): the slots stay
    /// taken.
    pub async fn failed(&self, store: &Store) -> Result<(), StoreError> {
        store
            .forget_whole_budgets(crate::timestamp::unix_millis())
            .await
    }

    /// No password was checked after all (hashing was overloaded): both
    /// slots go back.
    pub async fn abandoned(&self, store: &Store) -> Result<(), StoreError> {
        self.give_back(store).await
    }

    /// The account's budget first, then the address's.
    fn budgets(&self) -> impl Iterator<Item = &Budget> {
        std::iter::once(&self.account).chain(self.address.as_ref())
    }

    async fn give_back(&self, store: &Store) -> Result<(), StoreError> {
        for budget in self.budgets() {
            store.return_slot(&budget.key, budget.slot_ms).await?;
        }
        Ok(())
    }
}

/// One registration attempt: its address's budget (none without an
/// address, as for logins).
#[derive(Debug, Clone)]
pub struct RegistrationAttempt {
    address: Option<Budget>,
}

impl RegistrationAttempt {
    pub fn new(limit: &RegistrationLimit, address: Option<IpAddr>) -> Self {
        Self {
            address: address
                .map(|ip| Budget::keyed("register", ip, limit.per_address, limit.window)),
        }
    }

    /// Reserves the attempt before the login is looked up or a password
    /// hashed. Every registration counts, taken logins included: the
    /// answer tells whether a login exists, so this also limits probing.
    pub async fn reserve(&self, store: &Store) -> Result<(), LimitError> {
        match &self.address {
            Some(budget) => reserve(store, &[budget]).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_holds_exactly_its_slots() {
        // 15 minutes / 4 slots: one back every 225 s; the fourth slot may
        // push the refill time 675 s ahead of the first, no further.
        let budget = Budget::new("k".into(), 4, Duration::from_secs(900));
        assert_eq!(budget.slot_ms, 225_000);
        assert_eq!(budget.tolerance_ms, 675_000);
        // A window that does not divide evenly still gives 4 slots, not 5.
        let uneven = Budget::new("k".into(), 4, Duration::from_millis(10));
        assert_eq!((uneven.slot_ms, uneven.tolerance_ms), (2, 6));
        let one = Budget::new("k".into(), 1, Duration::from_secs(60));
        assert_eq!((one.slot_ms, one.tolerance_ms), (60_000, 0));
    }
}
