//! warden's rule language: text in, a checked AST out, evaluated on one row or
//! compiled to a SQL predicate. No I/O and no database driver live here.

pub mod ast;
pub mod diagnostic;
mod lexer;
pub mod parser;
pub mod schema;
pub mod value;

pub use diagnostic::{Diagnostic, Location, RuleSource, Sources};
pub use schema::{FieldSchema, RelationKind, RelationSchema, ResourceSchema, Schema, SqlFunction};
pub use value::{FieldType, Type, Value};
