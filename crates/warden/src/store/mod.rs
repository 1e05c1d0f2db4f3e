//! The database: one [`Store`] over a SQLite or PostgreSQL pool, chosen
//! from the URL. Schema statements, migrations, row reads and writes, and
//! seeding live in the submodules. No authorization happens here: callers
//! pass in statements that already carry their rule predicates.

pub mod ddl;
mod target;

pub use target::{DatabaseTarget, Dialect};
