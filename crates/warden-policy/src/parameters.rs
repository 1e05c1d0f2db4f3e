//! A residual's parameters: the constants [`Residual::to_sql`] binds as
//! values (ints, floats and text), which it never reads otherwise. Taking
//! them out leaves the residual's shape: two callers whose rules specialise
//! to the same shape compile to the same SQL text, only with other values,
//! so a statement rendered for one can be bound for the other.
//!
//! Nulls, booleans and lists are not parameters: the compiler reads them
//! (a null is `IS NULL`, a boolean condition is folded, a list's length is
//! its number of placeholders), so they stay part of the shape.

use crate::ir::{Node, NodeKind};
use crate::partial::Residual;
use crate::value::Value;

/// Whether the SQL compiler binds `value` without reading it.
pub fn is_parameter(value: &Value) -> bool {
    matches!(value, Value::Int(_) | Value::Float(_) | Value::Text(_))
}

impl Residual {
    /// Replaces each parameter by what `each` returns for it, in a fixed
    /// order (the same for every residual of one shape).
    pub fn replace_parameters(&mut self, each: &mut dyn FnMut(Value) -> Value) {
        if let Residual::Predicate(node) = self {
            replace_in(node, each);
        }
    }
}

fn replace_in(node: &mut Node, each: &mut dyn FnMut(Value) -> Value) {
    match &mut node.kind {
        NodeKind::Const(value) if is_parameter(value) => {
            let taken = std::mem::replace(value, Value::Null);
            *value = each(taken);
        }
        NodeKind::Const(_)
        | NodeKind::Principal
        | NodeKind::UserAttr(_)
        | NodeKind::Field(_)
        | NodeKind::HasScope(_) => {}
        NodeKind::List(items) | NodeKind::SqlCall { args: items, .. } => {
            for item in items {
                replace_in(item, each);
            }
        }
        NodeKind::Not(a)
        | NodeKind::IsNull { operand: a, .. }
        | NodeKind::Exists { condition: a, .. } => replace_in(a, each),
        NodeKind::And(a, b)
        | NodeKind::Or(a, b)
        | NodeKind::Compare(_, a, b)
        | NodeKind::In(a, b)
        | NodeKind::Text(_, a, b) => {
            replace_in(a, each);
            replace_in(b, each);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::{Action, Dialect, Principal, SqlTarget};

    /// The parameters come out in the order the compiler binds them, so
    /// putting other values in yields the SQL those values compile to.
    #[test]
    fn replaced_parameters_compile_to_the_same_text_with_the_new_values() {
        let rule = fixtures::compile(
            "posts",
            Action::Read,
            "row.owner_id == user.id || row.score > 0.5 \
             || exists(votes where it.post_id == row.id && it.user_id == user.id) \
             || contains(row.title, user.email)",
        );
        let alice = Principal::with_id(23).attribute("email", "alice@x");
        let bob = Principal::with_id(41).attribute("email", "bob@x");
        let mut shape = rule.specialize(Some(&alice));
        let mut taken = Vec::new();
        shape.replace_parameters(&mut |value| {
            taken.push(value.clone());
            match value {
                Value::Int(23) => Value::Int(41),
                Value::Text(_) => Value::Text("bob@x".into()),
                other => other,
            }
        });
        assert_eq!(
            taken,
            [
                Value::Int(23),
                Value::Float(0.5),
                Value::Int(23),
                Value::Text("alice@x".into())
            ]
        );
        let for_bob = rule.specialize(Some(&bob));
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let target = SqlTarget::new(dialect, "posts");
            assert_eq!(
                shape.to_sql_string(&target).expect("compiles"),
                for_bob.to_sql_string(&target).expect("compiles")
            );
        }
    }

    #[test]
    fn nulls_booleans_and_lists_stay_in_the_shape() {
        for value in [
            Value::Null,
            Value::Bool(true),
            Value::List(vec![Value::Int(1)]),
        ] {
            assert!(!is_parameter(&value));
        }
        for value in [Value::Int(1), Value::Float(0.5), Value::Text("a".into())] {
            assert!(is_parameter(&value));
        }
    }
}
