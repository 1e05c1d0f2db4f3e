//! The command line: argument shapes (clap derive) and what each command
//! calls in the library. Thin by design: no SQL, no config parsing here.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use warden::config::Config;
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
    /// Load and validate a config; print every problem with file:line:column.
    Check {
        /// The config file (warden.toml).
        config: PathBuf,
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
        Command::Check { config } => {
            let config = load(&config)?;
            println!(
                "{}: ok ({} resources, {} policy tests)",
                config.path.display(),
                config.resources.len(),
                config.tests.len()
            );
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
