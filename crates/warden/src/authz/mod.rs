//! The only place that joins rules and store. Every resource action goes
//! through here: the caller's rules are specialised, compiled into the one
//! SQL statement that reads or writes, and a denial is answered honestly
//! (401 when logging in could help, the resource's deny status when the
//! row may not even be seen, 403 when it may be seen but not acted on, 404
//! when it does not exist). Lists are filtered in SQL, never in Rust.

mod authorize;
mod by_key;
mod expand;
mod gate;
mod list;
mod may;
mod password_change;
mod read;
mod scopes;
mod write;

/// Statements rendered once per shape (`store::template`), per kind.
#[derive(Debug, Default)]
pub struct StatementTemplates {
    pub by_key: store_template::Templates<by_key::ByKey>,
    pub list: store_template::Templates<list::ListShape>,
}

pub use list::{ListParams, Page, parse_expand};
pub use password_change::CURRENT_PASSWORD;
pub use read::Item;

use crate::app::App;
use crate::auth::caller::Caller;
use crate::auth::remembered::{StateInputs, Unconfirmed};
use crate::config::{DenyStatus, FieldKind, ResourceDef};
use crate::policy::{FilterError, OverBudget};
use crate::rows::input::InputError;
use crate::store::template as store_template;
use crate::store::{StoreError, Violation};
use sea_query::{Alias, Expr, ExprTrait};
use std::sync::atomic::{AtomicBool, Ordering};
use warden_policy::{Action, Rule, Value};

/// Why an action was not carried out; as a response it is the built-in
/// API's problem+json answer (`IntoResponse`), and [`AuthzError::status`]
/// gives its status for answers of your own.
///
/// ```
/// use axum::response::IntoResponse;
/// let response = warden::Error::NotFound("vote".into()).into_response();
/// assert_eq!(response.status(), 404);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    #[error("log in to do this")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("no such {0}")]
    NotFound(String),
    #[error("this needs the scope(s) {0:?}")]
    InsufficientScope(Vec<String>),
    #[error("the row changed since it was read (version {current})")]
    Stale { current: i64 },
    #[error("{0}")]
    Input(#[from] InputError),
    #[error("{0}")]
    InvalidQuery(String),
    #[error(transparent)]
    FilterTooComplex(#[from] OverBudget),
    #[error("already taken: {0:?}")]
    Conflict(Vec<String>),
    /// Too many wrong passwords for the account (`[auth] login_limit`):
    /// retry after this many seconds.
    #[error("too many failed password checks; retry in {0} s")]
    RateLimited(u64),
    #[error("a referenced row does not exist, or this row is still referenced")]
    InvalidReference,
    /// A password could not be hashed now: the argon2 queue is full.
    #[error("too many passwords are being hashed at once; retry shortly")]
    Overloaded,
    #[error("{0}")]
    Store(StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<FilterError> for AuthzError {
    fn from(error: FilterError) -> Self {
        match error {
            FilterError::Invalid(detail) => AuthzError::InvalidQuery(detail),
            FilterError::TooComplex(over) => AuthzError::FilterTooComplex(over),
        }
    }
}

impl From<StoreError> for AuthzError {
    fn from(error: StoreError) -> Self {
        match error.violation() {
            Some(Violation::Unique(fields)) => AuthzError::Conflict(fields),
            Some(Violation::ForeignKey) => AuthzError::InvalidReference,
            Some(Violation::NotNull(fields)) => AuthzError::Input(InputError::Invalid(
                fields
                    .into_iter()
                    .map(|f| (f, "this field is required".to_owned()))
                    .collect(),
            )),
            None => AuthzError::Store(error),
        }
    }
}

/// One caller acting on the app's resources.
pub struct Authz<'a> {
    app: &'a App,
    caller: &'a Caller,
    /// A remembered caller's state, which the statement answering a read
    /// must confirm (`auth::remembered`).
    confirm: Option<&'a Unconfirmed>,
    confirmed: AtomicBool,
    /// Set once a write has decided with the confirmed caller: later
    /// statements neither read nor judge the caller's state again.
    settled: AtomicBool,
}

impl<'a> Authz<'a> {
    pub fn new(app: &'a App, caller: &'a Caller) -> Self {
        Self {
            app,
            caller,
            confirm: None,
            confirmed: AtomicBool::new(false),
            settled: AtomicBool::new(false),
        }
    }

    /// For a remembered `caller`: reads also read the caller's current
    /// state, and [`Authz::confirmed`] tells whether it was unchanged. An
    /// answer from an unconfirmed caller must be thrown away.
    pub fn confirming(app: &'a App, caller: &'a Caller, unconfirmed: &'a Unconfirmed) -> Self {
        Self {
            confirm: Some(unconfirmed),
            ..Self::new(app, caller)
        }
    }

    /// Whether the caller's answer stands: always for a caller loaded
    /// afresh; for a remembered one, when a statement confirmed its state.
    pub fn confirmed(&self) -> bool {
        self.confirm.is_none() || self.confirmed.load(Ordering::Relaxed)
    }

    /// What a read's statement binds to read the remembered caller's
    /// current state.
    fn caller_state(&self) -> Option<StateInputs> {
        if self.settled.load(Ordering::Relaxed) {
            return None;
        }
        self.confirm?.state_inputs(self.caller)
    }

    /// Notes whether the rows a statement with the caller's state read
    /// confirm the remembered caller.
    fn note_caller_state(&self, rows: &[crate::store::Row]) {
        if self.settled.load(Ordering::Relaxed) {
            return;
        }
        if let Some(unconfirmed) = self.confirm {
            self.confirmed
                .store(unconfirmed.confirmed_by(rows), Ordering::Relaxed);
        }
    }

    /// Called by a write after the statement that read its row and before
    /// anything is written: a remembered caller must have been confirmed
    /// by that statement (else nothing is written, and the caller answers
    /// again with the caller loaded afresh). From here on the decision
    /// stands: the read-back of the written row does not judge the caller.
    fn settle(&self) -> Result<(), AuthzError> {
        if !self.confirmed() {
            return Err(AuthzError::Internal(
                "the remembered caller was not confirmed; answer again".to_owned(),
            ));
        }
        self.settled.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn resource(&self, name: &str) -> Result<&'a ResourceDef, AuthzError> {
        self.app
            .config()
            .resource(name)
            .ok_or_else(|| AuthzError::NotFound(name.to_owned()))
    }

    fn rule(&self, resource: &str, action: Action) -> Option<&'a Rule> {
        self.app
            .policy()
            .resource(resource)
            .and_then(|p| p.rule(action))
    }

    /// The answer when `rule` denies `action`: 401 if the caller is
    /// anonymous and logging in could change the outcome, else 403.
    fn forbidden(&self, rule: Option<&Rule>, action: Action, resource: &ResourceDef) -> AuthzError {
        if self.caller.is_anonymous() && rule.is_some_and(Rule::depends_on_user) {
            return AuthzError::Unauthenticated;
        }
        AuthzError::Forbidden(format!("you may not {action} this {}", singular(resource)))
    }

    /// The answer when the row exists but its read rule hides it.
    fn unseen(&self, rule: Option<&Rule>, resource: &ResourceDef) -> AuthzError {
        if self.caller.is_anonymous() && rule.is_some_and(Rule::depends_on_user) {
            return AuthzError::Unauthenticated;
        }
        match resource.deny_status {
            DenyStatus::NotFound => AuthzError::NotFound(singular(resource)),
            DenyStatus::Forbidden => {
                AuthzError::Forbidden(format!("you may not read this {}", singular(resource)))
            }
        }
    }

    /// Logs a denial with who, what, and the explanation of the rule on the
    /// row as it was read (relations and `exists` are explained as seen in
    /// memory, where their rows are not loaded).
    fn log_denial(
        &self,
        action: Action,
        resource: &ResourceDef,
        id: &str,
        rule: Option<&Rule>,
        row: Option<&crate::store::Row>,
    ) {
        // Explaining walks the rule and copies the row: only when logged.
        // An unconfirmed caller's answer is thrown away: not logged either.
        if !tracing::enabled!(tracing::Level::INFO) || !self.confirmed() {
            return;
        }
        let principal = self
            .caller
            .user
            .as_ref()
            .map_or_else(|| "anonymous".to_owned(), |u| u.id.to_string());
        let explanation = match (rule, row) {
            (Some(rule), Some(row)) => {
                let row: warden_policy::Row =
                    row.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                rule.explain(&warden_policy::Env::new(
                    self.caller.principal(),
                    Some(&row),
                ))
                .to_text()
            }
            (None, _) => format!(
                "no {} rule is declared for {}: denied",
                action.name(),
                resource.name
            ),
            (Some(rule), None) => format!("{} denied before any row was read", rule.name()),
        };
        tracing::info!(%principal, action = action.name(), resource = %resource.name, %id, explanation = %explanation, "denied");
    }
}

impl Authz<'_> {
    /// `SELECT` of one row by key, with the flag of its read rule (as
    /// specialised: `read`) beside it: the start of every single-row read
    /// and write.
    fn select_by_key(
        &self,
        resource: &ResourceDef,
        key: &Value,
        read: &warden_policy::Residual,
    ) -> Result<sea_query::SelectStatement, AuthzError> {
        let target = self.target(resource);
        let mut select = crate::store::select_all(resource);
        gate::select_flag(read, &mut select, &target, "read")?;
        select.and_where(key_equals(resource, key, target.dialect)?);
        Ok(select)
    }

    /// The fetched row if the caller may see it: 404 when missing, the
    /// deny status (or 401) when its read rule hides it.
    fn seen(
        &self,
        resource: &ResourceDef,
        id: &str,
        read: &gate::Gate<'_>,
        row: Option<crate::store::Row>,
    ) -> Result<crate::store::Row, AuthzError> {
        let row = row.ok_or_else(|| AuthzError::NotFound(singular(resource)))?;
        if !read.holds_for(&row, "read") {
            self.log_denial(Action::Read, resource, id, read.rule, Some(&row));
            return Err(self.unseen(read.rule, resource));
        }
        Ok(row)
    }
}

/// The key value in a URL path, typed for the resource's primary key.
fn parse_id(resource: &ResourceDef, id: &str) -> Option<Value> {
    if id.contains('\0') {
        return None;
    }
    match resource.primary_field().kind {
        FieldKind::Integer => id.parse().ok().map(Value::Int),
        FieldKind::Text => Some(Value::Text(id.to_owned())),
        _ => None,
    }
}

/// The key in a URL path; 404 when it cannot be one.
fn parse_key(resource: &ResourceDef, id: &str) -> Result<Value, AuthzError> {
    parse_id(resource, id).ok_or_else(|| AuthzError::NotFound(singular(resource)))
}

fn key_column(resource: &ResourceDef) -> Expr {
    Expr::col((
        Alias::new(resource.table.clone()),
        Alias::new(resource.primary_key.clone()),
    ))
}

/// `resource.pk = id`, bound.
fn key_equals(
    resource: &ResourceDef,
    id: &Value,
    dialect: warden_policy::Dialect,
) -> Result<Expr, AuthzError> {
    let bound = crate::store::to_sql_value(resource.primary_field().kind, id, dialect)
        .map_err(AuthzError::Internal)?;
    Ok(key_column(resource).eq(Expr::val(bound)))
}

/// `{"<primary key>": key}`: all of a row a caller is shown when the
/// read gates hide the rest (the answer to a write they may not read).
fn key_only(resource: &ResourceDef, key: &Value) -> serde_json::Map<String, serde_json::Value> {
    let mut json = serde_json::Map::new();
    json.insert(
        resource.primary_key.clone(),
        crate::rows::output::to_json(resource.primary_field().kind, key),
    );
    json
}

/// "post" for "posts": only for messages.
fn singular(resource: &ResourceDef) -> String {
    let name = resource.name.as_str();
    match name.strip_suffix('s') {
        Some(stem) if !stem.ends_with('s') => stem.to_owned(),
        _ => name.to_owned(),
    }
}
