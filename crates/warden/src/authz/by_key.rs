//! The statement that reads one row by key for a caller: the row, its
//! read-rule flag and its field-rule flags, built per request with
//! sea-query (sqlx's prepared-statement cache keeps the parsed SQL). It
//! decides nothing: `Authz` judges the flags it returns.

use super::gate::{FieldGates, Gate, select_flag};
use super::{Authz, AuthzError};
use crate::config::ResourceDef;
use crate::store::{Row, select_by_key};
use sea_query::SelectStatement;
use warden_policy::{Residual, Value};

impl Authz<'_> {
    /// `SELECT` of the row `key`, with the flag of its read rule (as
    /// specialised: `read`) beside it: the start of every single-row read
    /// and write.
    pub(super) fn select_readable(
        &self,
        resource: &ResourceDef,
        key: &Value,
        read: &Residual,
    ) -> Result<SelectStatement, AuthzError> {
        let target = self.target(resource);
        let mut select = select_by_key(resource, key, target.dialect)?;
        select_flag(read, &mut select, &target, "read")?;
        Ok(select)
    }

    /// Fetches the row whose key is `key`, with the flags of `read` and
    /// `fields`.
    pub(super) async fn fetch_by_key(
        &self,
        resource: &ResourceDef,
        key: &Value,
        read: &Gate<'_>,
        fields: &FieldGates<'_>,
    ) -> Result<Option<Row>, AuthzError> {
        let mut select = self.select_readable(resource, key, &read.residual)?;
        fields.select_flags(&mut select, &self.target(resource))?;
        Ok(self.app.store().fetch_row(resource, &select).await?)
    }
}
