//! The syntax tree of one rule, exactly as written, with byte spans into the
//! rule text. Names are not resolved here; the checker does that.

use std::ops::Range;

/// A byte range in the rule text.
pub type Span = Range<usize>;

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<Expr>),
    /// `user`, `row.owner_id`, `row.tea.user_id`, `new.title`, `it.user_id`.
    Path(Vec<Ident>),
    /// A bare name: a reference to a named rule.
    RuleRef(Ident),
    Not(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `name(args…)`: built-ins (`has_scope`, `contains`, …) or SQL functions.
    Call(Ident, Vec<Expr>),
    /// `exists(resource where cond)`.
    Exists(Ident, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
        }
    }
}
