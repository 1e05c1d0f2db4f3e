//! Partial evaluation: substitute what is known before a query runs (the
//! caller, and sometimes the row or the proposal) and fold constants, so a
//! superuser's owner rule becomes `true` (no predicate) and an anonymous
//! caller's becomes `false` (no query at all). Follows the null rule of
//! [`crate::eval`] exactly.

use crate::eval::{Principal, Row, compare, member};
use crate::ir::{FieldRef, Node, NodeKind, Start};
use crate::rules::Rule;
use crate::value::{Type, Value};

/// What is known at specialisation time. The caller is always known
/// (`None` = anonymous); rows are known for create and update checks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Known<'a> {
    pub user: Option<&'a Principal>,
    pub row: Option<&'a Row>,
    pub new: Option<&'a Row>,
}

/// A rule after specialisation.
#[derive(Debug, Clone, PartialEq)]
pub enum Residual {
    /// Decided without the database.
    Always(bool),
    /// Still depends on stored rows: compile it to SQL.
    Predicate(Node),
}

impl Residual {
    pub fn is_always(&self, decision: bool) -> bool {
        matches!(self, Residual::Always(d) if *d == decision)
    }

    /// Whether some proposal (`new`) could make this hold: each test that
    /// reads `new` is taken as going whichever way helps the whole hold
    /// (true, or false under a `!`), leaving a residual over stored rows
    /// alone that holds on a row if some proposal could make the original
    /// hold there. `Always(false)`: no proposal can. For answering before
    /// a proposal is known; the write itself decides on the proposal.
    pub fn for_some_new(&self) -> Residual {
        match self {
            Residual::Always(b) => Residual::Always(*b),
            // Specialised, the tree has no `user` left: folding again with
            // nothing known only folds the constants put in for `new`.
            Residual::Predicate(node) => {
                let folded = fold(&assume_new(node, true), &Known::default());
                match folded.kind {
                    NodeKind::Const(v) => Residual::Always(v.is_true()),
                    _ => Residual::Predicate(folded),
                }
            }
        }
    }
}

/// `node` with each test that reads `new` replaced by `helps` (flipped
/// under each `!`).
fn assume_new(node: &Node, helps: bool) -> Node {
    let kind = match &node.kind {
        NodeKind::Not(inner) => NodeKind::Not(Box::new(assume_new(inner, !helps))),
        NodeKind::And(l, r) => NodeKind::And(
            Box::new(assume_new(l, helps)),
            Box::new(assume_new(r, helps)),
        ),
        NodeKind::Or(l, r) => NodeKind::Or(
            Box::new(assume_new(l, helps)),
            Box::new(assume_new(r, helps)),
        ),
        _ if reads_new(node) => return truth(helps, node),
        _ => return node.clone(),
    };
    rebuild(node, kind)
}

fn reads_new(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Field(field) => field.start == Start::New,
        NodeKind::Const(_)
        | NodeKind::Principal
        | NodeKind::UserAttr(_)
        | NodeKind::HasScope(_) => false,
        NodeKind::List(items) | NodeKind::SqlCall { args: items, .. } => {
            items.iter().any(reads_new)
        }
        NodeKind::Not(a) | NodeKind::IsNull { operand: a, .. } => reads_new(a),
        NodeKind::Exists { condition, .. } => reads_new(condition),
        NodeKind::And(a, b)
        | NodeKind::Or(a, b)
        | NodeKind::Compare(_, a, b)
        | NodeKind::In(a, b)
        | NodeKind::Text(_, a, b) => reads_new(a) || reads_new(b),
    }
}

impl Rule {
    /// Specialises for a caller, leaving a predicate over stored rows.
    pub fn specialize(&self, user: Option<&Principal>) -> Residual {
        self.specialize_with(&Known {
            user,
            row: None,
            new: None,
        })
    }

    /// Specialises for whatever is known.
    pub fn specialize_with(&self, known: &Known<'_>) -> Residual {
        let folded = fold(&self.root, known);
        match folded.kind {
            NodeKind::Const(v) => Residual::Always(v.is_true()),
            _ => Residual::Predicate(folded),
        }
    }
}

fn constant(value: Value, like: &Node) -> Node {
    let ty = match value {
        Value::Bool(_) => Type::Bool,
        _ => like.ty.clone(),
    };
    Node {
        nullable: value.is_null(),
        kind: NodeKind::Const(value),
        ty,
        origin: like.origin.clone(),
    }
}

fn truth(b: bool, like: &Node) -> Node {
    constant(Value::Bool(b), like)
}

fn as_const(node: &Node) -> Option<&Value> {
    match &node.kind {
        NodeKind::Const(v) => Some(v),
        _ => None,
    }
}

/// A node with folded children; nullability is recomputed because a folded
/// `user.id` is no longer nullable.
fn rebuild(node: &Node, kind: NodeKind) -> Node {
    let nullable = match &kind {
        NodeKind::Compare(_, l, r)
        | NodeKind::Text(_, l, r)
        | NodeKind::And(l, r)
        | NodeKind::Or(l, r) => l.nullable || r.nullable,
        NodeKind::In(l, r) => {
            let items_nullable = match &r.kind {
                NodeKind::List(items) => items.iter().any(|i| i.nullable),
                NodeKind::Const(Value::List(values)) => values.iter().any(Value::is_null),
                _ => false,
            };
            l.nullable || r.nullable || items_nullable
        }
        NodeKind::Not(inner) => inner.nullable,
        _ => node.nullable,
    };
    Node {
        kind,
        ty: node.ty.clone(),
        nullable,
        origin: node.origin.clone(),
    }
}

pub(crate) fn fold(node: &Node, known: &Known<'_>) -> Node {
    match &node.kind {
        NodeKind::Const(_) => node.clone(),
        NodeKind::List(items) => {
            let items: Vec<Node> = items.iter().map(|i| fold(i, known)).collect();
            match items.iter().map(as_const).collect::<Option<Vec<&Value>>>() {
                Some(values) => constant(Value::List(values.into_iter().cloned().collect()), node),
                None => rebuild(node, NodeKind::List(items)),
            }
        }
        NodeKind::Principal => constant(
            if known.user.is_some() {
                Value::Bool(true)
            } else {
                Value::Null
            },
            node,
        ),
        NodeKind::UserAttr(name) => match known.user {
            Some(user) => constant(user.value(name).into_owned(), node),
            None => constant(Value::Null, node),
        },
        NodeKind::HasScope(scope) => truth(known.user.is_some_and(|u| u.has_scope(scope)), node),
        NodeKind::Field(field) => fold_field(node, field, known),
        NodeKind::Not(inner) => {
            let inner = fold(inner, known);
            match as_const(&inner) {
                Some(v) => truth(!v.is_true(), node),
                None => rebuild(node, NodeKind::Not(Box::new(inner))),
            }
        }
        NodeKind::And(l, r) => {
            // Fold the left side first: if it decides, skip the right.
            let l = fold(l, known);
            if as_const(&l).is_some_and(|v| !v.is_true()) {
                return truth(false, node);
            }
            let r = fold(r, known);
            match (
                as_const(&l).map(Value::is_true),
                as_const(&r).map(Value::is_true),
            ) {
                (Some(false), _) | (_, Some(false)) => truth(false, node),
                (Some(true), _) => r,
                (_, Some(true)) => l,
                _ => rebuild(node, NodeKind::And(Box::new(l), Box::new(r))),
            }
        }
        NodeKind::Or(l, r) => {
            let l = fold(l, known);
            if as_const(&l).is_some_and(Value::is_true) {
                return truth(true, node);
            }
            let r = fold(r, known);
            match (
                as_const(&l).map(Value::is_true),
                as_const(&r).map(Value::is_true),
            ) {
                (Some(true), _) | (_, Some(true)) => truth(true, node),
                (Some(false), _) => r,
                (_, Some(false)) => l,
                _ => rebuild(node, NodeKind::Or(Box::new(l), Box::new(r))),
            }
        }
        NodeKind::Compare(op, l, r) => {
            let (l, r) = (fold(l, known), fold(r, known));
            match (as_const(&l), as_const(&r)) {
                (Some(Value::Null), _) | (_, Some(Value::Null)) => truth(false, node),
                (Some(a), Some(b)) => truth(compare(*op, a, b), node),
                _ => rebuild(node, NodeKind::Compare(*op, Box::new(l), Box::new(r))),
            }
        }
        NodeKind::IsNull { operand, negated } => {
            let operand = fold(operand, known);
            match as_const(&operand) {
                Some(v) => truth(v.is_null() != *negated, node),
                None => rebuild(
                    node,
                    NodeKind::IsNull {
                        operand: Box::new(operand),
                        negated: *negated,
                    },
                ),
            }
        }
        NodeKind::In(l, r) => {
            let (l, r) = (fold(l, known), fold(r, known));
            match (as_const(&l), as_const(&r)) {
                (Some(Value::Null), _) => truth(false, node),
                (_, Some(Value::List(items))) if items.iter().all(Value::is_null) => {
                    truth(false, node)
                }
                (Some(a), Some(b)) => truth(member(a, b), node),
                _ => rebuild(node, NodeKind::In(Box::new(l), Box::new(r))),
            }
        }
        NodeKind::Text(op, h, n) => {
            let (h, n) = (fold(h, known), fold(n, known));
            match (as_const(&h), as_const(&n)) {
                (Some(Value::Null), _) | (_, Some(Value::Null)) => truth(false, node),
                (Some(Value::Text(a)), Some(Value::Text(b))) => truth(op.apply(a, b), node),
                _ => rebuild(node, NodeKind::Text(*op, Box::new(h), Box::new(n))),
            }
        }
        NodeKind::Exists {
            resource,
            table,
            depth,
            condition,
        } => {
            let condition = fold(condition, known);
            if as_const(&condition).is_some_and(|v| !v.is_true()) {
                return truth(false, node);
            }
            rebuild(
                node,
                NodeKind::Exists {
                    resource: resource.clone(),
                    table: table.clone(),
                    depth: *depth,
                    condition: Box::new(condition),
                },
            )
        }
        NodeKind::SqlCall { function, args } => rebuild(
            node,
            NodeKind::SqlCall {
                function: function.clone(),
                args: args.iter().map(|a| fold(a, known)).collect(),
            },
        ),
    }
}

fn fold_field(node: &Node, field: &FieldRef, known: &Known<'_>) -> Node {
    let row = match field.start {
        Start::Row => known.row,
        Start::New => known.new,
        Start::It(_) | Start::Key(_) => None,
    };
    let Some(row) = row else {
        return node.clone();
    };
    let Some(first) = field.hops.first() else {
        return constant(row.get(&field.field).cloned().unwrap_or(Value::Null), node);
    };
    match row.get(&first.via) {
        None | Some(Value::Null) => constant(Value::Null, node),
        Some(key) => rebuild(
            node,
            NodeKind::Field(FieldRef {
                start: Start::Key(key.clone()),
                hops: field.hops.clone(),
                field: field.field.clone(),
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Action;
    use crate::fixtures::compile;

    #[test]
    fn superuser_needs_no_predicate_and_anonymous_no_query() {
        let rule = compile(
            "posts",
            Action::Delete,
            "user.is_superuser || row.owner_id == user.id",
        );
        let admin = Principal::with_id(1).attribute("is_superuser", true);
        assert_eq!(rule.specialize(Some(&admin)), Residual::Always(true));
        assert_eq!(rule.specialize(None), Residual::Always(false));
        let user = Principal::with_id(23).attribute("is_superuser", false);
        assert!(matches!(
            rule.specialize(Some(&user)),
            Residual::Predicate(_)
        ));
    }

    #[test]
    fn scopes_fold_away() {
        let rule = compile(
            "posts",
            Action::List,
            "has_scope('admin:read') && row.published",
        );
        assert_eq!(
            rule.specialize(Some(&Principal::with_id(1))),
            Residual::Always(false)
        );
        let reader = Principal::with_id(1).scope("admin:read");
        let Residual::Predicate(node) = rule.specialize(Some(&reader)) else {
            panic!()
        };
        assert!(matches!(node.kind, NodeKind::Field(_)));
    }

    #[test]
    fn known_rows_fold_and_relation_keys_become_constants() {
        let rule = compile(
            "posts",
            Action::Create,
            "new.owner_id == user.id && row.owner.is_superuser == false",
        );
        let user = Principal::with_id(23);
        let mut proposed = Row::new();
        proposed.insert("owner_id".into(), Value::Int(23));
        let known = Known {
            user: Some(&user),
            row: Some(&proposed),
            new: Some(&proposed),
        };
        let Residual::Predicate(node) = rule.specialize_with(&known) else {
            panic!()
        };
        let NodeKind::Compare(_, field, _) = node.kind else {
            panic!("{node:?}")
        };
        assert!(matches!(
            field.kind,
            NodeKind::Field(FieldRef {
                start: Start::Key(Value::Int(23)),
                ..
            })
        ));
        let mut other = proposed.clone();
        other.insert("owner_id".into(), Value::Int(21));
        let known = Known {
            user: Some(&user),
            row: Some(&other),
            new: Some(&other),
        };
        assert_eq!(rule.specialize_with(&known), Residual::Always(false));
    }

    #[test]
    fn for_some_new_refuses_only_what_no_proposal_can_admit() {
        let rule = compile(
            "posts",
            Action::Update,
            "row.owner_id == user.id || (exists(votes where it.post_id == row.id && it.user_id == user.id) && new.title == row.title)",
        );
        let user = Principal::with_id(23);
        let mut stored = Row::new();
        stored.insert("id".into(), Value::Int(4));
        stored.insert("owner_id".into(), Value::Int(21));
        stored.insert("title".into(), Value::Text("t".into()));
        let known = Known {
            user: Some(&user),
            row: Some(&stored),
            new: None,
        };
        // `new` unknown: the title test is taken as passing, the `exists`
        // is left to the database.
        let Residual::Predicate(node) = rule.specialize_with(&known).for_some_new() else {
            panic!()
        };
        assert!(matches!(node.kind, NodeKind::Exists { .. }), "{node:?}");
        assert!(!reads_new(&node));
        // Owner: admitted whatever the proposal.
        let mut owned = stored.clone();
        owned.insert("owner_id".into(), Value::Int(23));
        let known = Known {
            row: Some(&owned),
            ..known
        };
        assert_eq!(
            rule.specialize_with(&known).for_some_new(),
            Residual::Always(true)
        );
    }

    #[test]
    fn for_some_new_flips_under_not_and_keeps_what_decides_without_new() {
        let user = Principal::with_id(23);
        let mut stored = Row::new();
        stored.insert("owner_id".into(), Value::Int(21));
        stored.insert("published".into(), Value::Bool(true));
        stored.insert("title".into(), Value::Text("t".into()));
        let known = Known {
            user: Some(&user),
            row: Some(&stored),
            new: None,
        };
        let some = |text: &str| {
            compile("posts", Action::Update, text)
                .specialize_with(&known)
                .for_some_new()
        };
        // Some proposal keeps the title, some changes it.
        assert_eq!(some("!(new.title == row.title)"), Residual::Always(true));
        assert_eq!(some("new.title == row.title"), Residual::Always(true));
        // Decided by the stored row alone, whatever the proposal.
        assert_eq!(
            some("row.owner_id == user.id && !(new.published == false)"),
            Residual::Always(false)
        );
        assert_eq!(
            some("!row.published || new.owner_id == user.id"),
            Residual::Always(true)
        );
        assert_eq!(
            some("row.owner_id == user.id || !row.published"),
            Residual::Always(false)
        );
    }

    #[test]
    fn exists_with_false_condition_folds() {
        let rule = compile(
            "posts",
            Action::Read,
            "exists(votes where it.post_id == row.id && user != null)",
        );
        assert_eq!(rule.specialize(None), Residual::Always(false));
    }
}
