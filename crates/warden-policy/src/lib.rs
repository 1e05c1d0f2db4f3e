//! warden's rule language: text in, a checked AST out, evaluated on one row or
//! compiled to a SQL predicate. No I/O and no database driver live here.
