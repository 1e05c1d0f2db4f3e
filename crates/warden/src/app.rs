//! The running engine: config, store, compiled policy and token keys,
//! shared by every request. Built once at start and never changed after,
//! so any number of instances can serve one database.

use crate::config::Config;
use crate::policy::{Policy, PolicyErrors};
use crate::store::Store;
use crate::token::{TokenError, TokenKeys};
use std::sync::Arc;

/// Cheap to clone: every request handler gets one.
#[derive(Clone, Debug)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    store: Store,
    policy: Policy,
    tokens: TokenKeys,
    searches: tokio::sync::Semaphore,
}

/// Why the engine would not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Policy(#[from] PolicyErrors),
    #[error("{0}")]
    Token(#[from] TokenError),
}

impl App {
    /// Compiles the policy for the store's dialect and prepares token keys
    /// from `jwt_secret`.
    pub fn new(config: Config, store: Store, jwt_secret: &[u8]) -> Result<App, StartError> {
        let policy = Policy::compile(&config, store.dialect())?;
        let ttl = config
            .auth
            .as_ref()
            .map_or(std::time::Duration::from_secs(3600), |a| a.token_ttl);
        let tokens = TokenKeys::new(jwt_secret, "warden", "warden", ttl)?;
        let searches = tokio::sync::Semaphore::new(config.limits.max_searches as usize);
        Ok(App {
            inner: Arc::new(Inner {
                config,
                store,
                policy,
                tokens,
                searches,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    pub fn tokens(&self) -> &TokenKeys {
        &self.inner.tokens
    }

    /// Turns for lists whose filter, search or sort the client chose
    /// (`[limits] max_searches`).
    pub fn searches(&self) -> &tokio::sync::Semaphore {
        &self.inner.searches
    }
}
