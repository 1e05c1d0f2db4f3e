//! Load-time errors in rules: a message, a span, a label and an optional fix,
//! rendered with a caret excerpt of the rule (or of the config file that holds
//! it, when the rule's position in that file is known).

use crate::ast::Span;
use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
use std::collections::BTreeMap;
use std::fmt;

/// One problem found in a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Which rule text the span points into (named rules are checked where
    /// they are used, so this is not always the rule being compiled).
    pub rule: String,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(rule: &str, span: Span, message: impl Into<String>) -> Self {
        Self {
            rule: rule.to_owned(),
            message: message.into(),
            span,
            label: String::new(),
            help: None,
        }
    }

    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Renders with a caret excerpt, without colours.
    pub fn render(&self, sources: &Sources) -> String {
        let source = sources.get(&self.rule);
        let (text, path, span) = match source.and_then(|s| s.location.as_ref().map(|l| (s, l))) {
            Some((source, location)) => (
                location.file_text.as_str(),
                location.file.clone(),
                shift(
                    &self.span,
                    location.offset,
                    location.file_text.len(),
                    &source.text,
                ),
            ),
            None => {
                // Clamp: the text may be missing or shorter than the span.
                let text = source.map_or("", |s| s.text.as_str());
                let clamp = |i: usize| i.min(text.len());
                (
                    text,
                    self.rule.clone(),
                    clamp(self.span.start)..clamp(self.span.end),
                )
            }
        };
        let mut title = Level::ERROR.primary_title(self.message.as_str()).element(
            Snippet::source(text).path(path.as_str()).annotation(
                AnnotationKind::Primary
                    .span(span)
                    .label(self.label.as_str()),
            ),
        );
        if let Some(help) = &self.help {
            title = title.element(Level::HELP.message(help.as_str()));
        }
        Renderer::plain().render(&[title]).to_string()
    }
}

/// Maps a span in the rule text onto the file that holds it.
fn shift(span: &Span, offset: usize, file_len: usize, rule_text: &str) -> Span {
    let clamp = |i: usize| (i.min(rule_text.len()) + offset).min(file_len);
    clamp(span.start)..clamp(span.end)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (at byte {})",
            self.rule, self.message, self.span.start
        )?;
        if let Some(help) = &self.help {
            write!(f, "; {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// The text of one rule and where it came from.
#[derive(Debug, Clone)]
pub struct RuleSource {
    pub text: String,
    pub location: Option<Location>,
}

/// Where a rule's text sits in a config file, when it sits there verbatim
/// (a one-line TOML string without escapes), so errors can show file lines.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: String,
    pub file_text: String,
    /// Byte offset of the rule text's first character in `file_text`.
    pub offset: usize,
}

/// All rule texts by name, for rendering diagnostics.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    by_name: BTreeMap<String, RuleSource>,
}

impl Sources {
    pub fn insert(&mut self, name: &str, source: RuleSource) {
        self.by_name.insert(name.to_owned(), source);
    }

    pub fn get(&self, name: &str) -> Option<&RuleSource> {
        self.by_name.get(name)
    }

    /// A single anonymous rule text, for tools and tests.
    pub fn single(name: &str, text: &str) -> Self {
        let mut sources = Self::default();
        sources.insert(
            name,
            RuleSource {
                text: text.to_owned(),
                location: None,
            },
        );
        sources
    }
}

/// Suggests the closest known name for a near-miss, if any is close enough.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    known
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(name.len()) / 3).max(1))
        .min()
        .map(|(_, candidate)| candidate.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_without_its_source_instead_of_panicking() {
        let d = Diagnostic::new("missing", 15..17, "boom").label("here");
        assert!(d.render(&Sources::default()).contains("boom"));
    }

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(
            did_you_mean("ownerid", ["owner_id", "title"]),
            Some("owner_id".into())
        );
        assert_eq!(did_you_mean("xyz", ["owner_id", "title"]), None);
    }
}
