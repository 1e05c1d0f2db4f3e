//! Password hashing with argon2id (default parameters, PHC strings), and
//! the one password policy every path that sets a password applies. The
//! work runs on tokio's blocking pool so it never stalls the async workers,
//! one computation per core at a time, with a bounded queue: past it a
//! hash or verification is refused at once (`Overloaded`) instead of
//! waiting without end. It must not decide whether a user exists; callers
//! verify against a dummy hash for unknown users so timing reveals nothing.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};

use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2: {0}")]
    Hash(String),
    #[error("the hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Every hashing slot is busy and the queue is full; retry shortly.
    #[error("too many password hashes are in progress")]
    Overloaded,
}

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 8;
/// The longest password accepted: argon2 hashes whatever it is given, so
/// an unbounded one is a way to burn server time.
pub const MAX_LENGTH: usize = 1024;

/// What is wrong with `clear` as a new password, if anything; counted in
/// characters. Applied by the API's bodies (create, `PATCH`, `PUT`,
/// registration), `warden user add|passwd` and seed data alike.
pub fn policy_problem(clear: &str) -> Option<String> {
    let length = clear.chars().count();
    (!(MIN_LENGTH..=MAX_LENGTH).contains(&length))
        .then(|| format!("must be {MIN_LENGTH} to {MAX_LENGTH} characters"))
}

/// Argon2 work admitted at once: `running` computations (each takes
/// 19 MiB; unbounded `spawn_blocking` under a login burst ran dozens at
/// once, gigabytes of peak RSS, without finishing any sooner) plus a
/// bounded queue waiting for them. Admission never waits.
struct HashingPool {
    running: Semaphore,
    admitted: Semaphore,
}

/// Jobs that may wait per running slot: at ~40 ms per hash, a full queue
/// is drained in well under a second.
const QUEUE_PER_SLOT: usize = 16;

impl HashingPool {
    fn new(running: usize, queue: usize) -> Self {
        Self {
            running: Semaphore::new(running),
            admitted: Semaphore::new(running + queue),
        }
    }

    /// Runs `job` on the blocking pool once a slot is free, or refuses at
    /// once when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _admitted = self
            .admitted
            .try_acquire()
            .map_err(|_| PasswordError::Overloaded)?;
        let _running = self
            .running
            .acquire()
            .await
            .map_err(|error| PasswordError::Hash(error.to_string()))?;
        Ok(tokio::task::spawn_blocking(job).await?)
    }
}

/// One computation per core, for the whole process.
static HASHING: std::sync::LazyLock<HashingPool> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    HashingPool::new(cores, cores * QUEUE_PER_SLOT)
});

/// Hashes a password into an argon2id PHC string with a random salt.
pub async fn hash(clear: String) -> Result<String, PasswordError> {
    // Where argon2 time goes is worth seeing when tracing a slow server.
    tracing::debug!("hashing a password with argon2id");
    HASHING
        .run(move || {
            Argon2::default()
                .hash_password(clear.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|error| PasswordError::Hash(error.to_string()))
        })
        .await?
}

/// Whether `clear` matches the PHC string `hash` (false for a malformed one).
pub async fn verify(clear: String, hash: String) -> Result<bool, PasswordError> {
    HASHING
        .run(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(clear.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
}

/// Whether a stored PHC string was made with other settings than today's
/// (another algorithm, version or cost), so a successful login should
/// store a fresh hash. Unparseable strings need no rehash: they never
/// verify.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let current = Params::default();
    let same_params = Params::try_from(&parsed).is_ok_and(|params| {
        (params.m_cost(), params.t_cost(), params.p_cost())
            == (current.m_cost(), current.t_cost(), current.p_cost())
    });
    let same_version = parsed.version == Some(Version::default().into());
    parsed.algorithm.as_str() != Algorithm::Argon2id.as_str() || !same_version || !same_params
}

/// A real hash of a random password, made once, verified against when the
/// user is unknown so that case costs the same as a wrong password.
static DUMMY_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// Verifies against the user's hash, or against the dummy hash when there
/// is no user; false in the second case, after the same work.
pub async fn verify_or_dummy(clear: String, stored: Option<String>) -> Result<bool, PasswordError> {
    let Some(stored) = stored else {
        let dummy = DUMMY_HASH
            .get_or_try_init(|| hash(uuid::Uuid::new_v4().to_string()))
            .await?;
        verify(clear, dummy.clone()).await?;
        return Ok(false);
    };
    verify(clear, stored).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_work_is_refused_at_once_not_queued() -> Result<(), PasswordError> {
        let pool = std::sync::Arc::new(HashingPool::new(1, 1));
        // A job that runs until told to finish holds the one slot.
        let (release, hold) = mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let first = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move || {
                    let _ = started.send(());
                    hold.recv().is_ok()
                })
                .await
            }
        });
        running
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        // The second waits in the queue; the third finds it full.
        let second = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| "queued").await }
        });
        while pool.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            pool.run(|| "refused").await,
            Err(PasswordError::Overloaded)
        ));
        release
            .send(())
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        assert!(first.await??);
        assert_eq!(second.await??, "queued");
        // With the slot free again, work is admitted again.
        assert_eq!(pool.run(|| "later").await?, "later");
        Ok(())
    }

    #[test]
    fn the_policy_bounds_length_in_characters() {
        assert!(policy_problem(&"a".repeat(MIN_LENGTH - 1)).is_some());
        assert_eq!(policy_problem(&"a".repeat(MIN_LENGTH)), None);
        // 1024 characters of four bytes each: the bound is on characters.
        assert_eq!(policy_problem(&"\u{1F600}".repeat(MAX_LENGTH)), None);
        assert!(policy_problem(&"a".repeat(MAX_LENGTH + 1)).is_some());
    }

    #[tokio::test]
    async fn hashes_verify_and_are_salted() -> Result<(), PasswordError> {
        let first = hash("password123".into()).await?;
        let second = hash("password123".into()).await?;
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second);
        assert!(verify("password123".into(), first.clone()).await?);
        assert!(!verify("password124".into(), first.clone()).await?);
        assert!(!verify("password123".into(), "not a hash".into()).await?);
        assert!(!needs_rehash(&first));
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).map_err(|e| PasswordError::Hash(e.to_string()))?,
        )
        .hash_password(b"password123")
        .map_err(|e| PasswordError::Hash(e.to_string()))?
        .to_string();
        assert!(needs_rehash(&weaker));
        assert!(verify("password123".into(), weaker).await?);
        Ok(())
    }
}
