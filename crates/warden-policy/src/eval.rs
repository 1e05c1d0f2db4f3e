//! The reference semantics: a rule evaluated on one principal and one row in
//! memory. The SQL compiler must agree with this on every row.
//!
//! Null rule, used everywhere: a comparison, `in` or text test with a null
//! operand is false (never null, never an error); `x == null` and
//! `x != null` test for null explicitly. Conditions are two-valued: a null
//! condition (an unset bool field) counts as false, so `!row.flag` is true
//! when the flag is null. An anonymous caller is `user == null`, and every
//! `user.<attr>` is then null.

use crate::ir::{CompareOp, FieldRef, Node, NodeKind, Start};
use crate::rules::Rule;
use crate::value::Value;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

/// One row: field name to value. Missing fields read as null.
pub type Row = HashMap<String, Value>;

/// Who is calling: the user's attributes, scopes and roles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Principal {
    pub attributes: HashMap<String, Value>,
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
}

impl Principal {
    /// A principal with `user.id`.
    pub fn with_id(id: impl Into<Value>) -> Self {
        let mut attributes = HashMap::new();
        attributes.insert("id".to_owned(), id.into());
        Self {
            attributes,
            scopes: Vec::new(),
            roles: Vec::new(),
        }
    }

    pub fn attribute(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.attributes.insert(name.to_owned(), value.into());
        self
    }

    pub fn scope(mut self, scope: &str) -> Self {
        self.scopes.push(scope.to_owned());
        self
    }

    pub fn role(mut self, role: &str) -> Self {
        self.roles.push(role.to_owned());
        self
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub(crate) fn value(&self, name: &str) -> Cow<'_, Value> {
        match name {
            "scopes" => Cow::Owned(Value::List(
                self.scopes.iter().map(|s| Value::Text(s.clone())).collect(),
            )),
            "roles" => Cow::Owned(Value::List(
                self.roles.iter().map(|s| Value::Text(s.clone())).collect(),
            )),
            _ => self
                .attributes
                .get(name)
                .map_or(Cow::Owned(Value::Null), Cow::Borrowed),
        }
    }
}

/// Rows of other resources that rules may reach in memory: targets of
/// relation paths and tables named in `exists`.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    tables: HashMap<String, Vec<Row>>,
}

impl Dataset {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, resource: &str, row: Row) {
        self.tables
            .entry(resource.to_owned())
            .or_default()
            .push(row);
    }

    pub fn rows(&self, resource: &str) -> &[Row] {
        self.tables.get(resource).map_or(&[], Vec::as_slice)
    }

    fn find(&self, resource: &str, key: &str, value: &Value) -> Option<&Row> {
        self.rows(resource)
            .iter()
            .find(|row| row.get(key).is_some_and(|v| v.rule_eq(value)))
    }
}

/// Everything one decision sees.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub user: Option<&'a Principal>,
    pub row: Option<&'a Row>,
    pub new: Option<&'a Row>,
    pub data: &'a Dataset,
}

static EMPTY: std::sync::OnceLock<Dataset> = std::sync::OnceLock::new();

impl<'a> Env<'a> {
    /// A decision on one row with no other data loaded.
    pub fn new(user: Option<&'a Principal>, row: Option<&'a Row>) -> Self {
        Self {
            user,
            row,
            new: None,
            data: EMPTY.get_or_init(Dataset::default),
        }
    }

    pub fn with_new(mut self, new: &'a Row) -> Self {
        self.new = Some(new);
        self
    }

    pub fn with_data(mut self, data: &'a Dataset) -> Self {
        self.data = data;
        self
    }
}

/// The rows of enclosing `exists`, innermost last, kept on the stack.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'s> {
    pub row: &'s Row,
    pub depth: usize,
    pub parent: Option<&'s Scope<'s>>,
}

impl<'s> Scope<'s> {
    fn at(scope: Option<&Scope<'s>>, depth: usize) -> Option<&'s Row> {
        if let Some(s) = scope.filter(|s| s.depth == depth) {
            return Some(s.row);
        }
        let mut current = scope.and_then(|s| s.parent);
        while let Some(s) = current {
            if s.depth == depth {
                return Some(s.row);
            }
            current = s.parent;
        }
        None
    }
}

impl Rule {
    /// Decides the rule for one caller and row: allow (`true`) or deny.
    pub fn evaluate(&self, env: &Env<'_>) -> bool {
        condition(&self.root, env, None)
    }
}

pub(crate) fn condition(node: &Node, env: &Env<'_>, scope: Option<&Scope<'_>>) -> bool {
    match &node.kind {
        NodeKind::And(l, r) => condition(l, env, scope) && condition(r, env, scope),
        NodeKind::Or(l, r) => condition(l, env, scope) || condition(r, env, scope),
        NodeKind::Not(inner) => !condition(inner, env, scope),
        NodeKind::HasScope(s) => env.user.is_some_and(|u| u.has_scope(s)),
        NodeKind::Compare(op, l, r) => compare(*op, &value(l, env, scope), &value(r, env, scope)),
        NodeKind::IsNull { operand, negated } => {
            let is_null = match operand.kind {
                NodeKind::Principal => env.user.is_none(),
                _ => value(operand, env, scope).is_null(),
            };
            is_null != *negated
        }
        NodeKind::In(l, r) => member(&value(l, env, scope), &value(r, env, scope)),
        NodeKind::Text(op, h, n) => match (&*value(h, env, scope), &*value(n, env, scope)) {
            (Value::Text(h), Value::Text(n)) => op.apply(h, n),
            _ => false,
        },
        NodeKind::Exists {
            resource,
            condition: inner,
            depth,
            ..
        } => {
            let depth = *depth;
            env.data.rows(resource).iter().any(|row| {
                let inner_scope = Scope {
                    row,
                    depth,
                    parent: scope,
                };
                condition(inner, env, Some(&inner_scope))
            })
        }
        _ => value(node, env, scope).is_true(),
    }
}

pub(crate) fn value<'e>(
    node: &'e Node,
    env: &Env<'e>,
    scope: Option<&Scope<'e>>,
) -> Cow<'e, Value> {
    match &node.kind {
        NodeKind::Const(v) => Cow::Borrowed(v),
        NodeKind::UserAttr(name) => match env.user {
            Some(user) => user.value(name),
            None => Cow::Owned(Value::Null),
        },
        NodeKind::Principal => Cow::Owned(if env.user.is_some() {
            Value::Bool(true)
        } else {
            Value::Null
        }),
        NodeKind::Field(field) => field_value(field, env, scope),
        NodeKind::List(items) => Cow::Owned(Value::List(
            items
                .iter()
                .map(|i| value(i, env, scope).into_owned())
                .collect(),
        )),
        // Database-only: unreachable for rules checked for in-memory use;
        // anything else denies rather than guesses.
        NodeKind::SqlCall { .. } => Cow::Owned(Value::Null),
        _ => Cow::Owned(Value::Bool(condition(node, env, scope))),
    }
}

fn field_value<'e>(
    field: &'e FieldRef,
    env: &Env<'e>,
    scope: Option<&Scope<'e>>,
) -> Cow<'e, Value> {
    let null = || Cow::Owned(Value::Null);
    let (mut row, hops) = match &field.start {
        Start::Row => (env.row, field.hops.as_slice()),
        Start::New => (env.new, field.hops.as_slice()),
        Start::It(depth) => (Scope::at(scope, *depth), field.hops.as_slice()),
        Start::Key(key) => {
            let Some((first, rest)) = field.hops.split_first() else {
                return Cow::Borrowed(key);
            };
            (env.data.find(&first.resource, &first.key, key), rest)
        }
    };
    for hop in hops {
        let Some(current) = row else { return null() };
        let Some(key) = current.get(&hop.via).filter(|v| !v.is_null()) else {
            return null();
        };
        row = env.data.find(&hop.resource, &hop.key, key);
    }
    match row.and_then(|r| r.get(&field.field)) {
        Some(v) => Cow::Borrowed(v),
        None => null(),
    }
}

pub(crate) fn compare(op: CompareOp, left: &Value, right: &Value) -> bool {
    if left.is_null() || right.is_null() {
        return false;
    }
    let Some(ordering) = left.rule_cmp(right) else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
    }
}

pub(crate) fn member(needle: &Value, list: &Value) -> bool {
    match list {
        Value::List(items) if !needle.is_null() => items
            .iter()
            .any(|item| !item.is_null() && needle.rule_eq(item)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Action;
    use crate::fixtures::compile;

    fn row(pairs: &[(&str, Value)]) -> Row {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn post(owner: i64) -> Row {
        row(&[
            ("id", 8.into()),
            ("owner_id", owner.into()),
            ("title", "Tea".into()),
            ("assignee_id", Value::Null),
        ])
    }

    #[test]
    fn owner_rule() {
        let rule = compile(
            "posts",
            Action::Delete,
            "row.owner_id == user.id || user.is_superuser",
        );
        let user23 = Principal::with_id(23).attribute("is_superuser", false);
        let admin = Principal::with_id(1).attribute("is_superuser", true);
        assert!(rule.evaluate(&Env::new(Some(&user23), Some(&post(23)))));
        assert!(!rule.evaluate(&Env::new(Some(&user23), Some(&post(21)))));
        assert!(rule.evaluate(&Env::new(Some(&admin), Some(&post(21)))));
        assert!(!rule.evaluate(&Env::new(None, Some(&post(21)))));
    }

    #[test]
    fn null_rule_comparisons_are_false_and_negation_is_two_valued() {
        let user = Principal::with_id(23);
        let p = post(23);
        let env = Env::new(Some(&user), Some(&p));
        for (text, expected) in [
            ("row.assignee_id == user.id", false),
            ("row.assignee_id != user.id", false),
            ("!(row.assignee_id == user.id)", true),
            ("row.assignee_id == null", true),
            ("row.assignee_id != null", false),
            ("row.assignee_id in [23, 24]", false),
            ("!row.published", true),
            ("row.published", false),
            ("contains(row.content, 'x')", false),
            ("user.manager_id == row.assignee_id", false),
        ] {
            assert_eq!(
                compile("posts", Action::Read, text).evaluate(&env),
                expected,
                "{text}"
            );
        }
        let anonymous = Env::new(None, Some(&p));
        assert!(!compile("posts", Action::Read, "user.id == row.owner_id").evaluate(&anonymous));
        assert!(compile("posts", Action::Read, "user == null").evaluate(&anonymous));
        assert!(!compile("posts", Action::Read, "user.id != row.owner_id").evaluate(&anonymous));
    }

    #[test]
    fn scopes_roles_lists_and_text() {
        let user = Principal::with_id(1).scope("admin:read").role("editor");
        let p = post(1);
        let env = Env::new(Some(&user), Some(&p));
        for (text, expected) in [
            ("has_scope('admin:read')", true),
            ("has_scope('admin:write')", false),
            ("'editor' in user.roles", true),
            ("'admin:write' in user.scopes", false),
            ("row.title in ['Tea', 'Coffee']", true),
            ("row.id in [1.5, 8.0]", true),
            ("icontains(row.title, 'EA')", true),
            ("contains(row.title, 'EA')", false),
            (
                "starts_with(row.title, 'Te') && ends_with(row.title, 'ea')",
                true,
            ),
            ("row.title < 'a'", true),
            (
                "row.id >= 8 && row.id <= 8 && row.id > 7 && row.id < 9",
                true,
            ),
        ] {
            assert_eq!(
                compile("posts", Action::Read, text).evaluate(&env),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn relations_and_exists_read_the_dataset() {
        let mut data = Dataset::new();
        data.insert(
            "users",
            row(&[
                ("id", 21.into()),
                ("email", "a@x".into()),
                ("manager_id", 23.into()),
            ]),
        );
        data.insert(
            "article_read_access",
            row(&[
                ("id", 1.into()),
                ("article_id", 8.into()),
                ("user_id", 23.into()),
            ]),
        );
        let user = Principal::with_id(23);
        let p = post(21);
        let env = Env::new(Some(&user), Some(&p)).with_data(&data);
        let acl = compile(
            "posts",
            Action::Read,
            "exists(article_read_access where it.article_id == row.id && it.user_id == user.id)",
        );
        assert!(acl.evaluate(&env));
        let other = Principal::with_id(24);
        assert!(!acl.evaluate(&Env::new(Some(&other), Some(&p)).with_data(&data)));
        assert!(compile("posts", Action::Read, "row.owner.manager_id == user.id").evaluate(&env));
        let orphan = post(99);
        let orphan_env = Env::new(Some(&user), Some(&orphan)).with_data(&data);
        assert!(compile("posts", Action::Read, "row.owner.email == null").evaluate(&orphan_env));
    }

    #[test]
    fn new_is_the_proposal() {
        let rule = compile(
            "posts",
            Action::Update,
            "row.owner_id == user.id && new.owner_id == row.owner_id",
        );
        let user = Principal::with_id(23);
        let stored = post(23);
        let keeps = post(23);
        let gives_away = post(21);
        assert!(rule.evaluate(&Env::new(Some(&user), Some(&stored)).with_new(&keeps)));
        assert!(!rule.evaluate(&Env::new(Some(&user), Some(&stored)).with_new(&gives_away)));
    }
}
