//! The statement that reads one row by key: the row, its read-rule flag,
//! its field-rule flags and, for a remembered caller, their current state.
//! It is bound from its shape's template (`store::template`) when it has
//! one: a caller's rules specialise to a shape shared by many callers.

use super::Authz;
use super::AuthzError;
use super::gate::{FieldGates, Gate};
use crate::auth::remembered::StateInputs;
use crate::config::ResourceDef;
use crate::store::Row;
use crate::store::template::{Shape, replace_parameter};
use warden_policy::{Residual, Value};

/// What a by-key read's statement is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct ByKey {
    read: Residual,
    key: Value,
    fields: Vec<Residual>,
    state: Option<StateInputs>,
}

impl Shape for ByKey {
    fn replace_parameters(&mut self, each: &mut dyn FnMut(Value) -> Value) {
        self.read.replace_parameters(each);
        replace_parameter(&mut self.key, each);
        for field in &mut self.fields {
            field.replace_parameters(each);
        }
        if let Some(state) = &mut self.state {
            state.replace_parameters(each);
        }
    }
}

impl Authz<'_> {
    /// Fetches the row whose key is `key`, with the flags of `read` and
    /// `fields`, and notes whether it confirms a remembered caller.
    pub(super) async fn fetch_by_key(
        &self,
        resource: &ResourceDef,
        key: &Value,
        read: &Gate<'_>,
        fields: &FieldGates<'_>,
    ) -> Result<Option<Row>, AuthzError> {
        let built_from = ByKey {
            read: read.residual.clone(),
            key: key.clone(),
            fields: fields.residuals(),
            state: self.caller_state(),
        };
        let target = self.target(resource);
        let store = self.app.store();
        let (sql, values) = self.app.templates().by_key.statement(
            &resource.name,
            store.dialect(),
            built_from,
            |shape| {
                let mut select = self.select_by_key(resource, &shape.key, &shape.read)?;
                fields.select_flags_of(shape.fields.iter(), &mut select, &target)?;
                if let Some(state) = &shape.state {
                    state.select(self.app.callers(), &mut select);
                }
                Ok::<_, AuthzError>(select)
            },
        )?;
        let row = store.fetch_row(resource, sql, values).await?;
        self.note_caller_state(row.as_slice());
        Ok(row)
    }
}
