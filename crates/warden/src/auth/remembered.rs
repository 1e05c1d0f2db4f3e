//! Bearer callers remembered between requests, so a client's next read
//! costs one statement instead of two. A remembered caller is trusted for
//! an answer only when the statement that produced the answer also read
//! the caller's current state (their row without secrets, their grants,
//! their session) and found it equal to the state the caller was built
//! from. Any other outcome is answered again with the caller loaded
//! afresh, so deactivation, revoked grants and logout still take effect
//! at once, on every instance.

use super::caller::Caller;
use crate::config::{Config, FieldKind, ResourceDef};
use crate::store::template::{Shape, replace_parameter};
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

/// Bearer tokens' callers, by the token's exact text, and the state
/// subquery that confirms them, rendered once.
pub struct CallerMemory {
    callers: quick_cache::sync::Cache<String, Remembered>,
    /// For credentials without a session, and with one.
    state_queries: Option<[StateQuery; 2]>,
    /// The type of the users' key, to bind it.
    key_kind: FieldKind,
}

impl std::fmt::Debug for CallerMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerMemory")
            .field("len", &self.callers.len())
            .finish()
    }
}

impl CallerMemory {
    /// An empty memory for `config`'s users on `dialect`.
    pub fn new(config: &Config, dialect: Dialect) -> Self {
        Self {
            callers: quick_cache::sync::Cache::new(CAPACITY),
            state_queries: config.users_resource().and_then(|users| {
                Some([
                    StateQuery::render(users, dialect, false)?,
                    StateQuery::render(users, dialect, true)?,
                ])
            }),
            key_kind: config
                .users_resource()
                .map_or(FieldKind::Integer, |users| users.primary_field().kind),
        }
    }

    pub fn get(&self, token: &str) -> Option<Remembered> {
        self.callers.get(token)
    }

    pub fn remember(&self, token: &str, remembered: Remembered) {
        self.callers.insert(token.to_owned(), remembered);
    }

    pub fn forget(&self, token: &str) {
        self.callers.remove(token);
    }

    /// The current state of the user `inputs` name as one text, a JSON
    /// array: each non-secret field, the scope and role grants, and (when
    /// the credential names a session) whether that session is live. NULL
    /// when the user does not exist. `None` when the config has no users.
    pub fn state_expr(&self, inputs: &StateInputs) -> Option<Expr> {
        let query = &self.state_queries.as_ref()?[usize::from(inputs.session.is_some())];
        let key = to_sql_value(self.key_kind, &inputs.user, query.dialect).ok()?;
        let session = match &inputs.session {
            Some(Value::Text(session)) => session.as_str(),
            Some(_) => return None,
            None => "",
        };
        let Value::Int(now) = inputs.now else {
            return None;
        };
        Some(query.bind(key, session, now))
    }
}

/// What the state subquery binds for one caller: the user's key, the
/// session their credential names, and the time a session must be live at.
#[derive(Debug, Clone, PartialEq)]
pub struct StateInputs {
    pub user: Value,
    pub session: Option<Value>,
    pub now: Value,
}

impl StateInputs {
    /// For user `id` with session `sid`, now.
    pub fn new(id: &Value, sid: Option<&str>) -> Self {
        Self {
            user: id.clone(),
            session: sid.map(|sid| Value::Text(sid.to_owned())),
            now: Value::Int(super::now()),
        }
    }

    /// Adds the state these inputs select to `select` as [`STATE_COLUMN`].
    pub fn select(&self, memory: &CallerMemory, select: &mut SelectStatement) {
        if let Some(state) = memory.state_expr(self) {
            select.expr_as(state, STATE_COLUMN);
        }
    }
}

impl Shape for StateInputs {
    fn replace_parameters(&mut self, each: &mut dyn FnMut(Value) -> Value) {
        replace_parameter(&mut self.user, each);
        if let Some(session) = &mut self.session {
            replace_parameter(session, each);
        }
        replace_parameter(&mut self.now, each);
    }
}

/// A remembered caller's token and state, the state to be read again by
/// the statement that serves the request.
#[derive(Debug, Clone)]
pub struct Unconfirmed {
    pub token: String,
    pub state: Arc<str>,
}

impl Unconfirmed {
    /// What the statement answering `caller` (the remembered one) binds
    /// to read their current state.
    pub fn state_inputs(&self, caller: &Caller) -> Option<StateInputs> {
        let user = caller.user.as_ref()?;
        let sid = caller.session.as_ref().map(|session| session.id.as_str());
        Some(StateInputs::new(&user.id, sid))
    }

    /// Whether `rows` (read by a statement with [`StateInputs::select`])
    /// show the caller unchanged. No row confirms nothing.
    pub fn confirmed_by(&self, rows: &[Row]) -> bool {
        !rows.is_empty()
            && rows.iter().all(|row| {
                matches!(row.get(STATE_COLUMN), Some(Value::Text(state)) if **state == *self.state)
            })
    }
}

/// The state subquery rendered once (building it with sea-query on every
/// request cost more than the row's own statement): its SQL text cut at
/// each placeholder, and what each placeholder is bound to, in order.
struct StateQuery {
    /// One more piece than slots: text, slot, text, …, text.
    pieces: Vec<String>,
    slots: Vec<Slot>,
    dialect: Dialect,
}

#[derive(Debug, Clone, PartialEq)]
enum Slot {
    Key,
    Session,
    Now,
    /// A value of the query's own (the grants' separator).
    Fixed(sea_query::Value),
}

/// Placeholder values the template is rendered with; each names its slot.
const SESSION_MARK: &str = "w_session_slot";
const NOW_MARK: i64 = -7_000_000_001;

impl StateQuery {
    /// `None` when the rendered text cannot be cut at its placeholders
    /// unambiguously; callers are then never remembered.
    fn render(users: &ResourceDef, dialect: Dialect, with_session: bool) -> Option<Self> {
        let key_mark = match users.primary_field().kind {
            FieldKind::Integer => Value::Int(-7_000_000_002),
            _ => Value::Text("w_key_slot".to_owned()),
        };
        let key = to_sql_value(users.primary_field().kind, &key_mark, dialect).ok()?;
        let statement = state_select(users, dialect, key.clone(), with_session);
        let (sql, values) = warden_policy::sql::build(&statement, dialect);
        let slots: Vec<Slot> = values
            .iter()
            .map(|value| {
                if *value == key {
                    Slot::Key
                } else if *value == sea_query::Value::from(SESSION_MARK) {
                    Slot::Session
                } else if *value == sea_query::Value::from(NOW_MARK) {
                    Slot::Now
                } else {
                    Slot::Fixed(value.clone())
                }
            })
            .collect();
        let sql = format!("({sql})");
        let pieces: Vec<String> = match dialect {
            Dialect::Sqlite => sql.split('?').map(str::to_owned).collect(),
            Dialect::Postgres => {
                // `$1`, `$2`, … in order; cut after each number.
                let mut pieces = Vec::new();
                let mut rest = sql.as_str();
                for n in 1..=slots.len() {
                    let mark = format!("${n}");
                    let at = rest.find(&mark)?;
                    pieces.push(rest[..at].to_owned());
                    rest = &rest[at + mark.len()..];
                    if rest.starts_with(|c: char| c.is_ascii_digit()) {
                        return None;
                    }
                }
                pieces.push(rest.to_owned());
                pieces
            }
        };
        let unambiguous = pieces.len() == slots.len() + 1
            && pieces.iter().all(|piece| !piece.contains(['?', '$']));
        unambiguous.then_some(StateQuery {
            pieces,
            slots,
            dialect,
        })
    }

    /// The subquery for one request: the pieces verbatim, the slots as
    /// bound values. sea-query scans only the short joining template.
    fn bind(&self, key: sea_query::Value, session: &str, now: i64) -> Expr {
        let mut parts = Vec::with_capacity(self.pieces.len() + self.slots.len());
        let mut template = String::new();
        for (i, piece) in self.pieces.iter().enumerate() {
            parts.push(Expr::cust(piece.clone()));
            if let Some(slot) = self.slots.get(i) {
                parts.push(Expr::val(match slot {
                    Slot::Key => key.clone(),
                    Slot::Session => session.into(),
                    Slot::Now => now.into(),
                    Slot::Fixed(value) => value.clone(),
                }));
            }
        }
        for n in 1..=parts.len() {
            match self.dialect {
                Dialect::Sqlite => template.push_str("? "),
                Dialect::Postgres => template.push_str(&format!("${n} ")),
            }
        }
        Expr::cust_with_exprs(template, parts)
    }
}

/// `SELECT json_array(<fields>, <scopes>, <roles>[, <session live>]) FROM
/// users AS w_caller WHERE w_caller.<key> = <key>`.
fn state_select(
    users: &ResourceDef,
    dialect: Dialect,
    key: sea_query::Value,
    with_session: bool,
) -> SelectStatement {
    let mut parts: Vec<Expr> = state_fields(users)
        .map(|field| Expr::col((Alias::new(CALLER_ALIAS), Alias::new(field.to_owned()))))
        .collect();
    parts.extend(
        grant_aggregates(CALLER_ALIAS, &users.primary_key, dialect)
            .into_iter()
            .map(|(aggregate, _)| aggregate),
    );
    if with_session {
        parts.push(session_live(SESSION_MARK, NOW_MARK));
    }
    let array = match dialect {
        Dialect::Sqlite => Expr::from(sea_query::Func::cust("json_array").args(parts)),
        Dialect::Postgres => Expr::from(sea_query::Func::cast_as(
            sea_query::Func::cust("json_build_array").args(parts),
            Alias::new("text"),
        )),
    };
    Query::select()
        .expr(array)
        .from_as(Alias::new(users.table.clone()), Alias::new(CALLER_ALIAS))
        .and_where(
            Expr::col((
                Alias::new(CALLER_ALIAS),
                Alias::new(users.primary_key.clone()),
            ))
            .eq(Expr::val(key)),
        )
        .to_owned()
}

/// `EXISTS` a session `sid` that has not expired at `now`.
pub fn session_live(sid: impl Into<sea_query::Value>, now: i64) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::cust("1"))
            .from(crate::store::ddl::SESSIONS_TABLE)
            .and_where(Expr::col("id").eq(Expr::val(sid)))
            .and_where(Expr::col("expires_at").gte(Expr::val(now)))
            .to_owned(),
    )
}

/// The users' fields a caller is built from: all but secrets.
fn state_fields(users: &ResourceDef) -> impl Iterator<Item = &str> {
    users
        .fields
        .values()
        .filter(|field| field.kind != FieldKind::Password)
        .map(|field| field.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The subquery rendered once and bound per request is the subquery
    /// built with sea-query from the same values, placeholders and all.
    #[test]
    fn the_rendered_state_query_binds_like_the_built_one() {
        let source = format!(
            "{}fields.admin = {{ type = \"bool\", default = false }}\n",
            crate::config::tests::MINIMAL
        );
        let config = Config::parse(std::path::Path::new("warden.toml"), &source).expect("config");
        let users = config.users_resource().expect("users");
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let memory = CallerMemory::new(&config, dialect);
            for sid in [None, Some("s-1")] {
                let id = Value::Int(42);
                let rendered = Query::select()
                    .expr(
                        memory
                            .state_expr(&StateInputs::new(&id, sid))
                            .expect("state"),
                    )
                    .to_owned();
                // Built directly, the session and clock slots hold the marks;
                // the SQL text must be the same, and the values the marks'
                // places must get the request's own.
                let direct = state_select(users, dialect, 42i64.into(), sid.is_some());
                let direct = Query::select()
                    .expr(Expr::SubQuery(
                        None,
                        Box::new(sea_query::SubQueryStatement::SelectStatement(direct)),
                    ))
                    .to_owned();
                let (rendered_sql, rendered_values, direct_sql, direct_values) = match dialect {
                    Dialect::Sqlite => {
                        let (a, b) = rendered.build(sea_query::SqliteQueryBuilder);
                        let (c, d) = direct.build(sea_query::SqliteQueryBuilder);
                        (a, b, c, d)
                    }
                    Dialect::Postgres => {
                        let (a, b) = rendered.build(sea_query::PostgresQueryBuilder);
                        let (c, d) = direct.build(sea_query::PostgresQueryBuilder);
                        (a, b, c, d)
                    }
                };
                // The same text but for the joining template's spaces.
                assert_eq!(
                    rendered_sql.replace(' ', ""),
                    direct_sql.replace(' ', ""),
                    "{dialect:?}"
                );
                assert!(!rendered_sql.contains("password"), "{rendered_sql}");
                let rendered_values: Vec<_> = rendered_values.into_iter().collect();
                let direct_values: Vec<_> = direct_values.into_iter().collect();
                assert_eq!(rendered_values.len(), direct_values.len());
                for (rendered, direct) in rendered_values.iter().zip(&direct_values) {
                    if *direct == sea_query::Value::from(NOW_MARK) {
                        let sea_query::Value::BigInt(Some(now)) = rendered else {
                            panic!("the clock slot holds {rendered:?}");
                        };
                        assert!((super::super::now() - now).abs() <= 2);
                        continue;
                    }
                    let expected = if *direct == sea_query::Value::from(SESSION_MARK) {
                        sea_query::Value::from(sid.unwrap_or_default())
                    } else {
                        direct.clone()
                    };
                    assert_eq!(*rendered, expected, "{dialect:?} {sid:?}");
                }
                assert_eq!(rendered_values.last(), Some(&sea_query::Value::from(42i64)));
            }
        }
    }
}
