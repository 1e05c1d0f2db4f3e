//! Accounts: self-registration (`POST /auth/register`, limited per client
//! address) and the administrator's `warden user add|passwd|grant|revoke|list`.
//! Login names are normalised and passwords checked for length and hashed
//! here, before they reach the store; a taken login is refused before any
//! hashing. It must not authenticate requests nor issue credentials.

use super::limit::{LimitError, RegistrationAttempt};
use crate::config::{AuthConfig, Config, FieldKind, ResourceDef};
use crate::password::{self, PasswordError};
use crate::rows::input::{InputError, WriteMode, apply_defaults, parse_body};
use crate::store::{Grants, Row, Store, StoreError, Violation, select_all, to_sql_value};
use crate::timestamp;
use sea_query::{Alias, Expr, ExprTrait, Order, Query};
use serde_json::{Map, Value as Json};
use std::net::IpAddr;
use warden_policy::Value;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("registration is closed on this server")]
    RegistrationClosed,
    #[error("too many registrations from this address; retry in {0} s")]
    RateLimited(u64),
    #[error("no [auth] section names a users resource")]
    NoUsers,
    #[error("{}", describe(.0))]
    Input(#[from] InputError),
    #[error("an account with this {0} already exists")]
    Taken(String),
    #[error("no user has the login `{0}`")]
    UnknownUser(String),
    #[error("`{0}` is not a scope declared in [auth] scopes")]
    UnknownScope(String),
    #[error("`{0}` is not a role declared in [auth] roles")]
    UnknownRole(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Password(#[from] PasswordError),
}

impl From<LimitError> for AccountError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Exhausted(seconds) => AccountError::RateLimited(seconds),
            LimitError::Store(error) => AccountError::Store(error),
        }
    }
}

/// An input error with every field's problem, for the command line.
fn describe(error: &InputError) -> String {
    match error {
        InputError::Invalid(fields) => fields
            .iter()
            .map(|(field, problem)| format!("{field}: {problem}"))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn auth_and_users(config: &Config) -> Result<(&AuthConfig, &ResourceDef), AccountError> {
    match (&config.auth, config.users_resource()) {
        (Some(auth), Some(users)) => Ok((auth, users)),
        _ => Err(AccountError::NoUsers),
    }
}

fn password_field(users: &ResourceDef) -> Option<&str> {
    users
        .fields
        .values()
        .find(|field| field.kind == FieldKind::Password)
        .map(|field| field.name.as_str())
}

fn check_length(field: &str, clear: &str) -> Result<(), AccountError> {
    match password::policy_problem(clear) {
        None => Ok(()),
        Some(problem) => Err(AccountError::Input(InputError::Invalid(vec![(
            field.to_owned(),
            problem,
        )]))),
    }
}

/// The user row whose login field holds `login`, in any spelling that
/// normalises to the same name.
pub async fn find_by_login(
    config: &Config,
    store: &Store,
    login: &str,
) -> Result<Option<Row>, StoreError> {
    let (Some(auth), Some(users)) = (&config.auth, config.users_resource()) else {
        return Ok(None);
    };
    let mut select = select_all(users);
    select
        .and_where(
            Expr::col((
                Alias::new(users.table.clone()),
                Alias::new(auth.login.clone()),
            ))
            .eq(Expr::val(crate::login_name::normalize(login))),
        )
        .limit(1);
    Ok(store.fetch_rows(users, &select).await?.into_iter().next())
}

async fn existing_user(config: &Config, store: &Store, login: &str) -> Result<Row, AccountError> {
    find_by_login(config, store, login)
        .await?
        .ok_or_else(|| AccountError::UnknownUser(login.to_owned()))
}

/// Hashes the password fields of a row about to be written.
async fn hash_passwords(users: &ResourceDef, row: &mut Row) -> Result<(), AccountError> {
    if let Some(field) = password_field(users)
        && let Some(Value::Text(clear)) = row.get(field)
    {
        check_length(field, clear)?;
        let hashed = password::hash(clear.clone()).await?;
        row.insert(field.to_owned(), Value::Text(hashed));
    }
    Ok(())
}

/// Inserts a new user unless the login is taken; returns the stored row.
async fn insert_user(config: &Config, store: &Store, mut row: Row) -> Result<Row, AccountError> {
    let (auth, users) = auth_and_users(config)?;
    let login = match row.get(&auth.login) {
        Some(Value::Text(login)) => crate::login_name::normalize(login),
        _ => String::new(),
    };
    if login.is_empty() {
        return Err(AccountError::Input(InputError::Invalid(vec![(
            auth.login.clone(),
            "this field is required".to_owned(),
        )])));
    }
    row.insert(auth.login.clone(), Value::Text(login.clone()));
    if let Some(field) = password_field(users)
        && !matches!(row.get(field), Some(Value::Text(_)))
    {
        return Err(AccountError::Input(InputError::Invalid(vec![(
            field.to_owned(),
            "this field is required".to_owned(),
        )])));
    }
    apply_defaults(users, &mut row);
    // A taken login costs one lookup, never an argon2 hash. The answer is
    // the same 409 as before (the login is taken either way); the check in
    // the transaction below and the unique index still decide a race.
    if find_by_login(config, store, &login).await?.is_some() {
        return Err(AccountError::Taken(auth.login.clone()));
    }
    hash_passwords(users, &mut row).await?;
    let mut tx = store.begin().await?;
    let mut select = select_all(users);
    select.and_where(
        Expr::col((
            Alias::new(users.table.clone()),
            Alias::new(auth.login.clone()),
        ))
        .eq(Expr::val(login)),
    );
    if !tx.fetch_rows(users, &select).await?.is_empty() {
        return Err(AccountError::Taken(auth.login.clone()));
    }
    let stored = match tx.insert(users, &row).await {
        Ok(stored) => stored,
        Err(error) => {
            return Err(match error.violation() {
                Some(Violation::Unique(fields)) => AccountError::Taken(
                    fields
                        .first()
                        .cloned()
                        .unwrap_or_else(|| auth.login.clone()),
                ),
                _ => AccountError::Store(error),
            });
        }
    };
    tx.commit().await?;
    Ok(stored)
}

/// `POST /auth/register`: a JSON body with the login field, the password
/// and other fields a client may set on create, from `address`. Returns
/// the new user as its owner would read it (never the hash).
pub async fn register(
    config: &Config,
    store: &Store,
    body: Json,
    address: Option<IpAddr>,
) -> Result<Map<String, Json>, AccountError> {
    let (auth, users) = auth_and_users(config)?;
    if !auth.registration {
        return Err(AccountError::RegistrationClosed);
    }
    let row = parse_body(users, body, WriteMode::Create)?;
    RegistrationAttempt::new(&auth.registration_limit, address)
        .reserve(store)
        .await?;
    let stored = insert_user(config, store, row).await?;
    let rendered = crate::rows::output::render(users, &stored, |_| false);
    tracing::info!(user = %stored.get(&users.primary_key).map(ToString::to_string).unwrap_or_default(), "registered");
    Ok(rendered)
}

/// A field value as typed on the command line (`--set name=value`).
fn value_from_text(kind: FieldKind, text: &str) -> Result<Value, String> {
    Ok(match kind {
        FieldKind::Integer => Value::Int(
            text.parse()
                .map_err(|_| format!("`{text}` is not an integer"))?,
        ),
        FieldKind::Float => Value::Float(
            text.parse()
                .map_err(|_| format!("`{text}` is not a number"))?,
        ),
        FieldKind::Bool => Value::Bool(
            text.parse()
                .map_err(|_| format!("`{text}` is not true or false"))?,
        ),
        FieldKind::Text | FieldKind::Password => Value::Text(text.to_owned()),
        FieldKind::Timestamp => Value::Text(
            timestamp::normalize(text)
                .ok_or_else(|| format!("`{text}` is not an RFC 3339 timestamp"))?,
        ),
        FieldKind::Json => {
            let json: Json =
                serde_json::from_str(text).map_err(|error| format!("invalid JSON: {error}"))?;
            Value::Text(json.to_string())
        }
    })
}

/// `warden user add`: an administrator creates an account, may set any
/// field (`is_superuser`, …), and grants scopes and roles.
pub async fn add(
    config: &Config,
    store: &Store,
    login: &str,
    clear_password: &str,
    fields: &[(String, String)],
    scopes: &[String],
    roles: &[String],
) -> Result<Row, AccountError> {
    let (auth, users) = auth_and_users(config)?;
    check_grants(auth, scopes, roles)?;
    let mut row = Row::default();
    let mut invalid = Vec::new();
    for (name, text) in fields {
        match users.field(name) {
            None => {
                return Err(AccountError::Input(InputError::UnknownFields(vec![
                    name.clone(),
                ])));
            }
            Some(field) => match value_from_text(field.kind, text) {
                Ok(value) => {
                    row.insert(name.clone(), value);
                }
                Err(problem) => invalid.push((name.clone(), problem)),
            },
        }
    }
    if !invalid.is_empty() {
        return Err(AccountError::Input(InputError::Invalid(invalid)));
    }
    row.insert(auth.login.clone(), Value::Text(login.to_owned()));
    if let Some(field) = password_field(users) {
        row.insert(field.to_owned(), Value::Text(clear_password.to_owned()));
    }
    let stored = insert_user(config, store, row).await?;
    if let Some(id) = stored.get(&users.primary_key) {
        store
            .add_grants(id, users.primary_field().kind, scopes, roles)
            .await?;
    }
    Ok(stored)
}

/// `warden user passwd`: sets a new password and, in the same
/// transaction, ends every session of the account. Returns how many ended.
pub async fn set_password(
    config: &Config,
    store: &Store,
    login: &str,
    clear_password: &str,
) -> Result<u64, AccountError> {
    let (_, users) = auth_and_users(config)?;
    let Some(field) = password_field(users) else {
        return Err(AccountError::Input(InputError::UnknownFields(vec![
            "password".to_owned(),
        ])));
    };
    check_length(field, clear_password)?;
    let user = existing_user(config, store, login).await?;
    let id = user.get(&users.primary_key).cloned().unwrap_or(Value::Null);
    let key =
        to_sql_value(users.primary_field().kind, &id, store.dialect()).map_err(|problem| {
            StoreError::InvalidValue {
                field: users.primary_key.clone(),
                problem,
            }
        })?;
    let hashed = password::hash(clear_password.to_owned()).await?;
    let mut tx = store.begin().await?;
    tx.execute(
        Query::update()
            .table(Alias::new(users.table.clone()))
            .value(Alias::new(field), hashed)
            .and_where(Expr::col(Alias::new(users.primary_key.clone())).eq(Expr::val(key))),
    )
    .await?;
    let ended = tx
        .delete_user_sessions(&id, users.primary_field().kind, None)
        .await?;
    tx.commit().await?;
    Ok(ended)
}

fn check_grants(
    auth: &AuthConfig,
    scopes: &[String],
    roles: &[String],
) -> Result<(), AccountError> {
    if let Some(scope) = scopes.iter().find(|s| {
        s.is_empty()
            || s.contains(char::is_whitespace)
            || (!auth.scopes.is_empty() && !auth.scopes.contains(s))
    }) {
        return Err(AccountError::UnknownScope(scope.clone()));
    }
    if let Some(role) = roles.iter().find(|r| !auth.roles.contains_key(*r)) {
        return Err(AccountError::UnknownRole(role.clone()));
    }
    Ok(())
}

/// `warden user grant`: adds scopes and roles; returns how many were new.
pub async fn grant(
    config: &Config,
    store: &Store,
    login: &str,
    scopes: &[String],
    roles: &[String],
) -> Result<u64, AccountError> {
    let (auth, users) = auth_and_users(config)?;
    check_grants(auth, scopes, roles)?;
    let user = existing_user(config, store, login).await?;
    let id = user.get(&users.primary_key).cloned().unwrap_or(Value::Null);
    Ok(store
        .add_grants(&id, users.primary_field().kind, scopes, roles)
        .await?)
}

/// `warden user revoke`: removes scopes and roles; returns how many existed.
pub async fn revoke(
    config: &Config,
    store: &Store,
    login: &str,
    scopes: &[String],
    roles: &[String],
) -> Result<u64, AccountError> {
    let (_, users) = auth_and_users(config)?;
    let user = existing_user(config, store, login).await?;
    let id = user.get(&users.primary_key).cloned().unwrap_or(Value::Null);
    Ok(store
        .remove_grants(&id, users.primary_field().kind, scopes, roles)
        .await?)
}

/// One account as `warden user list` shows it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: Value,
    pub login: Value,
    /// `false` when the users resource has an `active` field set to false.
    pub active: bool,
    pub grants: Grants,
}

/// `warden user list`: every account, by key, with its grants.
pub async fn list(config: &Config, store: &Store) -> Result<Vec<Account>, AccountError> {
    let (auth, users) = auth_and_users(config)?;
    let mut select = select_all(users);
    select.order_by(
        (
            Alias::new(users.table.clone()),
            Alias::new(users.primary_key.clone()),
        ),
        Order::Asc,
    );
    let mut accounts = Vec::new();
    for row in store.fetch_rows(users, &select).await? {
        let id = row.get(&users.primary_key).cloned().unwrap_or(Value::Null);
        let grants = store.grants(&id, users.primary_field().kind).await?;
        accounts.push(Account {
            login: row.get(&auth.login).cloned().unwrap_or(Value::Null),
            active: !matches!(row.get("active"), Some(Value::Bool(false))),
            id,
            grants,
        });
    }
    Ok(accounts)
}
