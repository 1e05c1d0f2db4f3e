//! The public face of the crate for Rust apps: a [`Warden`] built from a
//! config file or from code, its router, and what hand-written handlers
//! use to be guarded by the same rules. It only assembles and forwards;
//! decisions stay in `authz`, credentials in `auth`.

mod define;
mod guard;
mod principal;
mod scopes;

pub use define::{Auth, Field, Resource};
pub use guard::{Guard, ListScope};
pub use principal::{MaybePrincipal, Principal};
pub use scopes::{RequireScopes, RequireScopesLayer};

use crate::app::{App, StartError};
use crate::auth::login::{self, LoginError};
use crate::auth::session;
use crate::config::{Config, ConfigError};
use crate::server::SecretError;
use crate::store::{SeedData, Store, StoreError};
use axum::Router;
use std::path::{Path, PathBuf};
use warden_policy::Dialect;

/// A running warden: config, database pool, compiled rules and token
/// keys. Cheap to clone (one `Arc`); put it in your axum state and let
/// [`Principal`] and [`Guard`] find it through `FromRef`.
///
/// ```
/// # tokio_test::block_on(async {
/// let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
///     .database("sqlite::memory:")
///     .jwt_secret("a-secret-of-at-least-32-bytes-long!!")
///     .build()
///     .await?;
/// let app: axum::Router = warden.router();
/// # drop(app);
/// # Ok::<(), warden::BuildError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Warden {
    app: App,
}

/// Why a [`Warden`] could not be built.
///
/// ```
/// # tokio_test::block_on(async {
/// let missing = warden::Warden::from_file("no/such/warden.toml").build().await;
/// assert!(matches!(missing, Err(warden::BuildError::Config(_))));
/// # });
/// ```
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The config (file or code) is invalid; the message names each problem.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The database could not be opened, migrated or seeded.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// No usable JWT secret.
    #[error("{0}")]
    Secret(#[from] SecretError),
    /// The rules do not compile for the database's dialect.
    #[error("{0}")]
    Start(#[from] StartError),
    /// The config built in code could not be written as TOML.
    #[error("cannot write the config built in code: {0}")]
    Serialize(#[from] toml::ser::Error),
}

/// Where the config comes from.
#[derive(Debug)]
enum Source {
    File(PathBuf),
    Code(toml::Table),
}

/// Builds a [`Warden`]: [`Warden::from_file`] or [`Warden::builder`],
/// then optional settings, then [`Builder::build`].
///
/// ```
/// let builder: warden::Builder = warden::Warden::from_file("warden.toml")
///     .database("postgres://postgres@127.0.0.1/app")
///     .seed("seed.toml");
/// # drop(builder);
/// ```
#[derive(Debug)]
#[must_use]
pub struct Builder {
    source: Source,
    database: Option<String>,
    secret: Option<Vec<u8>>,
    seed: Option<PathBuf>,
}

impl Warden {
    /// Starts from a TOML config file (the same file `warden serve` takes).
    ///
    /// ```
    /// let builder = warden::Warden::from_file("examples/posts/warden.toml");
    /// # drop(builder);
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Builder {
        Builder::new(Source::File(path.as_ref().to_path_buf()))
    }

    /// Starts from nothing: add the auth section and resources in code.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// use warden::{Action, Auth, Field, Resource, Warden};
    /// let warden = Warden::builder()
    ///     .auth(Auth::new("users", "email"))
    ///     .resource(
    ///         Resource::new("users")
    ///             .field("id", Field::integer().primary())
    ///             .field("email", Field::text().unique().immutable())
    ///             .field("password", Field::password())
    ///             .rule(Action::Read, "row.id == user.id"),
    ///     )
    ///     .resource(
    ///         Resource::new("notes")
    ///             .field("id", Field::integer().primary())
    ///             .field("body", Field::text())
    ///             .field("owner_id", Field::integer().references("users").owner())
    ///             .rule(Action::List, "row.owner_id == user.id")
    ///             .rule(Action::Read, "row.owner_id == user.id")
    ///             .rule(Action::Create, "user != null"),
    ///     )
    ///     .database("sqlite::memory:")
    ///     .jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    ///     .build()
    ///     .await?;
    /// assert!(warden.config_toml().contains("[resources.notes"));
    /// # Ok::<(), warden::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn builder() -> Builder {
        Builder::new(Source::Code(toml::Table::new()))
    }

    /// The built-in API (`/api/*`, `/auth/*`, `/openapi.json`, `/healthz`
    /// and the HTML pages) with its state applied: `merge` it into your
    /// router. Its links and redirects are absolute, so merge it at the
    /// root rather than `nest` it under a prefix.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .build().await.unwrap();
    /// let app = axum::Router::new()
    ///     .route("/hello", axum::routing::get(|| async { "hi" }))
    ///     .merge(warden.router());
    /// # drop(app);
    /// # });
    /// ```
    pub fn router(&self) -> Router {
        self.app.router()
    }

    /// Authorization for one caller (`None`: anonymous), with the same
    /// rules, statuses and denial log as the built-in API.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .build().await.unwrap();
    /// // Anonymous callers may not create posts in this example: 401.
    /// let refused = warden.guard(None).create("posts", serde_json::json!({"title": "x"})).await;
    /// assert_eq!(refused.unwrap_err().status(), 401);
    /// # });
    /// ```
    pub fn guard<'a>(&'a self, principal: Option<&'a Principal>) -> Guard<'a> {
        Guard::new(&self.app, principal)
    }

    /// Checks a login and password as `POST /auth/token` does (argon2,
    /// the config's failure limits per account; `address` adds the
    /// per-address limit) and returns the principal with every scope the
    /// user holds. Wrong credentials and unknown users look the same.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .build().await.unwrap();
    /// let wrong = warden.log_in("nobody@example.com", "nope", None).await;
    /// assert!(matches!(wrong, Err(warden::LoginError::InvalidCredentials)));
    /// # });
    /// ```
    pub async fn log_in(
        &self,
        login: &str,
        password: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<Principal, LoginError> {
        login::authenticate(&self.app, login, password, address)
            .await
            .map(|login| Principal::from_user(login.user))
    }

    /// An access token for `principal` in a new session (so logout and
    /// deactivation end it at once), carrying all of its scopes; valid for
    /// the config's `token_ttl`. Send it as `Authorization: Bearer <token>`
    /// (or the config's `token_scheme`).
    ///
    /// ```no_run
    /// # async fn f(warden: warden::Warden) -> Result<(), Box<dyn std::error::Error>> {
    /// let principal = warden.log_in("user1@example.com", "password123", None).await?;
    /// let token = warden.issue_token(&principal).await?;
    /// # drop(token); Ok(()) }
    /// ```
    pub async fn issue_token(
        &self,
        principal: &Principal,
    ) -> Result<String, session::SessionError> {
        let user = principal.user();
        let scopes = user.principal.scopes.clone();
        session::start_token_family(&self.app, user, scopes, None)
            .await
            .map(|issued| issued.access_token)
    }

    /// The database's dialect, for building your own statements.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .build().await.unwrap();
    /// assert_eq!(warden.dialect(), warden::Dialect::Sqlite);
    /// # });
    /// ```
    pub fn dialect(&self) -> Dialect {
        self.app.store().dialect()
    }

    /// The SQLite pool, when the database is SQLite: your handlers' own
    /// statements share warden's connections.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .build().await.unwrap();
    /// let pool = warden.sqlite_pool().expect("a SQLite database");
    /// let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM posts").fetch_one(pool).await.unwrap();
    /// assert_eq!(n, 0);
    /// # });
    /// ```
    pub fn sqlite_pool(&self) -> Option<&sqlx::SqlitePool> {
        self.app.store().sqlite_pool()
    }

    /// The PostgreSQL pool, when the database is PostgreSQL.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .build().await.unwrap();
    /// assert!(warden.postgres_pool().is_none());
    /// # });
    /// ```
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        self.app.store().postgres_pool()
    }

    /// The config as TOML, as warden read it (for a config built in code,
    /// the file it amounts to).
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .build().await.unwrap();
    /// assert!(warden.config_toml().contains("[resources.posts"));
    /// # });
    /// ```
    pub fn config_toml(&self) -> &str {
        &self.app.config().source
    }

    /// The engine inside, for the crate's own extractors and tests.
    #[doc(hidden)]
    pub fn app(&self) -> &App {
        &self.app
    }
}

impl From<App> for Warden {
    fn from(app: App) -> Self {
        Warden { app }
    }
}

impl Builder {
    fn new(source: Source) -> Builder {
        Builder {
            source,
            database: None,
            secret: None,
            seed: None,
        }
    }

    /// The database URL (`sqlite://file.db`, `sqlite::memory:`,
    /// `postgres://…`), instead of the config's `[database] url`.
    ///
    /// ```
    /// let builder = warden::Warden::builder().database("sqlite::memory:");
    /// # drop(builder);
    /// ```
    pub fn database(mut self, url: impl Into<String>) -> Builder {
        self.database = Some(url.into());
        self
    }

    /// The HS256 signing secret (at least 32 bytes). Without it the
    /// secret comes from `WARDEN_JWT_SECRET` or the file named by
    /// `WARDEN_JWT_SECRET_FILE`, as for `warden serve`.
    ///
    /// ```
    /// let builder = warden::Warden::builder().jwt_secret("a-secret-of-at-least-32-bytes-long!!");
    /// # drop(builder);
    /// ```
    pub fn jwt_secret(mut self, secret: impl AsRef<[u8]>) -> Builder {
        self.secret = Some(secret.as_ref().to_vec());
        self
    }

    /// Loads this seed file after migrating (rows already there are kept).
    ///
    /// ```
    /// let builder = warden::Warden::from_file("examples/posts/warden.toml")
    ///     .seed("examples/posts/seed.toml");
    /// # drop(builder);
    /// ```
    pub fn seed(mut self, path: impl AsRef<Path>) -> Builder {
        self.seed = Some(path.as_ref().to_path_buf());
        self
    }

    /// Adds the `[auth]` section (a config built in code only).
    ///
    /// ```
    /// let builder = warden::Warden::builder().auth(warden::Auth::new("users", "email"));
    /// # drop(builder);
    /// ```
    pub fn auth(self, auth: Auth) -> Builder {
        self.with_table(|root| {
            root.insert("auth".into(), toml::Value::Table(auth.into_table()));
        })
    }

    /// Adds a resource (a config built in code only).
    ///
    /// ```
    /// let builder = warden::Warden::builder().resource(
    ///     warden::Resource::new("tags").field("name", warden::Field::text().primary()),
    /// );
    /// # drop(builder);
    /// ```
    pub fn resource(self, resource: Resource) -> Builder {
        self.with_table(|root| {
            let (name, table) = resource.into_entry();
            let resources = root
                .entry("resources")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(resources) = resources {
                resources.insert(name, toml::Value::Table(table));
            }
        })
    }

    /// Adds a named rule that other rules can call (a config built in code
    /// only).
    ///
    /// ```
    /// let builder = warden::Warden::builder().named_rule("is_admin", "has_scope(\"admin\")");
    /// # drop(builder);
    /// ```
    pub fn named_rule(self, name: impl Into<String>, rule: impl Into<String>) -> Builder {
        let (name, rule) = (name.into(), rule.into());
        self.with_table(|root| {
            let rules = root
                .entry("rules")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(rules) = rules {
                rules.insert(name, toml::Value::String(rule));
            }
        })
    }

    fn with_table(mut self, change: impl FnOnce(&mut toml::Table)) -> Builder {
        match &mut self.source {
            Source::Code(root) => change(root),
            Source::File(path) => {
                // Mixing a file with code would leave two sources of truth.
                tracing::warn!(path = %path.display(), "ignored: resources and auth added in code to a config read from a file");
            }
        }
        self
    }

    /// Validates the config, opens and migrates the database, seeds it if
    /// asked, and compiles the rules. Every config problem is reported
    /// with its line and column (for code, in the TOML it amounts to).
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// let wrong = warden::Warden::builder()
    ///     .resource(warden::Resource::new("notes")
    ///         .field("id", warden::Field::integer().primary())
    ///         .rule(warden::Action::Read, "row.ownr == 1"))
    ///     .database("sqlite::memory:")
    ///     .jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    ///     .build()
    ///     .await;
    /// assert!(wrong.unwrap_err().to_string().contains("ownr"));
    /// # });
    /// ```
    pub async fn build(self) -> Result<Warden, BuildError> {
        let config = match self.source {
            Source::File(path) => Config::load(&path)?,
            Source::Code(mut root) => {
                if !root.contains_key("database") {
                    let mut database = toml::Table::new();
                    database.insert("url".into(), "sqlite::memory:".into());
                    root.insert("database".into(), toml::Value::Table(database));
                }
                let text = toml::to_string(&root)?;
                let folder = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
                Config::parse(&folder.join("(config built in code).toml"), &text)?
            }
        };
        let store = Store::open(&config, self.database.as_deref()).await?;
        store.migrate(&config).await?;
        if let Some(path) = &self.seed {
            let data = SeedData::load(path, &config)?;
            store.seed(&config, &data).await?;
        }
        let secret = match self.secret {
            Some(secret) if secret.len() < crate::token::MIN_SECRET_BYTES => {
                return Err(SecretError::Weak(secret.len()).into());
            }
            Some(secret) => secret,
            None => crate::server::jwt_secret(config.folder(), false)?,
        };
        Ok(Warden {
            app: App::new(config, store, &secret)?,
        })
    }
}
