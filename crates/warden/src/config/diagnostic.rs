//! Load errors that point at `file:line:column` and say how to fix the
//! problem. Only formatting and position arithmetic live here; deciding
//! what is wrong is `validate.rs`'s job.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Collects diagnostics against one source file.
pub struct Diagnostics<'a> {
    file: &'a Path,
    source: &'a str,
    found: Vec<Diagnostic>,
}

impl<'a> Diagnostics<'a> {
    pub fn new(file: &'a Path, source: &'a str) -> Self {
        Self {
            file,
            source,
            found: Vec::new(),
        }
    }

    /// Records a problem at the start of `span`.
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let diagnostic = self.at(span.start, message.into());
        self.found.push(diagnostic);
    }

    pub fn at(&self, offset: usize, message: String) -> Diagnostic {
        let (line, column) = line_column(self.source, offset);
        Diagnostic {
            file: self.file.to_path_buf(),
            line,
            column,
            message,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The problems in file order.
    pub fn into_vec(mut self) -> Vec<Diagnostic> {
        self.found
            .sort_by_key(|problem| (problem.line, problem.column));
        self.found
    }
}

/// 1-based line and character column of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// ", did you mean `x`?" when a known name is close to the unknown one.
pub fn suggestion<'n>(unknown: &str, known: impl IntoIterator<Item = &'n str>) -> String {
    known
        .into_iter()
        .map(|name| (strsim::jaro_winkler(unknown, name), name))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| format!("; did you mean `{name}`?"))
        .unwrap_or_default()
}

/// "a, b, c" for messages listing the allowed names.
pub fn list(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    names
        .into_iter()
        .map(|name| name.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let source = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_column(source, 0), (1, 1));
        assert_eq!(line_column(source, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_column(source, 9), (2, 3));
    }

    #[test]
    fn suggests_a_close_name_only() {
        assert_eq!(
            suggestion("ownerid", ["owner_id", "title"]),
            "; did you mean `owner_id`?"
        );
        assert_eq!(suggestion("zzz", ["owner_id", "title"]), "");
    }
}
