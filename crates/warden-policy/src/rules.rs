//! The entry point: a [`RuleSet`] holds the schema and the named rules, and
//! turns rule text into a checked [`Rule`] ready to evaluate, specialise,
//! compile or explain.

use crate::check::{Action, CheckOptions, Checker, NamedRule, NamedRules};
use crate::diagnostic::{Diagnostic, RuleSource, Sources};
use crate::ir::Node;
use crate::parser::{is_path_root, parse};
use crate::schema::Schema;
use std::sync::Arc;

/// A schema plus the named rules declared beside it.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    schema: Schema,
    named: NamedRules,
    sources: Sources,
}

/// A checked rule for one action on one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub(crate) root: Node,
    name: String,
    resource: String,
    action: Action,
}

impl RuleSet {
    pub fn new(schema: Schema) -> Self {
        Self {
            schema,
            named: NamedRules::new(),
            sources: Sources::default(),
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Every rule text seen so far, for rendering diagnostics.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Declares a named rule, global (`resource = None`) or local to one
    /// resource. It is parsed now and checked where it is used.
    pub fn add_named(
        &mut self,
        resource: Option<&str>,
        name: &str,
        source_name: &str,
        source: RuleSource,
    ) -> Result<(), Diagnostic> {
        let text: Arc<str> = Arc::from(source.text.as_str());
        self.sources.insert(source_name, source);
        if is_path_root(name) || !is_identifier(name) {
            return Err(
                Diagnostic::new(source_name, 0..0, format!("`{name}` cannot name a rule"))
                    .label("reserved or not an identifier")
                    .help(
                        "name rules with letters, digits and `_`, not `user`, `row`, `new` or `it`",
                    ),
            );
        }
        let expr = parse(source_name, &text)?;
        self.named.insert(
            (resource.map(str::to_owned), name.to_owned()),
            NamedRule {
                source: source_name.to_owned(),
                text,
                expr,
            },
        );
        Ok(())
    }

    /// Parses and checks one rule for `action` on `resource`.
    pub fn compile(
        &mut self,
        resource: &str,
        action: Action,
        source_name: &str,
        source: RuleSource,
        options: CheckOptions,
    ) -> Result<Rule, Vec<Diagnostic>> {
        let text: Arc<str> = Arc::from(source.text.as_str());
        self.sources.insert(source_name, source);
        let Some(resource_schema) = self.schema.resources.get(resource) else {
            return Err(vec![Diagnostic::new(
                source_name,
                0..0,
                format!("unknown resource `{resource}`"),
            )]);
        };
        let expr = parse(source_name, &text).map_err(|d| vec![d])?;
        let root = Checker::new(&self.schema, &self.named, resource_schema, action, options)
            .check_rule(source_name, text, &expr)?;
        Ok(Rule {
            root,
            name: source_name.to_owned(),
            resource: resource.to_owned(),
            action,
        })
    }
}

impl RuleSet {
    /// Like [`RuleSet::compile`], without recording the text among the
    /// sources: for short-lived rules such as a request's list filter.
    /// Render its diagnostics with [`Sources::single`].
    pub fn check(
        &self,
        resource: &str,
        action: Action,
        source_name: &str,
        text: &str,
        options: CheckOptions,
    ) -> Result<Rule, Vec<Diagnostic>> {
        let Some(resource_schema) = self.schema.resources.get(resource) else {
            return Err(vec![Diagnostic::new(
                source_name,
                0..0,
                format!("unknown resource `{resource}`"),
            )]);
        };
        let expr = parse(source_name, text).map_err(|d| vec![d])?;
        let root = Checker::new(&self.schema, &self.named, resource_schema, action, options)
            .check_rule(source_name, Arc::from(text), &expr)?;
        Ok(Rule {
            root,
            name: source_name.to_owned(),
            resource: resource.to_owned(),
            action,
        })
    }
}

impl Rule {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }

    pub fn action(&self) -> Action {
        self.action
    }

    /// The checked tree, for tools that want to inspect it.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// Whether the rule looks at the caller at all. A rule that does not
    /// denies an anonymous caller exactly as it denies everyone; one that
    /// does might allow the same request once the caller logs in (so the
    /// API answers 401, not 403/404).
    pub fn depends_on_user(&self) -> bool {
        fn walk(node: &Node) -> bool {
            use crate::ir::NodeKind as K;
            match &node.kind {
                K::Principal | K::UserAttr(_) | K::HasScope(_) => true,
                K::Const(_) | K::Field(_) => false,
                K::List(items) | K::SqlCall { args: items, .. } => items.iter().any(walk),
                K::Not(a) | K::IsNull { operand: a, .. } => walk(a),
                K::Exists { condition, .. } => walk(condition),
                K::And(a, b)
                | K::Or(a, b)
                | K::Compare(_, a, b)
                | K::In(a, b)
                | K::Text(_, a, b) => walk(a) || walk(b),
            }
        }
        walk(&self.root)
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
