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

pub use list::{Page, searchable, sortable};
pub use password_change::CURRENT_PASSWORD;
pub use read::Item;

use crate::app::App;
use crate::auth::caller::Caller;
use crate::config::{DenyStatus, FieldKind, ResourceDef};
use crate::policy::{FilterError, OverBudget};
use crate::rows::input::InputError;
use crate::store::{StoreError, Violation};
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

/// One caller acting on the app's resources. Immutable: it decides and
/// builds statements; it remembers nothing between them.
pub struct Authz<'a> {
    app: &'a App,
    caller: &'a Caller,
}

impl<'a> Authz<'a> {
    pub fn new(app: &'a App, caller: &'a Caller) -> Self {
        Self { app, caller }
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
        if !tracing::enabled!(tracing::Level::INFO) {
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
