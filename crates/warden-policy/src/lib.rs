//! warden's rule language: text in, a checked tree out, evaluated on one row
//! or compiled to a SQL predicate. No I/O and no database driver live here.
//!
//! # A guide
//!
//! A rule is one boolean expression per action on a resource:
//!
//! ```text
//! row.owner_id == user.id || user.is_superuser
//! exists(article_read_access where it.article_id == row.id && it.user_id == user.id)
//! has_scope('admin:write') && new.owner_id == row.owner_id
//! ```
//!
//! | construct | meaning |
//! |---|---|
//! | `null`, `true`, `42`, `-1.5`, `'text'`, `"text"`, `[1, 2]` | literals |
//! | `user`, `user.id`, `user.<attr>`, `user.scopes`, `user.roles` | the caller; `user == null` when anonymous |
//! | `row.<field>`, `row.<to-one relation>.<field>` | the row the action is on (in a create rule: the proposed row) |
//! | `new.<field>` | the proposed row, in create and update rules |
//! | `it.<field>` | the row of the innermost `exists` |
//! | `== != < <= > >=`, `in`, `&&`, `\|\|`, `!` | comparisons (text in byte order), membership, logic |
//! | `contains(a, b)`, `starts_with`, `ends_with`, `icontains` | text tests (`icontains` folds ASCII case only) |
//! | `has_scope('admin:write')` | the caller's token carries the scope |
//! | `exists(<resource> where <condition>)` | some row of another resource matches (ACL and share tables) |
//! | `is_owner` | a named rule, declared beside the rules that use it |
//! | `check_article_access(row.id, user.id)` | a SQL function (PostgreSQL only, never in memory) |
//!
//! **Null rule** (the same in memory and in SQL): a comparison, `in` or text
//! test with a null operand is false, never null and never an error;
//! `x == null` / `x != null` test for null. Conditions are two-valued, so
//! `!(row.assignee_id == user.id)` is true on a row without an assignee, in
//! both executions. For an anonymous caller every `user.<attr>` is null, so
//! `row.owner_id == user.id` is simply false.
//!
//! # The pipeline
//!
//! 1. [`RuleSet::compile`] parses ([`parser`]) and checks ([`check`]) a rule
//!    against a [`Schema`]: unknown names (with a suggestion), type errors,
//!    `new` where nothing is proposed, database-only functions where the rule
//!    must run in memory, cycles among named rules. Errors are
//!    [`Diagnostic`]s that render with a caret excerpt.
//! 2. [`Rule::evaluate`] decides on one row in memory: the reference
//!    semantics. [`Rule::explain`] does the same and records why.
//! 3. [`Rule::specialize`] folds in what is known before a query (the
//!    caller): a superuser's owner rule becomes [`Residual::Always`]`(true)`,
//!    an anonymous caller's becomes `Always(false)`.
//! 4. [`Residual::to_sql`] turns what is left into a sea-query expression for
//!    SQLite or PostgreSQL; every value is a bound parameter.
//!
//! A property test (`tests/equivalence.rs`) checks on thousands of random
//! rules, rows and callers that step 4 selects exactly the rows step 2 allows.
//!
//! # Example: rule text to a SQL predicate and its parameters
//!
//! ```
//! use warden_policy::{
//!     Action, CheckOptions, Dialect, FieldType, Principal, Residual, RuleSet, RuleSource, Schema, SqlTarget,
//! };
//!
//! let mut schema = Schema::new();
//! schema
//!     .resource("posts", "id")
//!     .field("id", FieldType::Integer, false)
//!     .field("owner_id", FieldType::Integer, false);
//! schema
//!     .user_attribute("id", FieldType::Integer, false)
//!     .user_attribute("is_superuser", FieldType::Bool, false);
//!
//! let mut rules = RuleSet::new(schema);
//! let delete = rules
//!     .compile(
//!         "posts",
//!         Action::Delete,
//!         "posts.rules.delete",
//!         RuleSource { text: "row.owner_id == user.id || user.is_superuser".into(), location: None },
//!         CheckOptions::default(),
//!     )
//!     .expect("the rule checks");
//!
//! // User 23 may delete the posts this predicate selects:
//! let user = Principal::with_id(23).attribute("is_superuser", false);
//! let residual = delete.specialize(Some(&user));
//! let (sql, params) = residual
//!     .to_sql_string(&SqlTarget::new(Dialect::Postgres, "posts"))
//!     .expect("compiles");
//! assert_eq!(sql, r#""posts"."owner_id" = $1"#);
//! assert_eq!(params.0, vec![sea_query::Value::BigInt(Some(23))]);
//!
//! // A superuser needs no predicate; an anonymous caller needs no query.
//! let admin = Principal::with_id(1).attribute("is_superuser", true);
//! assert_eq!(delete.specialize(Some(&admin)), Residual::Always(true));
//! assert_eq!(delete.specialize(None), Residual::Always(false));
//!
//! // Misspelled names are caught when the rule loads, with a fix:
//! let errors = rules
//!     .compile(
//!         "posts",
//!         Action::Delete,
//!         "posts.rules.delete",
//!         RuleSource { text: "row.ownerid == user.id".into(), location: None },
//!         CheckOptions::default(),
//!     )
//!     .unwrap_err();
//! let rendered = errors[0].render(rules.sources());
//! assert!(rendered.contains("unknown field `ownerid` on posts"));
//! assert!(rendered.contains("did you mean `owner_id`?"));
//! ```

pub mod alternatives;
pub mod ast;
pub mod check;
pub mod cost;
pub mod diagnostic;
pub mod eval;
pub mod explain;
/// A small schema and rule set shaped like the seed systems, for this
/// crate's tests and (with the `fixtures` feature) the fuzz targets.
#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod fixtures;
pub mod index;
pub mod ir;
mod lexer;
pub mod parameters;
pub mod parser;
pub mod partial;
pub mod rules;
pub mod schema;
pub mod sql;
pub mod value;

pub use alternatives::Alternative;
pub use check::{Action, CheckOptions};
pub use cost::Cost;
pub use diagnostic::{Diagnostic, Location, RuleSource, Sources};
pub use eval::{Dataset, Env, Principal, Row};
pub use explain::{Explanation, Step};
pub use index::{GrantIndex, Lookup};
pub use partial::{Known, Residual};
pub use rules::{Rule, RuleSet};
pub use schema::{FieldSchema, RelationKind, RelationSchema, ResourceSchema, Schema, SqlFunction};
pub use sql::{Dialect, PrincipalSql, SqlError, SqlTarget};
pub use value::{FieldType, Type, Value};

/// The SQL builder the predicates are made with, re-exported so callers
/// use the same version.
pub use sea_query;
