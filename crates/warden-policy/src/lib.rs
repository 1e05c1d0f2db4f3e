//! warden's rule language: text in, a checked AST out, evaluated on one row or
//! compiled to a SQL predicate. No I/O and no database driver live here.

pub mod ast;
pub mod check;
pub mod diagnostic;
pub mod eval;
#[cfg(test)]
mod fixtures;
pub mod ir;
mod lexer;
pub mod parser;
pub mod partial;
pub mod rules;
pub mod schema;
pub mod sql;
pub mod value;

pub use check::{Action, CheckOptions};
pub use diagnostic::{Diagnostic, Location, RuleSource, Sources};
pub use eval::{Dataset, Env, Principal, Row};
pub use partial::{Known, Residual};
pub use rules::{Rule, RuleSet};
pub use schema::{FieldSchema, RelationKind, RelationSchema, ResourceSchema, Schema, SqlFunction};
pub use sql::{Dialect, SqlError, SqlTarget};
pub use value::{FieldType, Type, Value};
