//! Create, update and delete, each decided so that no other request can
//! come between the rule check and the write: a create in one
//! transaction; an update or delete in one statement that carries the
//! rule and requires the row to be as read, or, when that statement
//! touches nothing, in a transaction with the row locked. The owner
//! field is always the caller; a create rule sees the row as it would be
//! stored; an update must pass its rule on the stored row and again on the
//! row as it would become (so nobody hands a row to someone else unless a
//! rule says so).

use super::gate::{FieldGates, Gate};
use super::read::Item;
use super::{Authz, AuthzError, key_only, parse_key};
use crate::config::{FieldKind, ResourceDef, VERSION_COLUMN};
use crate::password;
use crate::rows::input::{WriteMode, apply_defaults, parse_body};
use crate::rows::output::{policy_row, version};
use crate::store::{Row, Tx, key_equals, to_sql_value, unchanged_since_read};
use sea_query::{Alias, DeleteStatement, Expr, ExprTrait, LockType, Query, UpdateStatement};
use serde_json::Value as Json;
use warden_policy::{Action, Dialect, Known, Residual, Value};

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
        self.refuse_anonymous_early(resource)?;
        let (key, stored) = self.visible_row(resource, id).await?;
        self.refuse_outright(resource, Action::Update, id, &stored)?;
        let (body, current_password) = self.take_current_password(resource, body)?;
        let mut changes = parse_body(resource, body, mode)?;
        check_version(&stored, if_match)?;
        let password_change = self
            .password_change(
                resource,
                &key,
                &stored,
                &changes,
                current_password.as_deref(),
            )
            .await?;
        hash_passwords(resource, &mut changes).await?;
        let dialect = self.target(resource).dialect;
        let mut update = self.update_statement(resource, id, &key, &stored, &changes)?;
        let guards = unchanged_since_read(resource, &stored, &changes, dialect)
            .map_err(AuthzError::Internal)?;
        for guard in guards {
            update.and_where(guard);
        }
        let done = password_change.is_none() && self.app.store().execute(&update).await? > 0;
        if !done {
            let mut tx = self.app.store().begin().await?;
            let (key, stored) = self.lock_visible(&mut tx, resource, id).await?;
            check_version(&stored, if_match)?;
            let update = self.update_statement(resource, id, &key, &stored, &changes)?;
            if tx.execute(&update).await? == 0 {
                return Err(self.refuse(resource, Action::Update, id, &stored));
            }
            if let Some(change) = &password_change {
                let ended = tx
                    .delete_user_sessions(
                        &key,
                        resource.primary_field().kind,
                        change.keep.as_deref(),
                    )
                    .await?;
                tracing::info!(user = %key, ended, "password changed: other sessions ended");
            }
            tx.commit().await?;
        }
        // The version the update wrote is not known here (another write
        // may have followed): the answer carries one only when read back.
        self.written(resource, &key, None).await
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

    /// The `UPDATE` of `changes` to the row `stored`, carrying what the
    /// update rule leaves to the database, on the stored row and on the row
    /// as it would become; refused when the rule already says no.
    fn update_statement(
        &self,
        resource: &ResourceDef,
        id: &str,
        key: &Value,
        stored: &Row,
        changes: &Row,
    ) -> Result<UpdateStatement, AuthzError> {
        let mut after = stored.clone();
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
        let mut update = Query::update();
        update.table(Alias::new(resource.table.clone()));
        for (name, value) in changes {
            let kind = resource.field(name).map_or(FieldKind::Text, |f| f.kind);
            let bound = to_sql_value(kind, value, target.dialect).map_err(AuthzError::Internal)?;
            update.value(Alias::new(name.clone()), Expr::val(bound));
        }
        update.value(
            Alias::new(VERSION_COLUMN),
            Expr::col(Alias::new(VERSION_COLUMN)).add(1),
        );
        update.and_where(key_equals(resource, key, target.dialect)?);
        for gate in [&on_stored, &on_proposed] {
            if gate.allows_nothing() {
                return Err(self.refuse(resource, Action::Update, id, stored));
            }
            if let Some(condition) = gate.condition(&target)? {
                update.and_where(condition);
            }
        }
        Ok(update)
    }

    /// Logs and answers `action` refused on the row `stored`.
    fn refuse(&self, resource: &ResourceDef, action: Action, id: &str, stored: &Row) -> AuthzError {
        let rule = self.rule(&resource.name, action);
        self.log_denial(action, resource, id, rule, Some(stored));
        self.forbidden(rule, action, resource)
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
        self.refuse_anonymous_early(resource)?;
        let (key, stored) = self.visible_row(resource, id).await?;
        self.refuse_outright(resource, Action::Delete, id, &stored)?;
        check_version(&stored, if_match)?;
        let mut delete = self.delete_statement(resource, &key)?;
        if let Some(version) = if_match {
            delete.and_where(Expr::col(Alias::new(VERSION_COLUMN)).eq(version));
        }
        if self.app.store().execute(&delete).await? == 0 {
            let mut tx = self.app.store().begin().await?;
            let (key, stored) = self.lock_visible(&mut tx, resource, id).await?;
            check_version(&stored, if_match)?;
            if tx.execute(&self.delete_statement(resource, &key)?).await? == 0 {
                return Err(self.refuse(resource, Action::Delete, id, &stored));
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// The `DELETE` of the row `key`, carrying the delete rule (which
    /// `refuse_outright` has checked is not refused outright).
    fn delete_statement(
        &self,
        resource: &ResourceDef,
        key: &Value,
    ) -> Result<DeleteStatement, AuthzError> {
        let target = self.target(resource);
        let mut delete = Query::delete();
        delete.from_table(Alias::new(resource.table.clone()));
        delete.and_where(key_equals(resource, key, target.dialect)?);
        if let Some(condition) = self.gate(resource, Action::Delete).condition(&target)? {
            delete.and_where(condition);
        }
        Ok(delete)
    }

    /// An anonymous caller who may not see any row of the resource gets
    /// 401 before anything is read, so the answer says nothing about which
    /// rows exist.
    pub(super) fn refuse_anonymous_early(&self, resource: &ResourceDef) -> Result<(), AuthzError> {
        if !self.caller.is_anonymous() {
            return Ok(());
        }
        let read = self.gate(resource, Action::Read);
        if read.allows_nothing() && read.rule.is_some_and(warden_policy::Rule::depends_on_user) {
            self.log_denial(Action::Read, resource, "*", read.rule, None);
            return Err(AuthzError::Unauthenticated);
        }
        Ok(())
    }

    /// A row the caller may see, but an action its rule refuses this
    /// caller on every row: answered before the body is even parsed.
    fn refuse_outright(
        &self,
        resource: &ResourceDef,
        action: Action,
        id: &str,
        stored: &Row,
    ) -> Result<(), AuthzError> {
        if self.gate(resource, action).allows_nothing() {
            return Err(self.refuse(resource, action, id, stored));
        }
        Ok(())
    }

    /// Reads the row a write will act on, as the caller may see it; 404 /
    /// deny status / 401 when missing or not visible to the caller.
    async fn visible_row(
        &self,
        resource: &ResourceDef,
        id: &str,
    ) -> Result<(Value, Row), AuthzError> {
        let key = parse_key(resource, id)?;
        let read = self.gate(resource, Action::Read);
        let row = self
            .fetch_by_key(resource, &key, &read, &FieldGates::none())
            .await?;
        let row = self.seen(resource, id, &read, row)?;
        Ok((key, row))
    }

    /// Reads and locks the row inside `tx`; 404 / deny status / 401 when
    /// missing or not visible to the caller.
    async fn lock_visible(
        &self,
        tx: &mut Tx,
        resource: &ResourceDef,
        id: &str,
    ) -> Result<(Value, Row), AuthzError> {
        let key = parse_key(resource, id)?;
        let read = self.gate(resource, Action::Read);
        let mut select = self.select_readable(resource, &key, &read.residual)?;
        if self.target(resource).dialect == Dialect::Postgres {
            select.lock(LockType::Update);
        }
        let row = tx.fetch_rows(resource, &select).await?.into_iter().next();
        let row = self.seen(resource, id, &read, row)?;
        Ok((key, row))
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
