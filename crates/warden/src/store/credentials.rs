//! Rows of warden's credential tables: sessions (cookie sessions and
//! refresh-token families) and refresh tokens, looked up only by digests
//! and ids. It must not decide whether a credential is
//! acceptable, nor ever see a secret in clear: `auth/` does both.

use super::ddl::{REFRESH_TOKENS_TABLE, SESSIONS_TABLE};
use super::rows::{int, take, text};
use super::{Store, StoreError, Tx};
use crate::config::FieldKind;
use sea_query::{DeleteStatement, Expr, ExprTrait, LockType, Query, SelectStatement};
use warden_policy::Value;

/// What a session row authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser session named by a cookie.
    Cookie,
    /// A refresh-token family (the access tokens carry its id as `sid`).
    Token,
}

impl SessionKind {
    fn name(self) -> &'static str {
        match self {
            SessionKind::Cookie => "cookie",
            SessionKind::Token => "token",
        }
    }
}

/// One session row. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id: String,
    pub user_id: Value,
    pub kind: SessionKind,
    pub csrf_token: Option<String>,
    /// Space-separated scopes the session was granted (token families).
    pub scope: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// A session to insert; `secret_hash` names a cookie session.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub row: &'a SessionRow,
    pub secret_hash: Option<&'a str>,
}

/// One stored refresh token.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshRow {
    pub family_id: String,
    pub user_id: Value,
    pub expires_at: i64,
    pub spent: bool,
}

/// The type of a credential table's column: `user_id` holds a users key,
/// an integer or else text.
fn column_kind(key_kind: FieldKind) -> impl Fn(&str) -> Option<FieldKind> + Sync {
    let user = match key_kind {
        FieldKind::Integer => FieldKind::Integer,
        _ => FieldKind::Text,
    };
    move |column| {
        Some(match column {
            "user_id" => user,
            "created_at" | "last_seen_at" | "expires_at" => FieldKind::Integer,
            "spent" => FieldKind::Bool,
            _ => FieldKind::Text,
        })
    }
}

fn bound_user(
    kind: FieldKind,
    user_id: &Value,
    store: &Store,
) -> Result<sea_query::Value, StoreError> {
    super::to_sql_value(kind, user_id, store.dialect()).map_err(|problem| {
        StoreError::InvalidValue {
            field: "user_id".into(),
            problem,
        }
    })
}

const SESSION_COLUMNS: [&str; 8] = [
    "id",
    "user_id",
    "kind",
    "csrf_token",
    "scope",
    "created_at",
    "last_seen_at",
    "expires_at",
];

impl Store {
    /// `INSERT` of a session; with `only_while`, an `INSERT … SELECT`
    /// that inserts nothing unless that select finds a row. On PostgreSQL
    /// the row found is locked (`FOR SHARE`) until the insert commits, so a
    /// concurrent `UPDATE` of it either waits for the new session (and a
    /// later statement of its own sees it) or comes first and the select
    /// finds nothing; SQLite runs the whole statement under its write lock.
    fn session_insert(
        &self,
        session: &NewSession<'_>,
        key_kind: FieldKind,
        only_while: Option<SelectStatement>,
    ) -> Result<sea_query::InsertStatement, StoreError> {
        let row = session.row;
        let values = [
            Expr::val(row.id.clone()),
            Expr::val(bound_user(key_kind, &row.user_id, self)?),
            Expr::val(row.kind.name()),
            Expr::val(row.csrf_token.clone()),
            Expr::val(row.scope.clone()),
            Expr::val(row.created_at),
            Expr::val(row.last_seen_at),
            Expr::val(row.expires_at),
            Expr::val(session.secret_hash.map(str::to_owned)),
        ];
        let mut insert = Query::insert();
        insert
            .into_table(SESSIONS_TABLE)
            .columns(SESSION_COLUMNS.into_iter().chain(["secret_hash"]));
        match only_while {
            None => {
                insert.values_panic(values);
            }
            Some(mut condition) => {
                condition.lock(LockType::Share);
                let select = Query::select()
                    .exprs(values)
                    .and_where(Expr::exists(condition))
                    .to_owned();
                insert
                    .select_from(select)
                    .map_err(|error| StoreError::InvalidValue {
                        field: SESSIONS_TABLE.to_owned(),
                        problem: error.to_string(),
                    })?;
            }
        }
        Ok(insert)
    }

    fn refresh_insert(
        &self,
        token_hash: &str,
        session: &SessionRow,
        key_kind: FieldKind,
        now: i64,
        expires_at: i64,
    ) -> Result<sea_query::InsertStatement, StoreError> {
        let mut insert = Query::insert();
        insert
            .into_table(REFRESH_TOKENS_TABLE)
            .columns([
                "token_hash",
                "family_id",
                "user_id",
                "created_at",
                "expires_at",
                "spent",
            ])
            .values_panic([
                Expr::val(token_hash.to_owned()),
                Expr::val(session.id.clone()),
                Expr::val(bound_user(key_kind, &session.user_id, self)?),
                Expr::val(now),
                Expr::val(expires_at),
                Expr::val(false),
            ]);
        Ok(insert)
    }

    /// Inserts a session and, for a token family, its first refresh token,
    /// in one transaction; with `only_while`, only while that select finds
    /// a row (see [`Store::session_insert`]). Returns whether it did.
    pub async fn create_session(
        &self,
        session: NewSession<'_>,
        first_refresh: Option<&str>,
        key_kind: FieldKind,
        only_while: Option<SelectStatement>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if tx
            .execute(&self.session_insert(&session, key_kind, only_while)?)
            .await?
            == 0
        {
            return Ok(false);
        }
        if let Some(hash) = first_refresh {
            let row = session.row;
            tx.execute(&self.refresh_insert(
                hash,
                row,
                key_kind,
                row.created_at,
                row.expires_at,
            )?)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn session_where(
        &self,
        condition: Expr,
        key_kind: FieldKind,
    ) -> Result<Option<SessionRow>, StoreError> {
        let select = Query::select()
            .columns(SESSION_COLUMNS)
            .from(SESSIONS_TABLE)
            .and_where(condition)
            .to_owned();
        let read = self
            .fetch_optional_as(self.build(&select), &column_kind(key_kind))
            .await?;
        let Some(mut row) = read else {
            return Ok(None);
        };
        Ok(Some(SessionRow {
            id: take(&mut row, "id", text)?,
            user_id: take(&mut row, "user_id", Some)?,
            kind: if take(&mut row, "kind", text)? == "cookie" {
                SessionKind::Cookie
            } else {
                SessionKind::Token
            },
            csrf_token: row.swap_remove("csrf_token").and_then(text),
            scope: take(&mut row, "scope", text)?,
            created_at: take(&mut row, "created_at", int)?,
            last_seen_at: take(&mut row, "last_seen_at", int)?,
            expires_at: take(&mut row, "expires_at", int)?,
        }))
    }

    /// The session with this id (an access token's `sid`).
    pub async fn session_by_id(
        &self,
        id: &str,
        key_kind: FieldKind,
    ) -> Result<Option<SessionRow>, StoreError> {
        self.session_where(Expr::col("id").eq(Expr::val(id.to_owned())), key_kind)
            .await
    }

    /// The cookie session whose secret has this digest.
    pub async fn session_by_secret(
        &self,
        secret_hash: &str,
        key_kind: FieldKind,
    ) -> Result<Option<SessionRow>, StoreError> {
        self.session_where(
            Expr::col("secret_hash").eq(Expr::val(secret_hash.to_owned())),
            key_kind,
        )
        .await
    }

    /// Records activity on a session (for its idle timeout).
    pub async fn touch_session(&self, id: &str, now: i64) -> Result<(), StoreError> {
        self.execute(
            Query::update()
                .table(SESSIONS_TABLE)
                .value("last_seen_at", now)
                .and_where(Expr::col("id").eq(Expr::val(id.to_owned()))),
        )
        .await?;
        Ok(())
    }

    /// Ends a session; its refresh tokens go with it (foreign key cascade).
    /// Returns whether it existed.
    pub async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        // Delete the tokens explicitly too: the cascade is the safety net.
        let statements = vec![
            self.build(
                Query::delete()
                    .from_table(REFRESH_TOKENS_TABLE)
                    .and_where(Expr::col("family_id").eq(Expr::val(id.to_owned()))),
            ),
            self.build(
                Query::delete()
                    .from_table(SESSIONS_TABLE)
                    .and_where(Expr::col("id").eq(Expr::val(id.to_owned()))),
            ),
        ];
        let touched = self.execute_all(statements).await?;
        Ok(touched.get(1).is_some_and(|n| *n > 0))
    }

    /// Ends every session of `user_id` but `keep`, with their refresh
    /// tokens; returns how many sessions ended.
    pub async fn delete_user_sessions(
        &self,
        user_id: &Value,
        key_kind: FieldKind,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        let user = bound_user(key_kind, user_id, self)?;
        let statements = user_sessions_deletes(user, keep)
            .iter()
            .map(|delete| self.build(delete))
            .collect();
        let touched = self.execute_all(statements).await?;
        Ok(touched.get(1).copied().unwrap_or(0))
    }

    /// Forgets sessions past their absolute expiry, with their tokens.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<(), StoreError> {
        let expired = Query::select()
            .column("id")
            .from(SESSIONS_TABLE)
            .and_where(Expr::col("expires_at").lt(now))
            .to_owned();
        let statements = vec![
            self.build(
                Query::delete()
                    .from_table(REFRESH_TOKENS_TABLE)
                    .and_where(Expr::col("family_id").in_subquery(expired)),
            ),
            self.build(
                Query::delete()
                    .from_table(SESSIONS_TABLE)
                    .and_where(Expr::col("expires_at").lt(now)),
            ),
        ];
        self.execute_all(statements).await?;
        Ok(())
    }

    /// The refresh token with this digest, spent or not.
    pub async fn refresh_token(
        &self,
        token_hash: &str,
        key_kind: FieldKind,
    ) -> Result<Option<RefreshRow>, StoreError> {
        let select = Query::select()
            .columns(["family_id", "user_id", "expires_at", "spent"])
            .from(REFRESH_TOKENS_TABLE)
            .and_where(Expr::col("token_hash").eq(Expr::val(token_hash.to_owned())))
            .to_owned();
        let read = self
            .fetch_optional_as(self.build(&select), &column_kind(key_kind))
            .await?;
        let Some(mut row) = read else {
            return Ok(None);
        };
        Ok(Some(RefreshRow {
            family_id: take(&mut row, "family_id", text)?,
            user_id: take(&mut row, "user_id", Some)?,
            expires_at: take(&mut row, "expires_at", int)?,
            spent: take(&mut row, "spent", |value| match value {
                Value::Bool(spent) => Some(spent),
                _ => None,
            })?,
        }))
    }

    /// Spends `old` and stores `new` in the same family, atomically.
    /// `false` (and nothing written) when `old` was already spent: the
    /// caller is looking at a replayed token.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        session: &SessionRow,
        key_kind: FieldKind,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx: Tx = self.begin().await?;
        let spent = tx
            .execute(
                Query::update()
                    .table(REFRESH_TOKENS_TABLE)
                    .value("spent", true)
                    .and_where(Expr::col("token_hash").eq(Expr::val(old_hash.to_owned())))
                    .and_where(Expr::col("spent").eq(false)),
            )
            .await?;
        if spent != 1 {
            return Ok(false);
        }
        tx.execute(&self.refresh_insert(new_hash, session, key_kind, now, session.expires_at)?)
            .await?;
        tx.execute(
            Query::update()
                .table(SESSIONS_TABLE)
                .value("last_seen_at", now)
                .value("expires_at", session.expires_at)
                .and_where(Expr::col("id").eq(Expr::val(session.id.clone()))),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

impl Tx {
    /// [`Store::delete_user_sessions`] inside this transaction, so that
    /// the sessions end with the change that ends them, or not at all.
    pub async fn delete_user_sessions(
        &mut self,
        user_id: &Value,
        key_kind: FieldKind,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        let user = super::to_sql_value(key_kind, user_id, self.dialect()).map_err(|problem| {
            StoreError::InvalidValue {
                field: "user_id".into(),
                problem,
            }
        })?;
        let mut ended = 0;
        for delete in user_sessions_deletes(user, keep) {
            ended = self.execute(&delete).await?;
        }
        Ok(ended)
    }
}

/// The refresh tokens, then the sessions, of `user` but session `keep`
/// (the foreign key's cascade is only the safety net).
fn user_sessions_deletes(user: sea_query::Value, keep: Option<&str>) -> [DeleteStatement; 2] {
    let mut tokens = Query::delete();
    tokens
        .from_table(REFRESH_TOKENS_TABLE)
        .and_where(Expr::col("user_id").eq(Expr::val(user.clone())));
    let mut sessions = Query::delete();
    sessions
        .from_table(SESSIONS_TABLE)
        .and_where(Expr::col("user_id").eq(Expr::val(user)));
    if let Some(keep) = keep {
        tokens.and_where(Expr::col("family_id").ne(Expr::val(keep.to_owned())));
        sessions.and_where(Expr::col("id").ne(Expr::val(keep.to_owned())));
    }
    [tokens, sessions]
}
