//! Rules specialised for one caller, and the SQL they become: a WHERE
//! condition, or a computed boolean column (`w_flag_*`) selected beside
//! the row when the answer is needed per row rather than as a filter.

use super::{Authz, AuthzError};
use crate::config::ResourceDef;
use crate::store::{FLAG_PREFIX, Row};
use sea_query::{Expr, SelectStatement};
use std::collections::BTreeSet;
use warden_policy::{Action, Known, Residual, Rule, SqlTarget, Value};

/// A rule (or its absence) specialised for the caller.
pub(super) struct Gate<'r> {
    pub rule: Option<&'r Rule>,
    pub residual: Residual,
}

impl<'r> Gate<'r> {
    pub fn allows_nothing(&self) -> bool {
        self.residual.is_always(false)
    }

    /// As a WHERE condition; `None` when it holds for every row.
    pub fn condition(&self, target: &SqlTarget) -> Result<Option<Expr>, AuthzError> {
        condition(&self.residual, target)
    }

    /// Adds the rule's flag column `name` ([`select_flag`]).
    pub fn select_flag(
        &self,
        select: &mut SelectStatement,
        target: &SqlTarget,
        name: &str,
    ) -> Result<(), AuthzError> {
        select_flag(&self.residual, select, target, name)
    }

    /// The answer for one fetched row (which carries the flag if needed).
    pub fn holds_for(&self, row: &Row, name: &str) -> bool {
        match self.residual {
            Residual::Always(b) => b,
            Residual::Predicate(_) => matches!(row.get(&flag_name(name)), Some(Value::Bool(true))),
        }
    }
}

/// `residual` as a WHERE condition; `None` when it holds for every row.
pub(super) fn condition(
    residual: &Residual,
    target: &SqlTarget,
) -> Result<Option<Expr>, AuthzError> {
    match residual {
        Residual::Always(true) => Ok(None),
        residual => residual
            .to_sql(target)
            .map(Some)
            .map_err(|e| AuthzError::Internal(e.to_string())),
    }
}

/// Adds `CASE WHEN <residual> THEN TRUE ELSE FALSE END AS w_flag_<name>`
/// when the answer differs per row.
pub(super) fn select_flag(
    residual: &Residual,
    select: &mut SelectStatement,
    target: &SqlTarget,
    name: &str,
) -> Result<(), AuthzError> {
    if let Residual::Predicate(_) = residual {
        // A flag is computed per fetched row (usually one, by key):
        // a correlated probe, not a semi-join over the whole ACL.
        let predicate = residual
            .to_sql(&target.correlated())
            .map_err(|e| AuthzError::Internal(e.to_string()))?;
        select.expr_as(
            Expr::case(predicate, Expr::cust("TRUE")).finally(Expr::cust("FALSE")),
            flag_name(name),
        );
    }
    Ok(())
}

pub(super) fn flag_name(name: &str) -> String {
    format!("{FLAG_PREFIX}{name}")
}

/// Per-row read rules of a resource's fields, specialised for the caller.
pub(super) struct FieldGates<'r> {
    gates: Vec<(&'r str, Gate<'r>)>,
}

impl<'r> FieldGates<'r> {
    /// No field rules: for reads that answer no fields to the caller.
    pub fn none() -> FieldGates<'r> {
        FieldGates { gates: Vec::new() }
    }

    pub fn select_flags(
        &self,
        select: &mut SelectStatement,
        target: &SqlTarget,
    ) -> Result<(), AuthzError> {
        for (field, gate) in &self.gates {
            select_flag(&gate.residual, select, target, &format!("field_{field}"))?;
        }
        Ok(())
    }

    /// Fields of `row` this caller may not see.
    pub fn withheld(&self, row: &Row) -> BTreeSet<String> {
        self.gates
            .iter()
            .filter(|(field, gate)| !gate.holds_for(row, &format!("field_{field}")))
            .map(|(field, _)| (*field).to_owned())
            .collect()
    }
}

impl<'a> Authz<'a> {
    pub(super) fn gate(&self, resource: &ResourceDef, action: Action) -> Gate<'a> {
        self.gate_known(
            resource,
            action,
            Known {
                user: self.caller.principal(),
                row: None,
                new: None,
            },
        )
    }

    pub(super) fn gate_known(
        &self,
        resource: &ResourceDef,
        action: Action,
        known: Known<'_>,
    ) -> Gate<'a> {
        let rule = self.rule(&resource.name, action);
        let residual = rule.map_or(Residual::Always(false), |r| r.specialize_with(&known));
        Gate { rule, residual }
    }

    pub(super) fn field_gates(&self, resource: &ResourceDef) -> FieldGates<'a> {
        let known = Known {
            user: self.caller.principal(),
            row: None,
            new: None,
        };
        let gates = self
            .app
            .policy()
            .resource(&resource.name)
            .map(|p| {
                p.fields
                    .iter()
                    .map(|(field, rule)| {
                        (
                            field.as_str(),
                            Gate {
                                rule: Some(rule),
                                residual: rule.specialize_with(&known),
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        FieldGates { gates }
    }

    pub(super) fn target(&self, resource: &ResourceDef) -> SqlTarget {
        SqlTarget::new(self.app.store().dialect(), resource.table.clone())
    }
}
