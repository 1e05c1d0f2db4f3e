//! The command line: argument shapes (clap derive), what each command
//! calls in the library's public API (`warden::admin`, `warden::serve`),
//! and what it prints. Thin by design: no SQL, no config parsing here.

mod user;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use warden::admin::{AdminError, ConfigFile, Database};

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
            let checked = config.check(database.url.as_deref()).map_err(flat)?;
            for warning in &checked.warnings {
                println!("warning: {warning}");
            }
            println!(
                "{}: ok ({} resources, {} policy tests)",
                config.path().display(),
                checked.resources,
                checked.rule_tests
            );
            Ok(())
        }
        Command::ExportRls { config } => {
            print!("{}", load(&config)?.export_rls().map_err(flat)?);
            Ok(())
        }
        Command::Test { config } => {
            let results = load(&config)?.rule_tests().map_err(flat)?;
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
            let parsed = warden::Action::parse(&action).with_context(|| {
                format!("unknown action `{action}`; use list, read, create, update or delete")
            })?;
            let database = open(&config, &database).await?;
            let text = database
                .explain(&as_user, parsed, &target)
                .await
                .map_err(flat)?;
            print!("{text}");
            database.close().await;
            Ok(())
        }
        Command::Migrate { config, database } => {
            let database = open(&load(&config)?, &database).await?;
            println!("{}", database.migrate().await.map_err(flat)?);
            database.close().await;
            Ok(())
        }
        Command::Seed {
            config,
            file,
            database,
        } => {
            let config = load(&config)?;
            let file = file.unwrap_or_else(|| config.default_seed_file());
            let database = open(&config, &database).await?;
            database.migrate().await.map_err(flat)?;
            seed(&database, &file).await?;
            database.close().await;
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
            let database = open(&config, &database).await?;
            println!("{}", database.migrate().await.map_err(flat)?);
            if with_seed {
                seed(&database, &config.default_seed_file()).await?;
            }
            let secret = config.jwt_secret(dev).map_err(flat)?;
            let warden = database.into_warden(&secret).map_err(flat)?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            println!("warden listening on http://{}", listener.local_addr()?);
            warden::serve(warden.router(), listener).await?;
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

/// The library's message as it stands: each one already names its cause,
/// so printing its source chain too would repeat it.
fn flat(error: AdminError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

fn load(path: &Path) -> Result<ConfigFile> {
    // The error already lists every problem with its position.
    ConfigFile::load(path).map_err(flat)
}

async fn open(config: &ConfigFile, database: &DatabaseArg) -> Result<Database> {
    config
        .open(database.url.as_deref())
        .await
        .map_err(flat)
        .context("cannot open the database")
}

async fn seed(database: &Database, file: &Path) -> Result<()> {
    let report = database.seed(file).await.map_err(flat)?;
    println!("{}: {report}", file.display());
    Ok(())
}
