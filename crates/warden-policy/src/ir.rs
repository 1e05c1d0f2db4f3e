//! The checked form of a rule: names resolved against the schema, named rules
//! inlined, every node typed and marked nullable or not. Evaluation,
//! specialisation, SQL compilation and explanation all walk this tree.

use crate::ast::Span;
use crate::value::{Type, Value};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub ty: Type,
    /// Whether the value can be null at run time (decides where SQL needs
    /// `IS TRUE` to keep two-valued logic).
    pub nullable: bool,
    pub origin: Origin,
}

/// The rule text a node came from, for explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub text: Arc<str>,
    pub span: Span,
}

impl Origin {
    pub fn snippet(&self) -> &str {
        self.text.get(self.span.clone()).unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Const(Value),
    List(Vec<Node>),
    /// `user` itself; only ever tested against null.
    Principal,
    /// `user.<name>`, including `user.scopes` and `user.roles`.
    UserAttr(String),
    Field(FieldRef),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Compare(CompareOp, Box<Node>, Box<Node>),
    /// `x == null` (`negated`: `x != null`).
    IsNull {
        operand: Box<Node>,
        negated: bool,
    },
    In(Box<Node>, Box<Node>),
    Text(TextOp, Box<Node>, Box<Node>),
    HasScope(String),
    /// `exists(resource where condition)`; `depth` numbers nested `exists`
    /// from 0 so each one's `it` has its own name.
    Exists {
        resource: String,
        table: String,
        depth: usize,
        condition: Box<Node>,
    },
    SqlCall {
        function: String,
        args: Vec<Node>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
    /// Contains, ignoring ASCII case (what SQLite's `lower` and
    /// PostgreSQL's `lower` under `COLLATE "C"` agree on).
    IContains,
}

impl TextOp {
    pub fn name(self) -> &'static str {
        match self {
            TextOp::Contains => "contains",
            TextOp::StartsWith => "starts_with",
            TextOp::EndsWith => "ends_with",
            TextOp::IContains => "icontains",
        }
    }

    pub fn apply(self, haystack: &str, needle: &str) -> bool {
        match self {
            TextOp::Contains => haystack.contains(needle),
            TextOp::StartsWith => haystack.starts_with(needle),
            TextOp::EndsWith => haystack.ends_with(needle),
            TextOp::IContains => haystack
                .to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase()),
        }
    }
}

/// A field reached from a row, possibly through to-one relations.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRef {
    pub start: Start,
    pub hops: Vec<Hop>,
    pub field: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// `row`: the stored row (or, in a create rule, the proposed one).
    Row,
    /// `new`: the row as it would be after the write.
    New,
    /// `it` of the `exists` at this nesting depth (0 = outermost).
    It(usize),
    /// The first hop's key, already known (after specialisation on a known
    /// row): only ever followed by at least one hop.
    Key(Value),
}

/// One step along a to-one relation: the current row's `via` field holds
/// the key of a row of `table`, found by its `key` column.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    pub relation: String,
    pub via: String,
    pub resource: String,
    pub table: String,
    pub key: String,
}
