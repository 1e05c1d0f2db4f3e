//! AST -> checked tree: resolves every name against the [`Schema`], inlines
//! named rules (refusing cycles), infers types and nullability, and reports
//! every problem it finds with a span and, for near-misses, a suggestion.
//! It never evaluates anything.

use crate::ast::{BinaryOp, Expr, ExprKind, Ident, Span};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::ir::{CompareOp, FieldRef, Hop, Node, NodeKind, Origin, Start, TextOp};
use crate::schema::{RelationKind, ResourceSchema, Schema};
use crate::value::{Type, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The action a rule guards; it decides which names exist (`new` only where
/// something is proposed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    List,
    Read,
    Create,
    Update,
    Delete,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::List,
        Action::Read,
        Action::Create,
        Action::Update,
        Action::Delete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }

    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether `new` (a proposed row) exists for this action.
    pub fn has_proposal(self) -> bool {
        matches!(self, Action::Create | Action::Update)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a rule will run, which limits what it may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// The rule must also be evaluated in memory (policy tests, create
    /// rules, UI hints): database-only functions are refused.
    pub in_memory: bool,
    /// The database can call user-defined SQL functions (PostgreSQL).
    pub sql_functions: bool,
}

/// A parsed named rule waiting to be inlined where it is used.
#[derive(Debug, Clone)]
pub(crate) struct NamedRule {
    pub source: String,
    pub text: Arc<str>,
    pub expr: Expr,
}

/// Named rules by scope: `None` is global, `Some(resource)` is local.
pub(crate) type NamedRules = HashMap<(Option<String>, String), NamedRule>;

pub(crate) struct Checker<'a> {
    schema: &'a Schema,
    named: &'a NamedRules,
    resource: &'a ResourceSchema,
    action: Action,
    options: CheckOptions,
    errors: Vec<Diagnostic>,
    /// Named rules being inlined, outermost first, to refuse cycles.
    expanding: Vec<String>,
    /// Resources of the enclosing `exists`, outermost first (`it` = last).
    exists: Vec<&'a ResourceSchema>,
    /// `it` may only name an `exists` at or above this depth: a named rule
    /// cannot see the `it` of the place it is used.
    it_floor: usize,
    source: String,
    text: Arc<str>,
}

const BUILTINS: [&str; 5] = [
    "has_scope",
    "contains",
    "starts_with",
    "ends_with",
    "icontains",
];

impl<'a> Checker<'a> {
    pub fn new(
        schema: &'a Schema,
        named: &'a NamedRules,
        resource: &'a ResourceSchema,
        action: Action,
        options: CheckOptions,
    ) -> Self {
        Self {
            schema,
            named,
            resource,
            action,
            options,
            errors: Vec::new(),
            expanding: Vec::new(),
            exists: Vec::new(),
            it_floor: 0,
            source: String::new(),
            text: Arc::from(""),
        }
    }

    /// Checks a whole rule: it must be a condition.
    pub fn check_rule(
        mut self,
        source: &str,
        text: Arc<str>,
        expr: &Expr,
    ) -> Result<Node, Vec<Diagnostic>> {
        self.source = source.to_owned();
        self.text = text;
        let node = self.condition(expr);
        match node {
            Some(node) if self.errors.is_empty() => Ok(node),
            _ => Err(self.errors),
        }
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.errors.push(diagnostic);
    }

    fn diag(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.source, span, message)
    }

    fn origin(&self, span: &Span) -> Origin {
        Origin {
            text: self.text.clone(),
            span: span.clone(),
        }
    }

    fn node(&self, kind: NodeKind, ty: Type, nullable: bool, span: &Span) -> Node {
        Node {
            kind,
            ty,
            nullable,
            origin: self.origin(span),
        }
    }

    /// An expression that must be a condition (type bool).
    fn condition(&mut self, expr: &Expr) -> Option<Node> {
        let node = self.expr(expr)?;
        if node.ty != Type::Bool {
            let d = self
                .diag(
                    expr.span.clone(),
                    format!("expected a condition (true or false), found {}", node.ty),
                )
                .label(format!("this is {}", node.ty))
                .help(condition_help(&node.ty));
            self.report(d);
            return None;
        }
        Some(node)
    }

    fn expr(&mut self, expr: &Expr) -> Option<Node> {
        let span = &expr.span;
        match &expr.kind {
            ExprKind::Null => Some(self.node(NodeKind::Const(Value::Null), Type::Null, true, span)),
            ExprKind::Bool(b) => {
                Some(self.node(NodeKind::Const(Value::Bool(*b)), Type::Bool, false, span))
            }
            ExprKind::Int(i) => {
                Some(self.node(NodeKind::Const(Value::Int(*i)), Type::Int, false, span))
            }
            ExprKind::Float(x) => {
                Some(self.node(NodeKind::Const(Value::Float(*x)), Type::Float, false, span))
            }
            ExprKind::Text(s) => Some(self.node(
                NodeKind::Const(Value::Text(s.clone())),
                Type::Text,
                false,
                span,
            )),
            ExprKind::List(items) => self.list(items, span),
            ExprKind::Path(segments) => self.path(segments, span),
            ExprKind::RuleRef(name) => self.rule_ref(name),
            ExprKind::Not(inner) => {
                let inner = self.condition(inner)?;
                let nullable = inner.nullable;
                Some(self.node(NodeKind::Not(Box::new(inner)), Type::Bool, nullable, span))
            }
            ExprKind::Binary(op, left, right) => self.binary(*op, left, right, span),
            ExprKind::Call(function, args) => self.call(function, args, span),
            ExprKind::Exists(resource, condition) => self.exists(resource, condition, span),
        }
    }

    fn list(&mut self, items: &[Expr], span: &Span) -> Option<Node> {
        let mut nodes = Vec::with_capacity(items.len());
        let mut element = Type::Null;
        let mut failed = false;
        for item in items {
            let Some(node) = self.expr(item) else {
                failed = true;
                continue;
            };
            match unify(&element, &node.ty) {
                Some(ty) if !matches!(ty, Type::List(_) | Type::Principal | Type::Json) => {
                    element = ty
                }
                _ => {
                    let d = self
                        .diag(
                            item.span.clone(),
                            format!(
                                "list items must share one scalar type; this one is {}",
                                node.ty
                            ),
                        )
                        .label(format!("expected {element}"));
                    self.report(d);
                    failed = true;
                }
            }
            nodes.push(node);
        }
        if failed {
            return None;
        }
        Some(self.node(
            NodeKind::List(nodes),
            Type::List(Box::new(element)),
            false,
            span,
        ))
    }

    fn path(&mut self, segments: &[Ident], span: &Span) -> Option<Node> {
        let (root, rest) = segments.split_first()?;
        match root.name.as_str() {
            "user" => self.user_path(rest, span),
            "row" => {
                let resource = self.resource;
                self.field_path(Start::Row, resource, root, rest, span)
            }
            "new" => {
                if !self.action.has_proposal() {
                    let d = self
                        .diag(root.span.clone(), format!("`new` does not exist in a {} rule", self.action))
                        .label("nothing is proposed here")
                        .help("`new` is the proposed row in create and update rules; use `row` for the stored row");
                    self.report(d);
                    return None;
                }
                let resource = self.resource;
                self.field_path(Start::New, resource, root, rest, span)
            }
            "it" => {
                let visible = self.exists.len() > self.it_floor;
                let Some(resource) = self.exists.last().copied().filter(|_| visible) else {
                    let d = self
                        .diag(
                            root.span.clone(),
                            "`it` exists only inside `exists(... where ...)`",
                        )
                        .label("not inside exists")
                        .help("use `row` for the row this rule guards");
                    self.report(d);
                    return None;
                };
                let depth = self.exists.len() - 1;
                self.field_path(Start::It(depth), resource, root, rest, span)
            }
            _ => None,
        }
    }

    fn user_path(&mut self, rest: &[Ident], span: &Span) -> Option<Node> {
        let Some(attr) = rest.first() else {
            return Some(self.node(NodeKind::Principal, Type::Principal, true, span));
        };
        if let Some(extra) = rest.get(1) {
            let d = self
                .diag(
                    extra.span.clone(),
                    format!("`user.{}` has no fields", attr.name),
                )
                .label("unexpected field");
            self.report(d);
            return None;
        }
        let ty = match attr.name.as_str() {
            "scopes" | "roles" => Type::List(Box::new(Type::Text)),
            name => match self.schema.user.get(name) {
                Some(field) => Type::of_field(field.ty),
                None => {
                    let known: Vec<&str> = self
                        .schema
                        .user
                        .keys()
                        .map(String::as_str)
                        .chain(["scopes", "roles"])
                        .collect();
                    let mut d = self
                        .diag(
                            attr.span.clone(),
                            format!("unknown user attribute `{}`", attr.name),
                        )
                        .label("not an attribute of user");
                    d = with_suggestion(d, &attr.name, known.iter().copied(), "user.");
                    self.report(d);
                    return None;
                }
            },
        };
        // Every user attribute is null for an anonymous caller.
        Some(self.node(NodeKind::UserAttr(attr.name.clone()), ty, true, span))
    }

    fn field_path(
        &mut self,
        start: Start,
        resource: &'a ResourceSchema,
        root: &Ident,
        rest: &[Ident],
        span: &Span,
    ) -> Option<Node> {
        let Some((last, middle)) = rest.split_last() else {
            let d = self
                .diag(
                    root.span.clone(),
                    format!(
                        "`{}` is a whole row of {}; name one of its fields",
                        root.name, resource.name
                    ),
                )
                .label("a row, not a value")
                .help(format!(
                    "for example `{}.{}`",
                    root.name, resource.primary_key
                ));
            self.report(d);
            return None;
        };
        let mut current = resource;
        let mut hops = Vec::new();
        for segment in middle {
            match current.relations.get(&segment.name) {
                Some(relation) if relation.kind == RelationKind::ToOne => {
                    let target = self.schema.resources.get(&relation.target)?;
                    hops.push(Hop {
                        relation: segment.name.clone(),
                        via: relation.via.clone(),
                        resource: target.name.clone(),
                        table: target.table.clone(),
                        key: target.primary_key.clone(),
                    });
                    current = target;
                }
                Some(relation) => {
                    let d = self
                        .diag(segment.span.clone(), format!("`{}` is a to-many relation of {}; a path can only follow to-one relations", segment.name, current.name))
                        .label("many rows, not one")
                        .help(format!("use exists({} where it.{} == ...)", relation.target, relation.via));
                    self.report(d);
                    return None;
                }
                None => {
                    let mut d = self
                        .diag(
                            segment.span.clone(),
                            format!("unknown relation `{}` on {}", segment.name, current.name),
                        )
                        .label("not a relation");
                    if current.fields.contains_key(&segment.name) {
                        d = d.help(format!(
                            "`{}` is a field, and fields have no fields",
                            segment.name
                        ));
                    } else {
                        d = with_suggestion(
                            d,
                            &segment.name,
                            current.relations.keys().map(String::as_str),
                            "",
                        );
                    }
                    self.report(d);
                    return None;
                }
            }
        }
        let Some(field) = current.fields.get(&last.name) else {
            let mut d = self
                .diag(
                    last.span.clone(),
                    format!("unknown field `{}` on {}", last.name, current.name),
                )
                .label("not a field");
            if current.relations.contains_key(&last.name) {
                d = d.help(format!(
                    "`{}` is a relation; name one of its fields, e.g. `{}.{}.<field>`",
                    last.name,
                    root.name,
                    middle
                        .iter()
                        .chain(std::iter::once(last))
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(".")
                ));
            } else {
                d = with_suggestion(d, &last.name, current.fields.keys().map(String::as_str), "");
            }
            self.report(d);
            return None;
        };
        // A missing related row reads as null, whatever the column says.
        let nullable = field.nullable || !hops.is_empty();
        let field_ref = FieldRef {
            start,
            hops,
            field: last.name.clone(),
        };
        Some(self.node(
            NodeKind::Field(field_ref),
            Type::of_field(field.ty),
            nullable,
            span,
        ))
    }

    fn rule_ref(&mut self, name: &Ident) -> Option<Node> {
        let local = (Some(self.resource.name.clone()), name.name.clone());
        let global = (None, name.name.clone());
        let Some(named) = self.named.get(&local).or_else(|| self.named.get(&global)) else {
            let known: Vec<&str> = self
                .named
                .keys()
                .filter(|(scope, _)| {
                    scope.is_none() || scope.as_deref() == Some(&self.resource.name)
                })
                .map(|(_, n)| n.as_str())
                .collect();
            let mut d = self
                .diag(name.span.clone(), format!("unknown name `{}`", name.name))
                .label("not a named rule");
            d = match did_you_mean(&name.name, known.iter().copied()) {
                Some(s) => d.help(format!("did you mean the named rule `{s}`?")),
                None => d.help("values start with `user.`, `row.`, `new.` or `it.`; other bare names refer to named rules"),
            };
            self.report(d);
            return None;
        };
        if let Some(position) = self.expanding.iter().position(|n| n == &named.source) {
            let mut chain: Vec<&str> = self.expanding[position..]
                .iter()
                .map(String::as_str)
                .collect();
            chain.push(&named.source);
            let d = self
                .diag(
                    name.span.clone(),
                    format!(
                        "named rules refer to each other in a cycle: {}",
                        chain.join(" -> ")
                    ),
                )
                .label("cycle closes here")
                .help(
                    "break the cycle: a named rule cannot use itself, directly or through others",
                );
            self.report(d);
            return None;
        }
        let named = named.clone();
        let saved_source = std::mem::replace(&mut self.source, named.source.clone());
        let saved_text = std::mem::replace(&mut self.text, named.text.clone());
        let saved_floor = std::mem::replace(&mut self.it_floor, self.exists.len());
        self.expanding.push(named.source.clone());
        let node = self.condition(&named.expr);
        self.expanding.pop();
        self.it_floor = saved_floor;
        self.source = saved_source;
        self.text = saved_text;
        node
    }

    fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr, span: &Span) -> Option<Node> {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.condition(left);
                let r = self.condition(right);
                let (l, r) = (l?, r?);
                let nullable = l.nullable || r.nullable;
                let kind = if op == BinaryOp::And {
                    NodeKind::And(Box::new(l), Box::new(r))
                } else {
                    NodeKind::Or(Box::new(l), Box::new(r))
                };
                Some(self.node(kind, Type::Bool, nullable, span))
            }
            BinaryOp::In => self.membership(left, right, span),
            BinaryOp::Eq | BinaryOp::Ne => {
                let negated = op == BinaryOp::Ne;
                if matches!(right.kind, ExprKind::Null) || matches!(left.kind, ExprKind::Null) {
                    let other = if matches!(right.kind, ExprKind::Null) {
                        left
                    } else {
                        right
                    };
                    let operand = self.expr(other)?;
                    return Some(self.node(
                        NodeKind::IsNull {
                            operand: Box::new(operand),
                            negated,
                        },
                        Type::Bool,
                        false,
                        span,
                    ));
                }
                let compare = if negated {
                    CompareOp::Ne
                } else {
                    CompareOp::Eq
                };
                self.compare(compare, left, right, span)
            }
            BinaryOp::Lt => self.compare(CompareOp::Lt, left, right, span),
            BinaryOp::Le => self.compare(CompareOp::Le, left, right, span),
            BinaryOp::Gt => self.compare(CompareOp::Gt, left, right, span),
            BinaryOp::Ge => self.compare(CompareOp::Ge, left, right, span),
        }
    }

    fn compare(&mut self, op: CompareOp, left: &Expr, right: &Expr, span: &Span) -> Option<Node> {
        let l = self.expr(left);
        let r = self.expr(right);
        let (l, r) = (l?, r?);
        let ok = match op {
            CompareOp::Eq | CompareOp::Ne => l.ty.comparable_with(&r.ty),
            _ => l.ty.orderable_with(&r.ty),
        };
        if !ok {
            let what = if matches!(op, CompareOp::Eq | CompareOp::Ne) {
                "compared"
            } else {
                "ordered"
            };
            let mut d = self
                .diag(
                    span.clone(),
                    format!(
                        "{} and {} cannot be {what} with `{}`",
                        l.ty,
                        r.ty,
                        op.symbol()
                    ),
                )
                .label(format!("{} {} {}", l.ty, op.symbol(), r.ty));
            if l.ty == Type::Principal || r.ty == Type::Principal {
                d = d.help(
                    "`user` itself can only be compared with null; compare `user.id` instead",
                );
            } else if matches!(l.ty, Type::List(_)) || matches!(r.ty, Type::List(_)) {
                d = d.help("to test membership, write `value in list`");
            }
            self.report(d);
            return None;
        }
        let l = self.timestamp_literal(l, &r)?;
        let r = self.timestamp_literal(r, &l)?;
        let nullable = l.nullable || r.nullable;
        Some(self.node(
            NodeKind::Compare(op, Box::new(l), Box::new(r)),
            Type::Bool,
            nullable,
            span,
        ))
    }

    /// A text literal compared with a timestamp must be one (RFC 3339), and
    /// is rewritten in the stored form so text order is time order.
    fn timestamp_literal(&mut self, node: Node, other: &Node) -> Option<Node> {
        let NodeKind::Const(Value::Text(text)) = &node.kind else {
            return Some(node);
        };
        if other.ty != Type::Timestamp {
            return Some(node);
        }
        match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(time) => {
                let canonical = time
                    .with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                Some(Node {
                    kind: NodeKind::Const(Value::Text(canonical)),
                    ty: Type::Timestamp,
                    ..node
                })
            }
            Err(_) => {
                let d = self
                    .diag(
                        node.origin.span.clone(),
                        format!("`{text}` is not a timestamp"),
                    )
                    .label("compared with a timestamp")
                    .help("write an RFC 3339 time, e.g. '2026-11-21T10:00:00Z'");
                self.report(d);
                None
            }
        }
    }

    fn membership(&mut self, left: &Expr, right: &Expr, span: &Span) -> Option<Node> {
        let l = self.expr(left);
        let r = self.expr(right);
        let (l, r) = (l?, r?);
        let Type::List(element) = &r.ty else {
            let d = self
                .diag(
                    right.span.clone(),
                    format!("`in` needs a list on its right, found {}", r.ty),
                )
                .label("not a list")
                .help("write `row.status in ['draft', 'published']` or `'admin' in user.roles`");
            self.report(d);
            return None;
        };
        if !l.ty.comparable_with(element)
            || matches!(l.ty, Type::List(_) | Type::Principal | Type::Json)
        {
            let d = self
                .diag(
                    span.clone(),
                    format!("{} cannot be looked up in a list of {element}", l.ty),
                )
                .label("types differ");
            self.report(d);
            return None;
        }
        let nullable = l.nullable || r.nullable || list_has_nullable(&r);
        Some(self.node(
            NodeKind::In(Box::new(l), Box::new(r)),
            Type::Bool,
            nullable,
            span,
        ))
    }

    fn call(&mut self, function: &Ident, args: &[Expr], span: &Span) -> Option<Node> {
        let text_op = match function.name.as_str() {
            "has_scope" => return self.has_scope(function, args, span),
            "contains" => Some(TextOp::Contains),
            "starts_with" => Some(TextOp::StartsWith),
            "ends_with" => Some(TextOp::EndsWith),
            "icontains" => Some(TextOp::IContains),
            _ => None,
        };
        if let Some(op) = text_op {
            return self.text_op(op, function, args, span);
        }
        let Some(sql) = self.schema.functions.get(&function.name) else {
            let known: Vec<&str> = BUILTINS
                .iter()
                .copied()
                .chain(self.schema.functions.keys().map(String::as_str))
                .collect();
            let mut d = self
                .diag(
                    function.span.clone(),
                    format!("unknown function `{}`", function.name),
                )
                .label("not a function");
            d = with_suggestion(d, &function.name, known.iter().copied(), "");
            self.report(d);
            return None;
        };
        if !self.options.sql_functions {
            let d = self
                .diag(function.span.clone(), format!("`{}` is a SQL function, and SQL functions run only on PostgreSQL", function.name))
                .label("not available on this database")
                .help("use PostgreSQL, or write the policy in the rule language (e.g. with exists(...))");
            self.report(d);
            return None;
        }
        if self.options.in_memory {
            let d = self
                .diag(function.span.clone(), format!("`{}` runs only inside the database, but this rule must also be evaluated in memory", function.name))
                .label("database-only function")
                .help("keep SQL functions out of rules that run in memory (create rules, field rules, policy tests)");
            self.report(d);
            return None;
        }
        if args.len() != sql.params.len() {
            let d = self
                .diag(
                    span.clone(),
                    format!(
                        "`{}` takes {} argument(s), found {}",
                        function.name,
                        sql.params.len(),
                        args.len()
                    ),
                )
                .label("wrong number of arguments");
            self.report(d);
            return None;
        }
        let mut nodes = Vec::with_capacity(args.len());
        let params = sql.params.clone();
        let returns = sql.returns;
        for (arg, param) in args.iter().zip(params) {
            let node = self.expr(arg)?;
            if !node.ty.comparable_with(&Type::of_field(param)) {
                let d = self
                    .diag(
                        arg.span.clone(),
                        format!("expected {} here, found {}", param.name(), node.ty),
                    )
                    .label("wrong argument type");
                self.report(d);
                return None;
            }
            nodes.push(node);
        }
        Some(self.node(
            NodeKind::SqlCall {
                function: function.name.clone(),
                args: nodes,
            },
            Type::of_field(returns),
            true,
            span,
        ))
    }

    fn has_scope(&mut self, function: &Ident, args: &[Expr], span: &Span) -> Option<Node> {
        match args {
            [
                Expr {
                    kind: ExprKind::Text(scope),
                    ..
                },
            ] => Some(self.node(NodeKind::HasScope(scope.clone()), Type::Bool, false, span)),
            _ => {
                let d = self
                    .diag(
                        span.clone(),
                        format!("`{}` takes one scope name in quotes", function.name),
                    )
                    .label("expected one string literal")
                    .help("for example has_scope('admin:write')");
                self.report(d);
                None
            }
        }
    }

    fn text_op(
        &mut self,
        op: TextOp,
        function: &Ident,
        args: &[Expr],
        span: &Span,
    ) -> Option<Node> {
        let [haystack, needle] = args else {
            let d = self
                .diag(
                    span.clone(),
                    format!(
                        "`{}` takes two text arguments, found {}",
                        function.name,
                        args.len()
                    ),
                )
                .label("wrong number of arguments")
                .help(format!("for example {}(row.title, 'tea')", function.name));
            self.report(d);
            return None;
        };
        let h = self.expr(haystack);
        let n = self.expr(needle);
        let (h, n) = (h?, n?);
        for (node, expr) in [(&h, haystack), (&n, needle)] {
            if !matches!(node.ty, Type::Text | Type::Null) {
                let d = self
                    .diag(
                        expr.span.clone(),
                        format!("`{}` works on text, found {}", function.name, node.ty),
                    )
                    .label("not text");
                self.report(d);
                return None;
            }
        }
        let nullable = h.nullable || n.nullable;
        Some(self.node(
            NodeKind::Text(op, Box::new(h), Box::new(n)),
            Type::Bool,
            nullable,
            span,
        ))
    }

    fn exists(&mut self, resource: &Ident, condition: &Expr, span: &Span) -> Option<Node> {
        let Some(target) = self.schema.resources.get(&resource.name) else {
            let mut d = self
                .diag(
                    resource.span.clone(),
                    format!("unknown resource `{}`", resource.name),
                )
                .label("not a resource");
            d = with_suggestion(
                d,
                &resource.name,
                self.schema.resources.keys().map(String::as_str),
                "",
            );
            self.report(d);
            return None;
        };
        let depth = self.exists.len();
        self.exists.push(target);
        let condition = self.condition(condition);
        self.exists.pop();
        let condition = condition?;
        Some(self.node(
            NodeKind::Exists {
                resource: target.name.clone(),
                table: target.table.clone(),
                depth,
                condition: Box::new(condition),
            },
            Type::Bool,
            false,
            span,
        ))
    }
}

fn list_has_nullable(list: &Node) -> bool {
    match &list.kind {
        NodeKind::List(items) => items.iter().any(|i| i.nullable),
        _ => false,
    }
}

/// The common type of two list items, if they have one.
fn unify(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Null, t) | (t, Type::Null) => Some(t.clone()),
        (Type::Int, Type::Float) | (Type::Float, Type::Int) => Some(Type::Float),
        (a, b) if a == b => Some(a.clone()),
        _ => None,
    }
}

fn with_suggestion<'k>(
    d: Diagnostic,
    name: &str,
    known: impl IntoIterator<Item = &'k str>,
    prefix: &str,
) -> Diagnostic {
    match did_you_mean(name, known) {
        Some(s) => d.help(format!("did you mean `{prefix}{s}`?")),
        None => d,
    }
}

fn condition_help(ty: &Type) -> String {
    match ty {
        Type::Principal => "to test for a logged-in caller, write `user != null`".to_owned(),
        Type::Int | Type::Float | Type::Text | Type::Timestamp => {
            "compare it, e.g. `row.owner_id == user.id`".to_owned()
        }
        Type::List(_) => "test membership, e.g. `'admin' in user.roles`".to_owned(),
        _ => "a rule must be a condition".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{compile, compile_with, rules, source};

    fn errors(resource: &str, action: Action, text: &str) -> Vec<Diagnostic> {
        compile_with(resource, action, text, CheckOptions::default()).expect_err(text)
    }

    fn one_error(action: Action, text: &str) -> Diagnostic {
        let mut all = errors("posts", action, text);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    #[test]
    fn accepts_every_construct() {
        for text in [
            "true",
            "user != null && row.owner_id == user.id",
            "row.owner.email == user.email || user.is_superuser",
            "row.title in ['a', 'b'] && 'admin' in user.roles",
            "row.score >= 1 && row.score < 2.5",
            "contains(row.title, 'x') || starts_with(row.title, 'a') || ends_with(row.title, 'z') || icontains(row.title, 'Q')",
            "has_scope('admin:write')",
            "exists(votes where it.post_id == row.id && it.user_id == user.id)",
            "exists(votes where it.post.owner_id == user.id && exists(article_read_access where it.user_id == user.id))",
            "is_owner || is_admin",
            "!row.published",
            "row.content == null || row.assignee_id != null",
            "row.created_at > '2026-01-01T00:00:00.000000Z'",
            "check_article_access(row.id, user.id)",
        ] {
            compile("posts", Action::Read, text);
        }
        compile("posts", Action::Update, "new.owner_id == row.owner_id");
        compile("posts", Action::Create, "new.owner_id == user.id");
    }

    #[test]
    fn unknown_field_suggests_the_near_miss() {
        let d = one_error(Action::Delete, "row.ownerid == user.id");
        assert_eq!(d.message, "unknown field `ownerid` on posts");
        assert_eq!(d.help.as_deref(), Some("did you mean `owner_id`?"));
        assert_eq!(d.span, 4..11);
    }

    #[test]
    fn unknown_user_attribute_and_relation_and_resource_and_function() {
        let d = one_error(Action::Read, "user.is_superusr");
        assert_eq!(d.help.as_deref(), Some("did you mean `user.is_superuser`?"));
        let d = one_error(Action::Read, "row.ownr.id == 1");
        assert_eq!(d.message, "unknown relation `ownr` on posts");
        assert_eq!(d.help.as_deref(), Some("did you mean `owner`?"));
        let d = one_error(Action::Read, "exists(vote where it.id == 1)");
        assert_eq!(d.help.as_deref(), Some("did you mean `votes`?"));
        let d = one_error(Action::Read, "has_scop('x')");
        assert_eq!(d.help.as_deref(), Some("did you mean `has_scope`?"));
        let d = one_error(Action::Read, "is_ownr");
        assert_eq!(
            d.help.as_deref(),
            Some("did you mean the named rule `is_owner`?")
        );
    }

    #[test]
    fn relation_and_row_misuse() {
        let d = one_error(Action::Read, "row.owner == 1");
        assert!(
            d.help
                .as_deref()
                .is_some_and(|h| h.contains("`owner` is a relation")),
            "{d:?}"
        );
        let d = one_error(Action::Read, "row.votes.user_id == 1");
        assert!(d.message.contains("to-many"), "{d:?}");
        let d = one_error(Action::Read, "row == 1");
        assert!(d.message.contains("whole row"), "{d:?}");
        let d = one_error(Action::Read, "row.title.x == 1");
        assert!(
            d.help.as_deref().is_some_and(|h| h.contains("is a field")),
            "{d:?}"
        );
    }

    #[test]
    fn new_only_where_something_is_proposed() {
        for action in [Action::List, Action::Read, Action::Delete] {
            let d = one_error(action, "new.title == 'x'");
            assert_eq!(
                d.message,
                format!("`new` does not exist in a {action} rule")
            );
        }
    }

    #[test]
    fn it_only_inside_exists_and_not_through_named_rules() {
        let d = one_error(Action::Read, "it.user_id == 1");
        assert!(d.message.contains("only inside `exists"), "{d:?}");
        let mut set = rules();
        set.add_named(None, "uses_it", "rules.uses_it", source("it.user_id == 1"))
            .expect("parses");
        let all = set
            .compile(
                "posts",
                Action::Read,
                "t",
                source("exists(votes where uses_it)"),
                CheckOptions::default(),
            )
            .expect_err("it leaks");
        assert_eq!(all[0].rule, "rules.uses_it");
    }

    #[test]
    fn type_errors_name_both_types() {
        let d = one_error(Action::Read, "row.title == 1");
        assert_eq!(d.message, "text and integer cannot be compared with `==`");
        let d = one_error(Action::Read, "row.published < true");
        assert_eq!(d.message, "bool and bool cannot be ordered with `<`");
        let d = one_error(Action::Read, "user == 1");
        assert!(d.help.as_deref().is_some_and(|h| h.contains("user.id")));
        let d = one_error(Action::Read, "row.owner_id");
        assert!(d.message.starts_with("expected a condition"), "{d:?}");
        let d = one_error(Action::Read, "row.id in 3");
        assert!(d.message.contains("needs a list"), "{d:?}");
        let d = one_error(Action::Read, "row.id in ['a']");
        assert!(d.message.contains("cannot be looked up"), "{d:?}");
        let d = one_error(Action::Read, "[1, 'a'] == null");
        assert!(d.message.contains("list items"), "{d:?}");
        let d = one_error(Action::Read, "contains(row.id, 'a')");
        assert!(d.message.contains("works on text"), "{d:?}");
        let d = one_error(Action::Read, "contains(row.title)");
        assert!(d.message.contains("two text arguments"), "{d:?}");
        let d = one_error(Action::Read, "has_scope(row.title)");
        assert!(d.message.contains("one scope name"), "{d:?}");
    }

    #[test]
    fn timestamp_literals_are_checked_and_normalised() {
        let d = one_error(Action::Read, "row.created_at > 'not a time'");
        assert_eq!(d.message, "`not a time` is not a timestamp");
        let rule = compile(
            "posts",
            Action::Read,
            "row.created_at > '2026-01-01T01:00:00+01:00'",
        );
        let NodeKind::Compare(_, _, right) = &rule.root().kind else {
            panic!()
        };
        assert_eq!(
            right.kind,
            NodeKind::Const(Value::Text("2026-01-01T00:00:00.000000Z".into()))
        );
    }

    #[test]
    fn renders_with_the_config_file_position_and_the_fix() {
        let file = "[resources.posts]\nrules.update = \"row.ownerid == user.id\"\n";
        let offset = file.find("row.ownerid").expect("offset");
        let located = crate::diagnostic::RuleSource {
            text: "row.ownerid == user.id".into(),
            location: Some(crate::diagnostic::Location {
                file: "warden.toml".into(),
                file_text: file.into(),
                offset,
            }),
        };
        let mut set = rules();
        let errors = set
            .compile(
                "posts",
                Action::Update,
                "posts.rules.update",
                located,
                CheckOptions::default(),
            )
            .expect_err("typo");
        assert_eq!(
            errors[0].render(set.sources()),
            "error: unknown field `ownerid` on posts\n \
             --> warden.toml:2:21\n  \
             |\n\
             2 | rules.update = \"row.ownerid == user.id\"\n  \
             |                     ^^^^^^^ not a field\n  \
             |\n  \
             = help: did you mean `owner_id`?"
        );
        let errors = set
            .compile(
                "posts",
                Action::Read,
                "r",
                source("row.id == "),
                CheckOptions::default(),
            )
            .expect_err("syntax");
        assert!(
            errors[0].render(set.sources()).contains("--> r:1:11"),
            "{}",
            errors[0].render(set.sources())
        );
    }

    #[test]
    fn collects_several_errors() {
        assert_eq!(
            errors("posts", Action::Read, "row.a == 1 || row.b == 2").len(),
            2
        );
    }

    #[test]
    fn sql_functions_need_postgres_and_no_in_memory_use() {
        let d = compile_with(
            "posts",
            Action::Read,
            "check_article_access(row.id, user.id)",
            CheckOptions::default(),
        )
        .expect_err("sqlite");
        assert!(d[0].message.contains("run only on PostgreSQL"), "{d:?}");
        let d = compile_with(
            "posts",
            Action::Create,
            "check_article_access(row.id, user.id)",
            CheckOptions {
                in_memory: true,
                sql_functions: true,
            },
        )
        .expect_err("in memory");
        assert!(d[0].message.contains("evaluated in memory"), "{d:?}");
        let d = compile_with(
            "posts",
            Action::Read,
            "check_article_access(row.id)",
            CheckOptions {
                in_memory: false,
                sql_functions: true,
            },
        )
        .expect_err("arity");
        assert!(d[0].message.contains("takes 2 argument"), "{d:?}");
    }

    #[test]
    fn named_rule_cycles_are_refused() {
        let mut set = rules();
        set.add_named(None, "a", "rules.a", source("b || user.id == 1"))
            .expect("parses");
        set.add_named(None, "b", "rules.b", source("row.id == 2 && a"))
            .expect("parses");
        let d = set
            .compile(
                "posts",
                Action::Read,
                "posts.rules.read",
                source("a"),
                CheckOptions::default(),
            )
            .expect_err("cycle");
        assert!(
            d[0].message.contains("rules.a -> rules.b -> rules.a"),
            "{d:?}"
        );
        assert_eq!(d[0].rule, "rules.b");
    }

    #[test]
    fn reserved_names_cannot_name_rules() {
        let mut set = rules();
        assert!(
            set.add_named(None, "row", "rules.row", source("true"))
                .is_err()
        );
        assert!(
            set.add_named(None, "a-b", "rules.x", source("true"))
                .is_err()
        );
    }
}
