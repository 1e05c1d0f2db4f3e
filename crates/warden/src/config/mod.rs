//! The config file: read it, parse it with spans, validate it into the
//! model. Loading never touches the database and never compiles rules.

mod diagnostic;
mod model;
mod raw;
mod rule_schema;
mod validate;

pub use diagnostic::Diagnostic;
pub use model::*;
pub use validate::{INTERNAL_TABLE_PREFIX, VERSION_COLUMN};

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", Problems(.0))]
    Invalid(Vec<Diagnostic>),
}

/// Every diagnostic on its own line.
struct Problems<'a>(&'a [Diagnostic]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl Config {
    /// Reads and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &source)
    }

    /// Validates config text; `path` is where it claims to come from (used
    /// in diagnostics and to resolve relative database paths).
    pub fn parse(path: &Path, source: &str) -> Result<Config, ConfigError> {
        let raw: raw::RawConfig = toml::from_str(source).map_err(|error| {
            let offset = error.span().map_or(0, |span| span.start);
            let diagnostics = diagnostic::Diagnostics::new(path, source);
            ConfigError::Invalid(vec![
                diagnostics.at(offset, error.message().trim_end().to_owned()),
            ])
        })?;
        validate::validate(path, source, raw).map_err(ConfigError::Invalid)
    }
}

#[cfg(test)]
pub(crate) mod tests;
