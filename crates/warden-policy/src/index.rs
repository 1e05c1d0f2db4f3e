//! What indexes a rule's SQL predicate can use: the columns it looks up by
//! equality (so the engine creates an index on each), and the parts of a
//! rule no index can narrow (so `warden check` can warn that they scan).
//! Reads the checked tree only.

use crate::ir::{CompareOp, FieldRef, Node, NodeKind, Start};
use crate::rules::Rule;
use crate::sql::{flatten_and, semi_join};

/// A column a rule looks rows up by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lookup {
    pub resource: String,
    pub field: String,
}

impl Rule {
    /// Columns compared for equality (or `in`) with a value known before
    /// the scan: the caller, a literal, or the row of an enclosing query.
    pub fn lookups(&self) -> Vec<Lookup> {
        let mut found = Vec::new();
        collect(
            &self.root,
            &mut vec![self.resource().to_owned()],
            &mut found,
        );
        found.sort();
        found.dedup();
        found
    }

    /// The alternatives (top-level `||` parts) of the rule that touch the
    /// row yet narrow it by no lookup: a list filtered by them scans.
    pub fn unindexed_alternatives(&self) -> Vec<String> {
        let mut alternatives = Vec::new();
        disjuncts(&self.root, &mut alternatives);
        alternatives
            .into_iter()
            .filter(|part| {
                touches_row(part) && !narrows(part, &mut vec![self.resource().to_owned()])
            })
            .map(|part| part.origin.snippet().to_owned())
            .collect()
    }
}

/// An index on several columns of a grant table a rule walks:
/// `exists(acl where it.article_id == row.id && it.user_id == user.id)`
/// wants `acl(user_id, article_id)`, so a list reads one caller's grants
/// in row-key order from the index alone and stops at its LIMIT (as a
/// list read per alternative does).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrantIndex {
    pub resource: String,
    /// The columns compared with the caller or a literal, then the column
    /// linked to the row.
    pub columns: Vec<String>,
}

impl Rule {
    /// Grant-table indexes for the rule's `exists` alternatives.
    pub fn grant_indexes(&self) -> Vec<GrantIndex> {
        let mut found = Vec::new();
        let mut parts = Vec::new();
        disjuncts(&self.root, &mut parts);
        for part in parts {
            let mut conjuncts = Vec::new();
            flatten_and(part, &mut conjuncts);
            for conjunct in conjuncts {
                if let NodeKind::Exists {
                    resource,
                    condition,
                    depth: 0,
                    ..
                } = &conjunct.kind
                {
                    found.extend(grant_index(resource, condition));
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }
}

fn grant_index(resource: &str, condition: &Node) -> Option<GrantIndex> {
    let (linked, outer, rest) = semi_join(condition, 0)?;
    if !matches!(
        outer.kind,
        NodeKind::Field(FieldRef {
            start: Start::Row,
            ..
        })
    ) {
        return None;
    }
    let scopes = [String::new(), resource.to_owned()];
    let mut columns: Vec<String> = Vec::new();
    for conjunct in rest {
        let NodeKind::Compare(CompareOp::Eq, ..) = conjunct.kind else {
            continue;
        };
        let mut found = Vec::new();
        lookup_in(conjunct, &scopes, &mut found);
        columns.extend(found.into_iter().map(|l| l.field));
    }
    columns.sort();
    columns.dedup();
    columns.retain(|c| c != linked);
    if columns.is_empty() {
        return None;
    }
    columns.push(linked.to_owned());
    Some(GrantIndex {
        resource: resource.to_owned(),
        columns,
    })
}

impl Rule {
    /// Other resources the rule reads rows of (through relation paths and
    /// `exists`), for loading them to explain a decision in memory.
    pub fn resources_reached(&self) -> Vec<String> {
        fn walk(node: &Node, out: &mut Vec<String>) {
            match &node.kind {
                NodeKind::Field(FieldRef { hops, .. }) => {
                    out.extend(hops.iter().map(|h| h.resource.clone()))
                }
                NodeKind::Exists {
                    resource,
                    condition,
                    ..
                } => {
                    out.push(resource.clone());
                    walk(condition, out);
                }
                NodeKind::List(items) | NodeKind::SqlCall { args: items, .. } => {
                    items.iter().for_each(|i| walk(i, out))
                }
                NodeKind::Not(a) | NodeKind::IsNull { operand: a, .. } => walk(a, out),
                NodeKind::And(a, b)
                | NodeKind::Or(a, b)
                | NodeKind::Compare(_, a, b)
                | NodeKind::In(a, b)
                | NodeKind::Text(_, a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                NodeKind::Const(_)
                | NodeKind::Principal
                | NodeKind::UserAttr(_)
                | NodeKind::HasScope(_) => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out.sort();
        out.dedup();
        out
    }
}

fn disjuncts<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
    match &node.kind {
        NodeKind::Or(a, b) => {
            disjuncts(a, out);
            disjuncts(b, out);
        }
        _ => out.push(node),
    }
}

fn touches_row(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Field(_) | NodeKind::Exists { .. } | NodeKind::SqlCall { .. } => true,
        NodeKind::Const(_)
        | NodeKind::Principal
        | NodeKind::UserAttr(_)
        | NodeKind::HasScope(_) => false,
        NodeKind::List(items) => items.iter().any(touches_row),
        NodeKind::Not(a) | NodeKind::IsNull { operand: a, .. } => touches_row(a),
        NodeKind::And(a, b)
        | NodeKind::Or(a, b)
        | NodeKind::Compare(_, a, b)
        | NodeKind::In(a, b)
        | NodeKind::Text(_, a, b) => touches_row(a) || touches_row(b),
    }
}

/// Whether some conjunct of `node`, a condition on a rule's row, is an
/// index lookup on that row.
pub(crate) fn narrows_row(node: &Node) -> bool {
    narrows(node, &mut vec![String::new()])
}

/// Whether some conjunct of `node` is an index lookup on the current row.
fn narrows(node: &Node, scopes: &mut Vec<String>) -> bool {
    match &node.kind {
        NodeKind::And(a, b) => narrows(a, scopes) || narrows(b, scopes),
        NodeKind::Or(a, b) => narrows(a, scopes) && narrows(b, scopes),
        NodeKind::Exists { .. } => true,
        _ => {
            let mut found = Vec::new();
            lookup_in(node, scopes, &mut found);
            !found.is_empty()
        }
    }
}

fn collect(node: &Node, scopes: &mut Vec<String>, found: &mut Vec<Lookup>) {
    lookup_in(node, scopes, found);
    match &node.kind {
        NodeKind::Exists {
            resource,
            condition,
            ..
        } => {
            scopes.push(resource.clone());
            collect(condition, scopes, found);
            scopes.pop();
        }
        NodeKind::Not(a) | NodeKind::IsNull { operand: a, .. } => collect(a, scopes, found),
        NodeKind::And(a, b) | NodeKind::Or(a, b) => {
            collect(a, scopes, found);
            collect(b, scopes, found);
        }
        _ => {}
    }
}

/// `field == known` or `field in [...]` at this node.
fn lookup_in(node: &Node, scopes: &[String], found: &mut Vec<Lookup>) {
    let pairs: Vec<(&Node, &Node)> = match &node.kind {
        NodeKind::Compare(CompareOp::Eq, a, b) => vec![(a, b), (b, a)],
        NodeKind::In(a, b) => vec![(a, b)],
        _ => return,
    };
    for (column, other) in pairs {
        let Some((depth, field)) = local_field(column, scopes) else {
            continue;
        };
        if column.ty == crate::value::Type::Bool {
            continue;
        }
        if known_before_scan(other, depth) {
            found.push(Lookup {
                resource: scopes[depth].clone(),
                field: field.to_owned(),
            });
        }
    }
}

/// A plain field (no relation hops) of the innermost scope: its depth in
/// `scopes` (0 = the rule's row, n = the nth enclosing `exists`).
fn local_field<'n>(node: &'n Node, scopes: &[String]) -> Option<(usize, &'n str)> {
    let NodeKind::Field(FieldRef { start, hops, field }) = &node.kind else {
        return None;
    };
    if !hops.is_empty() {
        return None;
    }
    let depth = match start {
        Start::Row => 0,
        Start::It(d) => d + 1,
        _ => return None,
    };
    (depth + 1 == scopes.len()).then_some((depth, field.as_str()))
}

/// A value fixed while rows of the scope at `depth` are scanned.
fn known_before_scan(node: &Node, depth: usize) -> bool {
    match &node.kind {
        NodeKind::Const(_) | NodeKind::UserAttr(_) => true,
        NodeKind::List(items) => items.iter().all(|i| known_before_scan(i, depth)),
        NodeKind::Field(FieldRef {
            start: Start::Row, ..
        }) => depth > 0,
        NodeKind::Field(FieldRef {
            start: Start::It(d),
            ..
        }) => d + 1 < depth,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::check::Action;
    use crate::fixtures::compile;

    fn lookups(text: &str) -> Vec<(String, String)> {
        compile("posts", Action::List, text)
            .lookups()
            .into_iter()
            .map(|l| (l.resource, l.field))
            .collect()
    }

    #[test]
    fn owner_and_acl_columns_are_lookups() {
        assert_eq!(
            lookups("row.owner_id == user.id || user.is_superuser"),
            vec![("posts".into(), "owner_id".into())]
        );
        assert_eq!(
            lookups(
                "exists(article_read_access where it.article_id == row.id && it.user_id == user.id)"
            ),
            vec![
                ("article_read_access".into(), "article_id".into()),
                ("article_read_access".into(), "user_id".into())
            ]
        );
        assert!(lookups("row.published").is_empty());
        assert!(lookups("row.owner.email == 'x'").is_empty());
    }

    #[test]
    fn a_walked_grant_table_gets_caller_then_link_columns() {
        let indexes = |text: &str| {
            compile("posts", Action::List, text)
                .grant_indexes()
                .into_iter()
                .map(|g| (g.resource, g.columns))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            indexes(
                "row.owner_id == user.id || exists(article_read_access where it.article_id == row.id && it.user_id == user.id)"
            ),
            vec![(
                "article_read_access".to_owned(),
                vec!["user_id".to_owned(), "article_id".to_owned()]
            )]
        );
        // Nothing to walk by: the link alone is an index already.
        assert!(indexes("exists(article_read_access where it.article_id == row.id)").is_empty());
        // Under a negation the grants are not walked.
        assert!(
            indexes("!exists(article_read_access where it.article_id == row.id && it.user_id == user.id)")
                .is_empty()
        );
    }

    #[test]
    fn scans_are_reported_per_alternative() {
        let rule = compile(
            "posts",
            Action::List,
            "row.published || row.owner_id == user.id || user.is_superuser",
        );
        assert_eq!(
            rule.unindexed_alternatives(),
            vec!["row.published".to_owned()]
        );
        let rule = compile(
            "posts",
            Action::List,
            "row.owner_id == user.id && row.score > 1",
        );
        assert!(rule.unindexed_alternatives().is_empty());
        let rule = compile("posts", Action::List, "contains(row.title, 'x')");
        assert_eq!(
            rule.unindexed_alternatives(),
            vec!["contains(row.title, 'x')".to_owned()]
        );
    }
}
