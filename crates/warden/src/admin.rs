//! The `warden` command's operations as a library API: load and check a
//! config, run its policy tests, export row-level security, and on a
//! database migrate, seed, explain a decision, manage accounts and start
//! serving. The `warden` binary is a thin shell over these; an app can run
//! the same operations from its own commands. Nothing here parses
//! arguments, prints, or decides authorization itself.

use crate::app::{App, StartError};
use crate::auth::accounts::{self, AccountError};
use crate::config::{Config, ConfigError};
use crate::explain::ExplainError;
use crate::library::Warden;
use crate::policy::{Policy, PolicyErrors};
use crate::rls::RlsError;
use crate::server::SecretError;
use crate::store::{DatabaseTarget, SeedData, Store, StoreError};
use std::path::{Path, PathBuf};
use warden_policy::{Action, Dialect, Value};

pub use crate::auth::accounts::Account;
pub use crate::rule_tests::CaseResult;
pub use crate::store::{Grants, MigrationReport, SeedReport};

/// Why an operation failed. Each message is complete: it names the
/// problem and its cause, so printing it once is enough.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The config file cannot be read or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The rules do not compile for the dialect asked for.
    #[error(transparent)]
    Rules(#[from] PolicyErrors),
    /// A database URL that is neither SQLite nor PostgreSQL.
    #[error("unsupported database url `{0}`")]
    UnsupportedDatabase(String),
    /// The database refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An account operation was refused.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// A decision could not be explained (unknown resource, user or row).
    #[error(transparent)]
    Explain(#[from] ExplainError),
    /// The rules cannot be exported as PostgreSQL policies.
    #[error(transparent)]
    Rls(#[from] RlsError),
    /// No usable JWT secret.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The engine would not start (rules or token keys).
    #[error(transparent)]
    Start(#[from] StartError),
}

/// A config file, loaded and validated: what `warden check`, `test` and
/// `export-rls` need, and the way to its database.
///
/// ```
/// let config = warden::admin::ConfigFile::load("../../examples/posts/warden.toml")?;
/// let checked = config.check(None)?;
/// assert_eq!(checked.resources, 3);
/// assert!(config.rule_tests()?.iter().all(|case| case.passed));
/// # Ok::<(), warden::admin::AdminError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConfigFile {
    config: Config,
}

/// What `warden check` found in a valid config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub resources: usize,
    pub rule_tests: usize,
    /// Rules no index supports, one sentence each.
    pub warnings: Vec<String>,
}

impl ConfigFile {
    /// Reads and validates a config; the error lists every problem with
    /// its line and column.
    pub fn load(path: impl AsRef<Path>) -> Result<ConfigFile, AdminError> {
        Ok(ConfigFile {
            config: Config::load(path.as_ref())?,
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.config.path
    }

    /// `seed.toml` in the config's folder: the seed file when none is named.
    pub fn default_seed_file(&self) -> PathBuf {
        self.config.folder().join("seed.toml")
    }

    /// Compiles the rules for `database`'s dialect (the config's database
    /// when `None`) and lists the rules no index supports.
    pub fn check(&self, database: Option<&str>) -> Result<Checked, AdminError> {
        let policy = Policy::compile(&self.config, self.dialect(database)?)?;
        Ok(Checked {
            resources: self.config.resources.len(),
            rule_tests: self.config.tests.len(),
            warnings: crate::policy::index_warnings(&self.config, &policy),
        })
    }

    /// Runs the config's `[[tests]]` in memory, in file order. No database.
    pub fn rule_tests(&self) -> Result<Vec<CaseResult>, AdminError> {
        let policy = Policy::compile(&self.config, self.dialect(None)?)?;
        Ok(crate::rule_tests::run(&self.config, &policy))
    }

    /// PostgreSQL row-level-security policies from the same rules, as one
    /// SQL script (for psql).
    pub fn export_rls(&self) -> Result<String, AdminError> {
        let policy = Policy::compile(&self.config, Dialect::Postgres)?;
        Ok(crate::rls::export(&self.config, &policy)?)
    }

    /// The HS256 secret `warden serve` signs with: `WARDEN_JWT_SECRET`,
    /// else the file named by `WARDEN_JWT_SECRET_FILE`, else (only with
    /// `dev`) a random secret kept in the config's folder.
    pub fn jwt_secret(&self, dev: bool) -> Result<Vec<u8>, AdminError> {
        Ok(crate::server::jwt_secret(self.config.folder(), dev)?)
    }

    /// Opens `database` (`sqlite://FILE`, `postgres://…`), or the config's
    /// database when `None`. Changes nothing: see [`Database::migrate`].
    pub async fn open(&self, database: Option<&str>) -> Result<Database, AdminError> {
        let store = Store::open(&self.config, database).await?;
        Ok(Database {
            config: self.config.clone(),
            store,
        })
    }

    /// The dialect rules are checked for: `database`'s, else the config's.
    fn dialect(&self, database: Option<&str>) -> Result<Dialect, AdminError> {
        let (url, base) = match database {
            Some(url) => (url, Path::new(".")),
            None => (self.config.database.url.as_str(), self.config.folder()),
        };
        DatabaseTarget::parse(url, base)
            .map(|target| target.dialect())
            .ok_or_else(|| AdminError::UnsupportedDatabase(url.to_owned()))
    }
}

/// A config and its open database: migrations, seed data, explanations
/// and accounts. Close it when done ([`Database::close`]), or turn it into
/// a [`Warden`] to serve.
///
/// ```
/// # tokio_test::block_on(async {
/// use warden::admin::ConfigFile;
/// let config = ConfigFile::load("../../examples/posts/warden.toml")?;
/// let database = config.open(Some("sqlite::memory:")).await?;
/// database.migrate().await?;
/// let admin = ["admin".to_owned()];
/// let ann = database.add_user(" Ann@Example.com", "password123", &[], &[], &admin).await?;
/// assert_eq!(ann.login, warden::Value::Text("ann@example.com".into()));
/// assert_eq!(ann.grants.roles, admin);
/// assert_eq!(database.users().await?.len(), 1);
/// database.close().await;
/// # Ok::<(), warden::admin::AdminError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Database {
    config: Config,
    store: Store,
}

impl Database {
    /// The database's dialect.
    pub fn dialect(&self) -> Dialect {
        self.store.dialect()
    }

    /// Creates or extends the schema to match the config; additive only
    /// (a change warden will not make by itself is an error that names it).
    pub async fn migrate(&self) -> Result<MigrationReport, AdminError> {
        Ok(self.store.migrate(&self.config).await?)
    }

    /// Loads a seed file (passwords hashed on the way in); rows whose key
    /// or unique values are already there are kept as they are.
    pub async fn seed(&self, file: &Path) -> Result<SeedReport, AdminError> {
        let data = SeedData::load(file, &self.config)?;
        Ok(self.store.seed(&self.config, &data).await?)
    }

    /// Why user `as_user` (`anonymous` for none) may or may not do
    /// `action` on `target` (`RESOURCE` or `RESOURCE/ID`), gate by gate,
    /// as text. Reads only.
    pub async fn explain(
        &self,
        as_user: &str,
        action: Action,
        target: &str,
    ) -> Result<String, AdminError> {
        let policy = Policy::compile(&self.config, self.store.dialect())?;
        Ok(
            crate::explain::explain(&self.config, &self.store, &policy, as_user, action, target)
                .await?,
        )
    }

    /// Creates an account with `login` (normalised as every login is),
    /// `password` (checked against the password policy, then hashed),
    /// other `fields` as `(name, text)` pairs, and the given grants.
    pub async fn add_user(
        &self,
        login: &str,
        password: &str,
        fields: &[(String, String)],
        scopes: &[String],
        roles: &[String],
    ) -> Result<Account, AdminError> {
        let row = accounts::add(
            &self.config,
            &self.store,
            login,
            password,
            fields,
            scopes,
            roles,
        )
        .await?;
        let field = |name: Option<&String>| {
            name.and_then(|name| row.get(name))
                .cloned()
                .unwrap_or(Value::Null)
        };
        Ok(Account {
            id: field(self.config.users_resource().map(|users| &users.primary_key)),
            login: field(self.config.auth.as_ref().map(|auth| &auth.login)),
            active: !matches!(row.get("active"), Some(Value::Bool(false))),
            grants: Grants {
                scopes: sorted(scopes),
                roles: sorted(roles),
            },
        })
    }

    /// Sets an account's password and ends every session it has, in one
    /// transaction; returns how many sessions ended.
    pub async fn set_password(&self, login: &str, password: &str) -> Result<u64, AdminError> {
        Ok(accounts::set_password(&self.config, &self.store, login, password).await?)
    }

    /// Grants scopes and roles; returns how many grants were new.
    pub async fn grant(
        &self,
        login: &str,
        scopes: &[String],
        roles: &[String],
    ) -> Result<u64, AdminError> {
        Ok(accounts::grant(&self.config, &self.store, login, scopes, roles).await?)
    }

    /// Revokes scopes and roles; returns how many grants were removed.
    pub async fn revoke(
        &self,
        login: &str,
        scopes: &[String],
        roles: &[String],
    ) -> Result<u64, AdminError> {
        Ok(accounts::revoke(&self.config, &self.store, login, scopes, roles).await?)
    }

    /// Every account, by key, with its grants.
    pub async fn users(&self) -> Result<Vec<Account>, AdminError> {
        Ok(accounts::list(&self.config, &self.store).await?)
    }

    /// The engine over this database, signing tokens with `jwt_secret`:
    /// serve its [`Warden::router`] with [`crate::serve`]. Migrate first.
    pub fn into_warden(self, jwt_secret: &[u8]) -> Result<Warden, AdminError> {
        Ok(App::new(self.config, self.store, jwt_secret)?.into())
    }

    /// Closes the database's connections, waiting for them to finish.
    pub async fn close(self) {
        self.store.close().await;
    }
}

/// Grants as [`Grants`] holds them: sorted, each once.
fn sorted(names: &[String]) -> Vec<String> {
    let mut names = names.to_vec();
    names.sort_unstable();
    names.dedup();
    names
}
