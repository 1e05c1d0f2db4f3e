//! `warden user add|passwd|grant|revoke|list`: argument shapes and calls
//! into `auth::accounts`. Passwords come from `WARDEN_PASSWORD` or the
//! first line of standard input, never from the command line (where other
//! users of the machine could read them). No SQL here.

use super::{DatabaseArg, load, open};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use warden::auth::accounts;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (password from WARDEN_PASSWORD or stdin).
    Add {
        config: PathBuf,
        /// The login (the [auth] login field's value, e.g. an email).
        login: String,
        /// Set another field: --set is_superuser=true (repeatable).
        #[arg(long = "set", value_name = "FIELD=VALUE", value_parser = field_value)]
        fields: Vec<(String, String)>,
        /// Grant a scope (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Grant a role (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Set an account's password (from WARDEN_PASSWORD or stdin).
    Passwd {
        config: PathBuf,
        login: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Grant scopes and roles to an account.
    Grant {
        config: PathBuf,
        login: String,
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long = "role")]
        roles: Vec<String>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Revoke scopes and roles from an account.
    Revoke {
        config: PathBuf,
        login: String,
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long = "role")]
        roles: Vec<String>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// List accounts with their scopes and roles.
    List {
        config: PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

fn field_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` is not FIELD=VALUE"))
}

fn read_password() -> Result<String> {
    if let Ok(password) = std::env::var("WARDEN_PASSWORD") {
        return Ok(password);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password given: set WARDEN_PASSWORD or write it on standard input");
    }
    Ok(password)
}

fn text(value: &warden_policy::Value) -> String {
    match value {
        warden_policy::Value::Text(text) => text.clone(),
        other => other.to_string(),
    }
}

pub async fn run(command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Add {
            config,
            login,
            fields,
            scopes,
            roles,
            database,
        } => {
            let config = load(&config)?;
            let password = read_password()?;
            let store = open(&config, &database).await?;
            store.migrate(&config).await?;
            let row =
                accounts::add(&config, &store, &login, &password, &fields, &scopes, &roles).await?;
            let key = config
                .users_resource()
                .and_then(|users| row.get(&users.primary_key))
                .map(ToString::to_string)
                .unwrap_or_default();
            // The login as stored: normalised, which may differ from the
            // argument.
            let stored = config
                .auth
                .as_ref()
                .and_then(|auth| row.get(&auth.login))
                .map_or(login, text);
            println!("added {stored} (id {key})");
            store.close().await;
        }
        UserCommand::Passwd {
            config,
            login,
            database,
        } => {
            let config = load(&config)?;
            let password = read_password()?;
            let store = open(&config, &database).await?;
            // The session tables the change clears exist even if `serve`
            // never ran on this database.
            store.migrate(&config).await?;
            let ended = accounts::set_password(&config, &store, &login, &password).await?;
            println!("password of {login} changed; {ended} sessions ended");
            store.close().await;
        }
        UserCommand::Grant {
            config,
            login,
            scopes,
            roles,
            database,
        } => {
            let config = load(&config)?;
            let store = open(&config, &database).await?;
            let added = accounts::grant(&config, &store, &login, &scopes, &roles).await?;
            println!("{added} grants added to {login}");
            store.close().await;
        }
        UserCommand::Revoke {
            config,
            login,
            scopes,
            roles,
            database,
        } => {
            let config = load(&config)?;
            let store = open(&config, &database).await?;
            let removed = accounts::revoke(&config, &store, &login, &scopes, &roles).await?;
            println!("{removed} grants revoked from {login}");
            store.close().await;
        }
        UserCommand::List { config, database } => {
            let config = load(&config)?;
            let store = open(&config, &database).await?;
            for account in accounts::list(&config, &store).await? {
                println!(
                    "{}\t{}\t{}\tscopes: {}\troles: {}",
                    text(&account.id),
                    text(&account.login),
                    if account.active { "active" } else { "inactive" },
                    account.grants.scopes.join(" "),
                    account.grants.roles.join(" "),
                );
            }
            store.close().await;
        }
    }
    Ok(())
}
