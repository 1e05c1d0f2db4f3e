//! Which database a URL names: a SQLite file (relative paths resolved
//! against a base folder), in-memory SQLite, or PostgreSQL. Parsing only;
//! connecting is `Store::connect`'s job.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    SqliteFile(PathBuf),
    SqliteMemory,
    /// The URL as given; sqlx parses the rest.
    Postgres(String),
}

/// The SQL dialect of a target (the rule compiler's, so predicates and
/// statements agree).
pub use warden_policy::Dialect;

impl DatabaseTarget {
    /// Parses `sqlite://FILE`, `sqlite:FILE`, `sqlite::memory:` or
    /// `postgres://...`; a relative SQLite path is taken from `base`.
    pub fn parse(url: &str, base: &Path) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Some(Self::Postgres(url.to_owned()));
        }
        let rest = url.strip_prefix("sqlite:")?;
        if rest == ":memory:" || rest == "//:memory:" {
            return Some(Self::SqliteMemory);
        }
        let path = rest.strip_prefix("//").unwrap_or(rest);
        // Query options (?mode=...) are set by warden itself.
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() {
            return None;
        }
        let path = Path::new(path);
        Some(Self::SqliteFile(if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        }))
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Self::SqliteFile(_) | Self::SqliteMemory => Dialect::Sqlite,
            Self::Postgres(_) => Dialect::Postgres,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_relative_to_the_base_folder() {
        let base = Path::new("/srv/app");
        assert_eq!(
            DatabaseTarget::parse("sqlite://posts.db", base),
            Some(DatabaseTarget::SqliteFile("/srv/app/posts.db".into()))
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite:///tmp/x.db", base),
            Some(DatabaseTarget::SqliteFile("/tmp/x.db".into()))
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite::memory:", base),
            Some(DatabaseTarget::SqliteMemory)
        );
        assert_eq!(
            DatabaseTarget::parse("postgres://u@h/db", base).map(|t| t.dialect()),
            Some(Dialect::Postgres)
        );
        assert_eq!(DatabaseTarget::parse("mysql://h/db", base), None);
    }
}
