//! `warden user add|passwd|grant|revoke|list`: argument shapes and calls
//! into `warden::admin`'s account operations. Passwords come from `WARDEN_PASSWORD` or the
//! first line of standard input, never from the command line (where other
//! users of the machine could read them). No SQL here.

use super::{DatabaseArg, flat, load, open};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use warden::Value;

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

fn text(value: &Value) -> String {
    match value {
        Value::Text(text) => text.clone(),
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
            let database = open(&config, &database).await?;
            database.migrate().await.map_err(flat)?;
            let account = database
                .add_user(&login, &password, &fields, &scopes, &roles)
                .await
                .map_err(flat)?;
            // The login as stored: normalised, which may differ from the
            // argument.
            println!("added {} (id {})", text(&account.login), account.id);
            database.close().await;
        }
        UserCommand::Passwd {
            config,
            login,
            database,
        } => {
            let config = load(&config)?;
            let password = read_password()?;
            let database = open(&config, &database).await?;
            // The session tables the change clears exist even if `serve`
            // never ran on this database.
            database.migrate().await.map_err(flat)?;
            let ended = database
                .set_password(&login, &password)
                .await
                .map_err(flat)?;
            println!("password of {login} changed; {ended} sessions ended");
            database.close().await;
        }
        UserCommand::Grant {
            config,
            login,
            scopes,
            roles,
            database,
        } => {
            let database = open(&load(&config)?, &database).await?;
            let added = database
                .grant(&login, &scopes, &roles)
                .await
                .map_err(flat)?;
            println!("{added} grants added to {login}");
            database.close().await;
        }
        UserCommand::Revoke {
            config,
            login,
            scopes,
            roles,
            database,
        } => {
            let database = open(&load(&config)?, &database).await?;
            let removed = database
                .revoke(&login, &scopes, &roles)
                .await
                .map_err(flat)?;
            println!("{removed} grants revoked from {login}");
            database.close().await;
        }
        UserCommand::List { config, database } => {
            let database = open(&load(&config)?, &database).await?;
            for account in database.users().await.map_err(flat)? {
                println!(
                    "{}\t{}\t{}\tscopes: {}\troles: {}",
                    text(&account.id),
                    text(&account.login),
                    if account.active { "active" } else { "inactive" },
                    account.grants.scopes.join(" "),
                    account.grants.roles.join(" "),
                );
            }
            database.close().await;
        }
    }
    Ok(())
}
