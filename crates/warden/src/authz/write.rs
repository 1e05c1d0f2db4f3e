//! Create, update and delete, each decided so that no other request can
//! come between the rule check and the write: a create in one
//! transaction; an update or delete in one statement that carries the
//! rule and requires the row to be as read, or, when that statement
//! touches nothing, in a transaction with the row locked. The owner
//! field is always the caller; a create rule sees the row as it would be
//! stored; an update must pass its rule on the stored row and again on the
//! row as it would become (so nobody hands a row to someone else unless a
//! rule says so). An update or delete its rule admits is done whether or
//! not the read rule shows the caller the row; a refused one answers 403
//! only when the caller may read the row, else as for a row they may not
//! see, and nothing about the row (its version, a body's mistakes) is told
//! to a caller who may neither see it nor act on it.

use super::gate::{FieldGates, Gate};
use super::read::Item;
use super::{Authz, AuthzError, key_only, parse_key, singular};
use crate::config::{FieldKind, ResourceDef, VERSION_COLUMN};
use crate::password;
use crate::rows::input::{WriteMode, apply_defaults, parse_body};
use crate::rows::output::{policy_row, version};
use crate::store::{Row, Tx, key_column, key_equals, to_sql_value, unchanged_since_read};
use sea_query::{
    Alias, DeleteStatement, Expr, ExprTrait, LockType, Query, SelectStatement, UpdateStatement,
};
use serde_json::Value as Json;
use warden_policy::{Action, Dialect, Known, Residual, Value};

/// The stored row an update or delete acts on, and whether the caller may
/// read it: the action's rule decides whether it is done, the read rule
/// only how a refusal is answered ([`Authz::refuse`]).
pub(super) struct Stored {
    pub key: Value,
    pub row: Row,
    pub readable: bool,
}

impl<'a> Authz<'a> {
    /// `POST /api/<resource>`: returns the key of the new row.
    pub async fn create(&self, resource: &str, body: Json) -> Result<Item, AuthzError> {
        let resource = self.resource(resource)?;
        self.require_scopes(resource, Action::Create)?;
        // Refused whatever the body says (no rule, or not for this caller):
        // answer before parsing it.
        let early = self.gate(resource, Action::Create);
        if early.allows_nothing() {
            self.log_denial(Action::Create, resource, "new", early.rule, None);
            return Err(self.forbidden(early.rule, Action::Create, resource));
        }
        let mut row = parse_body(resource, body, WriteMode::Create)?;
        if let Some(owner) = resource.owner_field() {
            let id = self
                .caller
                .user
                .as_ref()
                .map_or(Value::Null, |u| u.id.clone());
            row.insert(owner.name.clone(), id);
        }
        apply_defaults(resource, &mut row);
        let proposed = policy_row(resource, &row);
        let gate = self.gate_known(
            resource,
            Action::Create,
            Known {
                user: self.caller.principal(),
                row: Some(&proposed),
                new: Some(&proposed),
            },
        );
        let mut tx = self.app.store().begin().await?;
        if !self.holds_on_known(&mut tx, resource, &gate).await? {
            self.log_denial(Action::Create, resource, "new", gate.rule, Some(&row));
            return Err(self.forbidden(gate.rule, Action::Create, resource));
        }
        hash_passwords(resource, &mut row).await?;
        let stored = tx.insert(resource, &row).await?;
        tx.commit().await?;
        let key = stored
            .get(&resource.primary_key)
            .cloned()
            .unwrap_or(Value::Null);
        self.written(resource, &key, version(&stored)).await
    }

    /// `PATCH` (partial) or `PUT` (full) `/api/<resource>/<id>`.
    ///
    /// First without a transaction: the row is read, the rule decided on
    /// it as far as it can be in memory, and one `UPDATE` carries the rest
    /// of the rule and requires the row to be as it was read (its version
    /// and every column the change leaves alone). So the write lock is
    /// held for one statement, not for four round trips. When that
    /// `UPDATE` touches nothing (the row changed meanwhile, or the rule's
    /// database part refused), the update is decided again inside a
    /// transaction with the row locked. A password change of the users
    /// resource (`authz::password_change`) always takes the transaction,
    /// which also ends the account's other sessions.
    pub async fn update(
        &self,
        resource: &str,
        id: &str,
        body: Json,
        mode: WriteMode,
        if_match: Option<i64>,
    ) -> Result<Item, AuthzError> {
        let resource = self.resource(resource)?;
        self.require_scopes(resource, Action::Update)?;
        self.refuse_anonymous_early(resource, Action::Update)?;
        let stored = self.stored_row(resource, id).await?;
        self.refuse_outright(resource, Action::Update, id, &stored)
            .await?;
        let (body, current_password) = self.take_current_password(resource, body)?;
        let mut changes = parse_body(resource, body, mode)?;
        let fresh = version_matches(&stored, if_match)?;
        let password_change = self
            .password_change(
                resource,
                &stored.key,
                &stored.row,
                &changes,
                current_password.as_deref(),
            )
            .await?;
        hash_passwords(resource, &mut changes).await?;
        let mut done = false;
        if fresh && password_change.is_none() {
            let conditions = self.update_conditions(resource, id, &stored, &changes)?;
            let mut update = self.update_statement(resource, &stored.key, &changes, conditions)?;
            let dialect = self.target(resource).dialect;
            let guards = unchanged_since_read(resource, &stored.row, &changes, dialect)
                .map_err(AuthzError::Internal)?;
            for guard in guards {
                update.and_where(guard);
            }
            done = self.app.store().execute(&update).await? > 0;
        }
        if !done {
            let mut tx = self.app.store().begin().await?;
            let stored = self.lock_row(&mut tx, resource, id).await?;
            let conditions = self.update_conditions(resource, id, &stored, &changes)?;
            self.refuse_unless_met(&mut tx, resource, Action::Update, id, &stored, &conditions)
                .await?;
            check_version(&stored.row, if_match)?;
            let update = self.update_statement(resource, &stored.key, &changes, conditions)?;
            if tx.execute(&update).await? == 0 {
                return Err(self.refuse(resource, Action::Update, id, &stored));
            }
            if let Some(change) = &password_change {
                let ended = tx
                    .delete_user_sessions(
                        &stored.key,
                        resource.primary_field().kind,
                        change.keep.as_deref(),
                    )
                    .await?;
                tracing::info!(user = %stored.key, ended, "password changed: other sessions ended");
            }
            tx.commit().await?;
        }
        // The version the update wrote is not known here (another write
        // may have followed): the answer carries one only when read back.
        self.written(resource, &stored.key, None).await
    }

    /// The answer to a create or update: the row as the caller may read
    /// it, through the gates of a read (read scopes, read rule, field
    /// rules); when they hide it, only its key (with `version`, when
    /// known). A writer is never shown what a read would not show them.
    async fn written(
        &self,
        resource: &ResourceDef,
        key: &Value,
        version: Option<i64>,
    ) -> Result<Item, AuthzError> {
        if self.holds_scopes(resource, Action::Read) {
            match self.read_item(resource, &key_text(key), &[]).await {
                Err(
                    AuthzError::NotFound(_)
                    | AuthzError::Forbidden(_)
                    | AuthzError::Unauthenticated,
                ) => {}
                answer => return answer,
            }
        }
        Ok(Item {
            json: key_only(resource, key),
            version,
        })
    }

    /// What an `UPDATE` of `changes` to the row `stored` must carry of the
    /// update rule: the part left to the database, on the stored row and
    /// on the row as it would become (none when memory decided it);
    /// refused when the rule already says no.
    fn update_conditions(
        &self,
        resource: &ResourceDef,
        id: &str,
        stored: &Stored,
        changes: &Row,
    ) -> Result<Vec<Expr>, AuthzError> {
        let mut after = stored.row.clone();
        for (name, value) in changes {
            after.insert(name.clone(), value.clone());
        }
        let proposed = policy_row(resource, &after);
        let known_new = Known {
            user: self.caller.principal(),
            row: None,
            new: Some(&proposed),
        };
        let on_stored = self.gate_known(resource, Action::Update, known_new);
        let on_proposed = self.gate_known(
            resource,
            Action::Update,
            Known {
                row: Some(&proposed),
                ..known_new
            },
        );
        let target = self.target(resource);
        let mut conditions = Vec::new();
        for gate in [&on_stored, &on_proposed] {
            if gate.allows_nothing() {
                return Err(self.refuse(resource, Action::Update, id, stored));
            }
            conditions.extend(gate.condition(&target)?);
        }
        Ok(conditions)
    }

    /// The `UPDATE` of `changes` to the row `key`, carrying `conditions`
    /// ([`Authz::update_conditions`]).
    fn update_statement(
        &self,
        resource: &ResourceDef,
        key: &Value,
        changes: &Row,
        conditions: Vec<Expr>,
    ) -> Result<UpdateStatement, AuthzError> {
        let dialect = self.target(resource).dialect;
        let mut update = Query::update();
        update.table(Alias::new(resource.table.clone()));
        for (name, value) in changes {
            let kind = resource.field(name).map_or(FieldKind::Text, |f| f.kind);
            let bound = to_sql_value(kind, value, dialect).map_err(AuthzError::Internal)?;
            update.value(Alias::new(name.clone()), Expr::val(bound));
        }
        update.value(
            Alias::new(VERSION_COLUMN),
            Expr::col(Alias::new(VERSION_COLUMN)).add(1),
        );
        update.and_where(key_equals(resource, key, dialect)?);
        for condition in conditions {
            update.and_where(condition);
        }
        Ok(update)
    }

    /// Logs and answers `action` refused on the row `stored`: 403 (or 401)
    /// when the caller may read the row, else what a read of it answers
    /// (the resource's deny status, or 401), so a caller who may neither
    /// see the row nor act on it learns no more than from a read.
    pub(super) fn refuse(
        &self,
        resource: &ResourceDef,
        action: Action,
        id: &str,
        stored: &Stored,
    ) -> AuthzError {
        let rule = self.rule(&resource.name, action);
        self.log_denial(action, resource, id, rule, Some(&stored.row));
        if stored.readable {
            self.forbidden(rule, action, resource)
        } else {
            self.unseen(self.rule(&resource.name, Action::Read), resource)
        }
    }

    /// `DELETE /api/<resource>/<id>`. As [`Authz::update`]: first one
    /// `DELETE` carrying the rule (and the `If-Match` version), outside a
    /// transaction; when it touches nothing, decided again with the row
    /// locked, to tell a refusal from a row that changed or went.
    pub async fn delete(
        &self,
        resource: &str,
        id: &str,
        if_match: Option<i64>,
    ) -> Result<(), AuthzError> {
        let resource = self.resource(resource)?;
        self.require_scopes(resource, Action::Delete)?;
        self.refuse_anonymous_early(resource, Action::Delete)?;
        let stored = self.stored_row(resource, id).await?;
        self.refuse_outright(resource, Action::Delete, id, &stored)
            .await?;
        let condition = self
            .gate(resource, Action::Delete)
            .condition(&self.target(resource))?;
        if version_matches(&stored, if_match)? {
            let mut delete = self.delete_statement(resource, &stored.key, condition.clone())?;
            if let Some(version) = if_match {
                delete.and_where(Expr::col(Alias::new(VERSION_COLUMN)).eq(version));
            }
            if self.app.store().execute(&delete).await? > 0 {
                return Ok(());
            }
        }
        let mut tx = self.app.store().begin().await?;
        let stored = self.lock_row(&mut tx, resource, id).await?;
        self.refuse_unless_met(
            &mut tx,
            resource,
            Action::Delete,
            id,
            &stored,
            condition.as_slice(),
        )
        .await?;
        check_version(&stored.row, if_match)?;
        let delete = self.delete_statement(resource, &stored.key, condition)?;
        if tx.execute(&delete).await? == 0 {
            return Err(self.refuse(resource, Action::Delete, id, &stored));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The `DELETE` of the row `key`, carrying what the delete rule leaves
    /// to the database (`condition`).
    fn delete_statement(
        &self,
        resource: &ResourceDef,
        key: &Value,
        condition: Option<Expr>,
    ) -> Result<DeleteStatement, AuthzError> {
        let mut delete = Query::delete();
        delete.from_table(Alias::new(resource.table.clone()));
        delete.and_where(key_equals(resource, key, self.target(resource).dialect)?);
        if let Some(condition) = condition {
            delete.and_where(condition);
        }
        Ok(delete)
    }

    /// An anonymous caller who may neither see nor take `action` on any
    /// row of the resource gets 401 before anything is read, so the answer
    /// says nothing about which rows exist.
    pub(super) fn refuse_anonymous_early(
        &self,
        resource: &ResourceDef,
        action: Action,
    ) -> Result<(), AuthzError> {
        if !self.caller.is_anonymous() {
            return Ok(());
        }
        let read = self.gate(resource, Action::Read);
        let gate = self.gate(resource, action);
        if read.allows_nothing()
            && gate.allows_nothing()
            && read.rule.is_some_and(warden_policy::Rule::depends_on_user)
        {
            self.log_denial(action, resource, "*", gate.rule, None);
            return Err(AuthzError::Unauthenticated);
        }
        Ok(())
    }

    /// Refuses `action` before the body is read when its rule refuses it
    /// whatever the body says: on every row, or — on a row the caller may
    /// not read — on this stored row for every proposal, decided in memory
    /// or, for what needs the database (relations, `exists`), by one
    /// statement. So the mistakes of a body tell nothing about a row the
    /// caller may neither see nor act on. The write's own statement
    /// decides again, on the proposal: this only answers early.
    async fn refuse_outright(
        &self,
        resource: &ResourceDef,
        action: Action,
        id: &str,
        stored: &Stored,
    ) -> Result<(), AuthzError> {
        let refused = if stored.readable {
            self.gate(resource, action).allows_nothing()
        } else {
            let row = policy_row(resource, &stored.row);
            let known = Known {
                user: self.caller.principal(),
                row: Some(&row),
                new: None,
            };
            match self
                .gate_known(resource, action, known)
                .residual
                .for_some_new()
            {
                Residual::Always(admitted) => !admitted,
                residual => {
                    let condition = residual
                        .to_sql(&self.target(resource))
                        .map_err(|e| AuthzError::Internal(e.to_string()))?;
                    let probe = self.admission(resource, &stored.key, [condition])?;
                    self.app
                        .store()
                        .fetch_rows(resource, &probe)
                        .await?
                        .is_empty()
                }
            }
        };
        if refused {
            return Err(self.refuse(resource, action, id, stored));
        }
        Ok(())
    }

    /// Inside the transaction, before the locked row's version is told
    /// (a stale `If-Match`): a row the caller may not read must meet
    /// `conditions`, what the write's statement carries of its rule.
    /// Else it is refused as a row the caller may not see.
    async fn refuse_unless_met(
        &self,
        tx: &mut Tx,
        resource: &ResourceDef,
        action: Action,
        id: &str,
        stored: &Stored,
        conditions: &[Expr],
    ) -> Result<(), AuthzError> {
        if stored.readable || conditions.is_empty() {
            return Ok(());
        }
        let probe = self.admission(resource, &stored.key, conditions.iter().cloned())?;
        if tx.fetch_rows(resource, &probe).await?.is_empty() {
            return Err(self.refuse(resource, action, id, stored));
        }
        Ok(())
    }

    /// `SELECT <key> FROM <table> WHERE <key> = ? AND <conditions>`: one
    /// row when the row `key` meets the conditions.
    fn admission(
        &self,
        resource: &ResourceDef,
        key: &Value,
        conditions: impl IntoIterator<Item = Expr>,
    ) -> Result<SelectStatement, AuthzError> {
        let mut select = Query::select();
        select
            .expr_as(
                key_column(resource),
                Alias::new(resource.primary_key.clone()),
            )
            .from(Alias::new(resource.table.clone()))
            .and_where(key_equals(resource, key, self.target(resource).dialect)?);
        for condition in conditions {
            select.and_where(condition);
        }
        Ok(select)
    }

    /// Reads the row a write will act on, with whether the caller may read
    /// it; 404 when missing.
    async fn stored_row(&self, resource: &ResourceDef, id: &str) -> Result<Stored, AuthzError> {
        let key = parse_key(resource, id)?;
        let read = self.gate(resource, Action::Read);
        let row = self
            .fetch_by_key(resource, &key, &read, &FieldGates::none())
            .await?
            .ok_or_else(|| AuthzError::NotFound(singular(resource)))?;
        Ok(Stored {
            readable: read.holds_for(&row, "read"),
            key,
            row,
        })
    }

    /// Reads and locks the row inside `tx`, with whether the caller may
    /// read it; 404 when missing.
    async fn lock_row(
        &self,
        tx: &mut Tx,
        resource: &ResourceDef,
        id: &str,
    ) -> Result<Stored, AuthzError> {
        let key = parse_key(resource, id)?;
        let read = self.gate(resource, Action::Read);
        let mut select = self.select_readable(resource, &key, &read.residual)?;
        if self.target(resource).dialect == Dialect::Postgres {
            select.lock(LockType::Update);
        }
        let row = tx
            .fetch_rows(resource, &select)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AuthzError::NotFound(singular(resource)))?;
        Ok(Stored {
            readable: read.holds_for(&row, "read"),
            key,
            row,
        })
    }

    /// Decides a rule whose row is fully known; what is left (relations,
    /// `exists`) is asked of the database inside the transaction.
    async fn holds_on_known(
        &self,
        tx: &mut Tx,
        resource: &ResourceDef,
        gate: &Gate<'_>,
    ) -> Result<bool, AuthzError> {
        match &gate.residual {
            Residual::Always(b) => Ok(*b),
            residual => {
                let condition = residual
                    .to_sql(&self.target(resource))
                    .map_err(|e| AuthzError::Internal(e.to_string()))?;
                let mut select = Query::select();
                select
                    .expr_as(Expr::cust("TRUE"), "w_flag_ok")
                    .and_where(condition);
                Ok(!tx.fetch_rows(resource, &select).await?.is_empty())
            }
        }
    }
}

async fn hash_passwords(resource: &ResourceDef, row: &mut Row) -> Result<(), AuthzError> {
    for field in resource
        .fields
        .values()
        .filter(|f| f.kind == FieldKind::Password)
    {
        if let Some(Value::Text(clear)) = row.get(&field.name) {
            let hashed = password::hash(clear.clone())
                .await
                .map_err(|error| match error {
                    password::PasswordError::Overloaded => AuthzError::Overloaded,
                    other => AuthzError::Internal(other.to_string()),
                })?;
            row.insert(field.name.clone(), Value::Text(hashed));
        }
    }
    Ok(())
}

/// Whether the row is at the version `If-Match` names (or none is named).
/// A stale version is 412 at once to a caller who may read the row; on a
/// row they may not read, `false`: the transaction answers it once the
/// rule has admitted the row (`Authz::refuse_unless_met`).
fn version_matches(stored: &Stored, if_match: Option<i64>) -> Result<bool, AuthzError> {
    match check_version(&stored.row, if_match) {
        Ok(()) => Ok(true),
        Err(stale) if stored.readable => Err(stale),
        Err(_) => Ok(false),
    }
}

fn check_version(stored: &Row, if_match: Option<i64>) -> Result<(), AuthzError> {
    match (if_match, version(stored)) {
        (Some(wanted), Some(current)) if wanted != current => Err(AuthzError::Stale { current }),
        _ => Ok(()),
    }
}

fn key_text(key: &Value) -> String {
    match key {
        Value::Text(s) => s.clone(),
        other => other.to_string(),
    }
}
