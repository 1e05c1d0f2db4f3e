//! What a checked rule asks of the database, counted on its tree: terms
//! (every node: field, value, operator, list element) and text patterns
//! (`contains`, `starts_with`, `ends_with`, `icontains`: each a `LIKE`
//! that reads every candidate row's text). Counting only; whether a cost
//! is too much is the caller's decision.

use crate::ir::{Node, NodeKind};
use crate::rules::Rule;

/// The size of a rule's tree, after named rules are inlined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Nodes of the checked tree.
    pub terms: usize,
    /// Text tests, each compiled to one `LIKE`.
    pub patterns: usize,
}

impl Rule {
    /// Counts this rule's terms and text patterns.
    ///
    /// ```
    /// use warden_policy::{Action, CheckOptions, FieldType, RuleSet, Schema};
    ///
    /// let mut schema = Schema::new();
    /// schema.resource("posts", "id").field("id", FieldType::Integer, false).field("title", FieldType::Text, false);
    /// let rules = RuleSet::new(schema);
    /// let filter = rules
    ///     .check("posts", Action::List, "filter", "icontains(row.title, 'a') || row.id in [1, 2]", CheckOptions::default())
    ///     .unwrap();
    /// let cost = filter.cost();
    /// assert_eq!(cost.patterns, 1);
    /// // `||`, icontains and its two operands, `in`, the field and the list with its two elements.
    /// assert_eq!(cost.terms, 9);
    /// ```
    pub fn cost(&self) -> Cost {
        let mut cost = Cost::default();
        add(&self.root, &mut cost);
        cost
    }
}

fn add(node: &Node, cost: &mut Cost) {
    cost.terms += 1;
    match &node.kind {
        NodeKind::Const(_)
        | NodeKind::Principal
        | NodeKind::UserAttr(_)
        | NodeKind::Field(_)
        | NodeKind::HasScope(_) => {}
        NodeKind::List(items) | NodeKind::SqlCall { args: items, .. } => {
            items.iter().for_each(|item| add(item, cost));
        }
        NodeKind::Not(operand) | NodeKind::IsNull { operand, .. } => add(operand, cost),
        NodeKind::Exists { condition, .. } => add(condition, cost),
        NodeKind::Text(_, left, right) => {
            cost.patterns += 1;
            add(left, cost);
            add(right, cost);
        }
        NodeKind::And(left, right)
        | NodeKind::Or(left, right)
        | NodeKind::Compare(_, left, right)
        | NodeKind::In(left, right) => {
            add(left, cost);
            add(right, cost);
        }
    }
}
