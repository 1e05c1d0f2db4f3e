//! The command line: argument shapes (clap derive) and what each command
//! calls in the library. Thin by design: no SQL, no config parsing here.

mod user;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use warden::config::Config;
use warden::policy::Policy;
use warden::store::{SeedData, Store};

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    about = "Authorization-first REST backend: one TOML file becomes a protected API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage accounts: add, passwd, grant, revoke, list.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Load and validate a config and its rules; print every problem with
    /// file:line:column, and warn about rules no index supports.
    Check {
        /// The config file (warden.toml).
        config: PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Print PostgreSQL row-level-security policies generated from the
    /// config's rules (apply them with psql).
    ExportRls { config: PathBuf },
    /// Run the policy tests ([[tests]]) declared in the config.
    Test { config: PathBuf },
    /// Explain a decision: the rule, the caller's scopes, the SQL it
    /// becomes, and for one row every sub-expression's value.
    Explain {
        config: PathBuf,
        /// The user's id, or `anonymous`.
        #[arg(long = "as")]
        as_user: String,
        /// list, read, create, update or delete.
        action: String,
        /// RESOURCE or RESOURCE/ID.
        target: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Create or extend the database schema to match the config (additive only).
    Migrate {
        config: PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Load seed data (default: seed.toml beside the config), migrating first.
    Seed {
        config: PathBuf,
        /// The seed file; defaults to seed.toml in the config's folder.
        file: Option<PathBuf>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Migrate (and optionally seed) the database, then serve the API.
    Serve {
        config: PathBuf,
        /// Address to listen on.
        #[arg(long, env = "WARDEN_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        #[command(flatten)]
        database: DatabaseArg,
        /// Development mode (generated JWT secret, verbose errors).
        #[arg(long)]
        dev: bool,
        /// Load seed.toml beside the config before serving.
        #[arg(long)]
        seed: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct DatabaseArg {
    /// Database URL (sqlite://FILE or postgres://...); overrides the config's.
    #[arg(long = "database", env = "WARDEN_DATABASE_URL")]
    pub url: Option<String>,
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::User { command } => user::run(command).await,
        Command::Check { config, database } => {
            let config = load(&config)?;
            let dialect = dialect_of(&config, &database)?;
            let policy = Policy::compile(&config, dialect).map_err(|e| anyhow::anyhow!("{e}"))?;
            for warning in warden::policy::index_warnings(&config, &policy) {
                println!("warning: {warning}");
            }
            println!(
                "{}: ok ({} resources, {} policy tests)",
                config.path.display(),
                config.resources.len(),
                config.tests.len()
            );
            Ok(())
        }
        Command::ExportRls { config } => {
            let config = load(&config)?;
            let policy = Policy::compile(&config, warden_policy::Dialect::Postgres)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print!("{}", warden::rls::export(&config, &policy)?);
            Ok(())
        }
        Command::Test { config } => {
            let config = load(&config)?;
            let dialect = dialect_of(&config, &DatabaseArg { url: None })?;
            let policy = Policy::compile(&config, dialect).map_err(|e| anyhow::anyhow!("{e}"))?;
            let results = warden::rule_tests::run(&config, &policy);
            let failed = results.iter().filter(|r| !r.passed).count();
            for result in &results {
                if result.passed {
                    println!("ok   {}", result.label);
                } else {
                    println!("FAIL {}\n{}", result.label, indent(&result.detail));
                }
            }
            println!("{} passed, {failed} failed", results.len() - failed);
            if failed > 0 {
                anyhow::bail!("{failed} policy test(s) failed");
            }
            Ok(())
        }
        Command::Explain {
            config,
            as_user,
            action,
            target,
            database,
        } => {
            let config = load(&config)?;
            let parsed = warden_policy::Action::parse(&action).with_context(|| {
                format!("unknown action `{action}`; use list, read, create, update or delete")
            })?;
            let store = open(&config, &database).await?;
            let policy =
                Policy::compile(&config, store.dialect()).map_err(|e| anyhow::anyhow!("{e}"))?;
            let text =
                warden::explain::explain(&config, &store, &policy, &as_user, parsed, &target)
                    .await?;
            print!("{text}");
            store.close().await;
            Ok(())
        }
        Command::Migrate { config, database } => {
            let config = load(&config)?;
            let store = open(&config, &database).await?;
            let report = store.migrate(&config).await?;
            println!("{report}");
            store.close().await;
            Ok(())
        }
        Command::Seed {
            config,
            file,
            database,
        } => {
            let config = load(&config)?;
            let store = open(&config, &database).await?;
            store.migrate(&config).await?;
            seed(&config, &store, file.as_deref()).await?;
            store.close().await;
            Ok(())
        }
        Command::Serve {
            config,
            listen,
            database,
            dev,
            seed: with_seed,
        } => {
            let config = load(&config)?;
            let store = open(&config, &database).await?;
            let report = store.migrate(&config).await?;
            println!("{report}");
            if with_seed {
                seed(&config, &store, None).await?;
            }
            let secret = warden::server::jwt_secret(config.folder(), dev)?;
            let app = warden::app::App::new(config, store, &secret)?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            println!("warden listening on http://{}", listener.local_addr()?);
            warden::server::serve(app, listener).await?;
            Ok(())
        }
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("     {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The dialect the rules are checked for: the database given, else the
/// config's.
fn dialect_of(config: &Config, database: &DatabaseArg) -> Result<warden_policy::Dialect> {
    let (url, base) = match database.url.as_deref() {
        Some(url) => (url, Path::new(".")),
        None => (config.database.url.as_str(), config.folder()),
    };
    warden::store::DatabaseTarget::parse(url, base)
        .map(|t| t.dialect())
        .with_context(|| format!("unsupported database url `{url}`"))
}

fn load(path: &Path) -> Result<Config> {
    // The error already lists every problem with its position.
    Config::load(path).map_err(|error| anyhow::anyhow!("{error}"))
}

async fn open(config: &Config, database: &DatabaseArg) -> Result<Store> {
    Store::open(config, database.url.as_deref())
        .await
        .context("cannot open the database")
}

async fn seed(config: &Config, store: &Store, file: Option<&Path>) -> Result<()> {
    let path = file.map_or_else(|| config.folder().join("seed.toml"), Path::to_path_buf);
    let data = SeedData::load(&path, config)?;
    let report = store.seed(config, &data).await?;
    println!("{}: {report}", path.display());
    Ok(())
}
