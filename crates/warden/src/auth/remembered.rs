//! Bearer callers remembered between requests, so a client's next read
//! costs one statement instead of two. A remembered caller is trusted for
//! an answer only when the statement that produced the answer also read
//! the caller's current state (their row without secrets, their grants,
//! their session) and found it equal to the state the caller was built
//! from. Any other outcome is answered again with the caller loaded
//! afresh, so deactivation, revoked grants and logout still take effect
//! at once, on every instance.

use super::caller::{Caller, parse_key};
use crate::config::{Config, FieldKind, ResourceDef};
use crate::store::{Dialect, Row, grant_aggregates, to_sql_value};
use sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use std::sync::Arc;
use warden_policy::Value;

/// The computed column holding the caller's state beside a row.
pub const STATE_COLUMN: &str = "w_text_caller";

/// Callers remembered per process (a few KiB each at most).
const CAPACITY: usize = 4096;

/// The alias of the users table inside the state subquery.
const CALLER_ALIAS: &str = "w_caller";

/// A caller as loaded for a token, with the state it was built from.
#[derive(Debug, Clone)]
pub struct Remembered {
    pub caller: Arc<Caller>,
    pub state: Arc<str>,
}

/// Bearer tokens' callers, by the token's exact text.
pub struct CallerMemory {
    callers: quick_cache::sync::Cache<String, Remembered>,
}

impl std::fmt::Debug for CallerMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerMemory")
            .field("len", &self.callers.len())
            .finish()
    }
}

impl Default for CallerMemory {
    fn default() -> Self {
        Self {
            callers: quick_cache::sync::Cache::new(CAPACITY),
        }
    }
}

impl CallerMemory {
    pub fn get(&self, token: &str) -> Option<Remembered> {
        self.callers.get(token)
    }

    pub fn remember(&self, token: &str, remembered: Remembered) {
        self.callers.insert(token.to_owned(), remembered);
    }

    pub fn forget(&self, token: &str) {
        self.callers.remove(token);
    }
}

/// A remembered caller's state, to be read again by the statement that
/// serves the request.
#[derive(Debug, Clone)]
pub struct Unconfirmed {
    pub token: String,
    pub user_id: Value,
    pub sid: Option<String>,
    pub state: Arc<str>,
}

impl Unconfirmed {
    /// Adds the caller's current state to `select` as [`STATE_COLUMN`].
    pub fn select_state(&self, config: &Config, dialect: Dialect, select: &mut SelectStatement) {
        if let Some(state) = state_expr(config, dialect, &self.user_id, self.sid.as_deref()) {
            select.expr_as(state, STATE_COLUMN);
        }
    }

    /// Whether `rows` (read by a statement with [`Self::select_state`])
    /// show the caller unchanged. No row confirms nothing.
    pub fn confirmed_by(&self, rows: &[Row]) -> bool {
        !rows.is_empty()
            && rows.iter().all(|row| {
                matches!(row.get(STATE_COLUMN), Some(Value::Text(state)) if **state == *self.state)
            })
    }
}

/// The current state of user `id` as one text, a JSON array: each
/// non-secret field, the scope and role grants, and (when the credential
/// names a session) whether that session is live. NULL when the user does
/// not exist. `None` when the config has no users.
pub fn state_expr(
    config: &Config,
    dialect: Dialect,
    id: &Value,
    sid: Option<&str>,
) -> Option<Expr> {
    let users = config.users_resource()?;
    let key = to_sql_value(users.primary_field().kind, id, dialect).ok()?;
    let mut parts: Vec<Expr> = state_fields(users)
        .map(|field| Expr::col((Alias::new(CALLER_ALIAS), Alias::new(field.to_owned()))))
        .collect();
    parts.extend(
        grant_aggregates(CALLER_ALIAS, &users.primary_key, dialect)
            .into_iter()
            .map(|(aggregate, _)| aggregate),
    );
    if let Some(sid) = sid {
        let live = Query::select()
            .expr(Expr::cust("1"))
            .from(crate::store::ddl::SESSIONS_TABLE)
            .and_where(Expr::col("id").eq(Expr::val(sid.to_owned())))
            .and_where(Expr::col("expires_at").gte(Expr::val(super::now())))
            .to_owned();
        parts.push(Expr::exists(live));
    }
    let array = match dialect {
        Dialect::Sqlite => Expr::from(sea_query::Func::cust("json_array").args(parts)),
        Dialect::Postgres => Expr::from(sea_query::Func::cast_as(
            sea_query::Func::cust("json_build_array").args(parts),
            Alias::new("text"),
        )),
    };
    let state = Query::select()
        .expr(array)
        .from_as(Alias::new(users.table.clone()), Alias::new(CALLER_ALIAS))
        .and_where(
            Expr::col((
                Alias::new(CALLER_ALIAS),
                Alias::new(users.primary_key.clone()),
            ))
            .eq(Expr::val(key)),
        )
        .to_owned();
    Some(Expr::SubQuery(
        None,
        Box::new(sea_query::SubQueryStatement::SelectStatement(state)),
    ))
}

/// The users' fields a caller is built from: all but secrets.
fn state_fields(users: &ResourceDef) -> impl Iterator<Item = &str> {
    users
        .fields
        .values()
        .filter(|field| field.kind != FieldKind::Password)
        .map(|field| field.name.as_str())
}

/// The token subject's key, typed for the users resource.
pub fn subject_key(config: &Config, subject: &str) -> Option<Value> {
    parse_key(config.users_resource()?, subject)
}
