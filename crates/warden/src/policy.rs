//! Every rule of a config, compiled once at start: per resource, one
//! checked rule per action and one per field read rule. Load-time errors
//! are rendered against the config file. It must not touch the database.

use crate::config::{Config, FieldDef, FieldKind, FilterBudget, ResourceDef, RuleText};
use std::collections::HashMap;
use warden_policy::{Action, CheckOptions, Dialect, Rule, RuleSet, Schema, Sources};

/// The compiled rules of a whole config.
#[derive(Debug, Clone)]
pub struct Policy {
    resources: HashMap<String, ResourcePolicy>,
    rule_set: RuleSet,
    /// Per resource, the schema a client's `?filter=` may name: only the
    /// resource's own fields that every reader may see — no hidden or
    /// per-row-protected fields, no relations, no other resources — so a
    /// filter can never probe what the caller may not read.
    filters: HashMap<String, RuleSet>,
}

/// The rules of one resource. A missing action rule denies.
#[derive(Debug, Clone, Default)]
pub struct ResourcePolicy {
    actions: HashMap<Action, Rule>,
    /// Per-row read rules of fields, by field name.
    pub fields: Vec<(String, Rule)>,
}

impl ResourcePolicy {
    pub fn rule(&self, action: Action) -> Option<&Rule> {
        self.actions.get(&action)
    }
}

/// Rule errors, rendered with caret excerpts of the config file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct PolicyErrors(pub Vec<String>);

impl Policy {
    /// Compiles every rule for the given database dialect (SQL functions
    /// are allowed on PostgreSQL only).
    pub fn compile(config: &Config, dialect: Dialect) -> Result<Policy, PolicyErrors> {
        let mut rule_set = RuleSet::new(config.policy_schema());
        let mut rendered = Vec::new();
        for (name, text) in &config.rules {
            let source_name = format!("rules.{name}");
            if let Err(d) =
                rule_set.add_named(None, name, &source_name, text.to_rule_source(config))
            {
                rendered.push(d.render(rule_set.sources()));
            }
        }
        for resource in config.resources.values() {
            for (name, text) in &resource.named_rules {
                let source_name = format!("resources.{}.rules.{name}", resource.name);
                if let Err(d) = rule_set.add_named(
                    Some(&resource.name),
                    name,
                    &source_name,
                    text.to_rule_source(config),
                ) {
                    rendered.push(d.render(rule_set.sources()));
                }
            }
        }
        let options = CheckOptions {
            in_memory: false,
            sql_functions: dialect == Dialect::Postgres,
        };
        let mut resources = HashMap::default();
        for resource in config.resources.values() {
            let mut compiled = ResourcePolicy::default();
            let mut compile =
                |source_name: String, action: Action, text: &RuleText, rule_set: &mut RuleSet| {
                    match rule_set.compile(
                        &resource.name,
                        action,
                        &source_name,
                        text.to_rule_source(config),
                        options,
                    ) {
                        Ok(rule) => Some(rule),
                        Err(diagnostics) => {
                            rendered
                                .extend(diagnostics.iter().map(|d| d.render(rule_set.sources())));
                            None
                        }
                    }
                };
            for action in Action::ALL {
                if let Some(text) = resource.rules.get(action) {
                    let source_name =
                        format!("resources.{}.rules.{}", resource.name, action.name());
                    if let Some(rule) = compile(source_name, action, text, &mut rule_set) {
                        compiled.actions.insert(action, rule);
                    }
                }
            }
            for field in resource.fields.values() {
                if let Some(text) = &field.read {
                    let source_name =
                        format!("resources.{}.fields.{}.read", resource.name, field.name);
                    if let Some(rule) = compile(source_name, Action::Read, text, &mut rule_set) {
                        compiled.fields.push((field.name.clone(), rule));
                    }
                }
            }
            resources.insert(resource.name.clone(), compiled);
        }
        let filters = config
            .resources
            .values()
            .map(|r| (r.name.clone(), filter_rule_set(config, r)))
            .collect();
        // A named rule used by several rules reports its problem once.
        let mut seen = std::collections::HashSet::new();
        rendered.retain(|r| seen.insert(r.clone()));
        if rendered.is_empty() {
            Ok(Policy {
                resources,
                rule_set,
                filters,
            })
        } else {
            Err(PolicyErrors(rendered))
        }
    }

    pub fn resource(&self, name: &str) -> Option<&ResourcePolicy> {
        self.resources.get(name)
    }

    /// Per resource, the column lists some rule looks rows up by (each
    /// deserves an index): single columns, and a grant table's caller
    /// column then its link to the row.
    pub fn lookup_columns(&self) -> std::collections::BTreeMap<String, Vec<Vec<String>>> {
        let mut columns: std::collections::BTreeMap<String, Vec<Vec<String>>> = Default::default();
        let mut add = |resource: String, list: Vec<String>| {
            let entry = columns.entry(resource).or_default();
            if !entry.contains(&list) {
                entry.push(list);
            }
        };
        for policy in self.resources.values() {
            let rules = || {
                policy
                    .actions
                    .values()
                    .chain(policy.fields.iter().map(|(_, r)| r))
            };
            for lookup in rules().flat_map(Rule::lookups) {
                add(lookup.resource, vec![lookup.field]);
            }
            for index in rules().flat_map(Rule::grant_indexes) {
                add(index.resource, index.columns);
            }
        }
        columns
    }

    /// The rule set every rule was checked against.
    pub fn rule_set(&self) -> &RuleSet {
        &self.rule_set
    }

    /// Checks a client's list filter against the resource's filter schema
    /// and `budget`; a filter over budget is refused before it is parsed
    /// (too long) or before any SQL is built (too many terms or patterns).
    pub fn filter(
        &self,
        resource: &str,
        text: &str,
        budget: &FilterBudget,
    ) -> Result<Rule, FilterError> {
        if text.contains('\0') {
            return Err(FilterError::Invalid(
                "the filter contains a NUL character".to_owned(),
            ));
        }
        FilterLimit::Bytes.check(budget, "filter", text.len())?;
        let set = self
            .filters
            .get(resource)
            .ok_or_else(|| FilterError::Invalid(format!("unknown resource `{resource}`")))?;
        let rule = set
            .check(
                resource,
                Action::List,
                "filter",
                text,
                CheckOptions::default(),
            )
            .map_err(|diagnostics| {
                let sources = Sources::single("filter", text);
                FilterError::Invalid(
                    diagnostics
                        .iter()
                        .map(|d| d.render(&sources))
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            })?;
        // `exists` would read rows past the caller's rules (even of this
        // very resource), so a filter may only test the row in hand.
        if !rule.resources_reached().is_empty() {
            return Err(FilterError::Invalid("a filter may test only the listed row's own fields; exists(...) is not allowed here".to_owned()));
        }
        let cost = rule.cost();
        FilterLimit::Terms.check(budget, "filter", cost.terms)?;
        FilterLimit::Patterns.check(budget, "filter", cost.patterns)?;
        Ok(rule)
    }
}

/// Why a client's filter was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FilterError {
    /// It does not parse or check; the text has caret excerpts.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    TooComplex(#[from] OverBudget),
}

/// A filter or search larger than `[limits]` allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {what} has {found} {}; at most {allowed} are allowed ([limits] {})", .limit.unit(), .limit.key())]
pub struct OverBudget {
    /// `filter` or `search`.
    pub what: &'static str,
    pub limit: FilterLimit,
    pub allowed: u32,
    pub found: usize,
}

/// One dimension of a [`FilterBudget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterLimit {
    Bytes,
    Terms,
    Patterns,
}

impl FilterLimit {
    /// The `[limits]` key that sets it.
    pub fn key(self) -> &'static str {
        match self {
            FilterLimit::Bytes => "max_filter_bytes",
            FilterLimit::Terms => "max_filter_terms",
            FilterLimit::Patterns => "max_filter_patterns",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            FilterLimit::Bytes => "bytes",
            FilterLimit::Terms => "terms",
            FilterLimit::Patterns => "text patterns",
        }
    }

    /// `Err` when `found` is more than `budget` allows.
    pub fn check(
        self,
        budget: &FilterBudget,
        what: &'static str,
        found: usize,
    ) -> Result<(), OverBudget> {
        let allowed = match self {
            FilterLimit::Bytes => budget.max_bytes,
            FilterLimit::Terms => budget.max_terms,
            FilterLimit::Patterns => budget.max_patterns,
        };
        if found <= allowed as usize {
            return Ok(());
        }
        Err(OverBudget {
            what,
            limit: self,
            allowed,
            found,
        })
    }
}

/// Whether every reader may see this field (and so filter or sort by it).
pub fn publicly_readable(field: &FieldDef) -> bool {
    !field.hidden && field.kind != FieldKind::Password && field.read.is_none()
}

fn filter_rule_set(config: &Config, resource: &ResourceDef) -> RuleSet {
    let full = config.policy_schema();
    let mut schema = Schema::new();
    // A filter may test the caller only by what the caller may read of
    // their own row without a per-row rule (`/auth/me` shows no hidden field).
    schema.user = full.user;
    if let Some(users) = config.users_resource() {
        schema
            .user
            .retain(|name, _| name == "id" || users.field(name).is_some_and(publicly_readable));
    }
    let entry = schema.resource(&resource.name, &resource.primary_key);
    entry.with_table(&resource.table);
    for field in resource.fields.values().filter(|f| publicly_readable(f)) {
        entry.field(&field.name, field.kind.value_type(), field.nullable);
    }
    RuleSet::new(schema)
}

/// `warden check`'s warnings: list and read rules with alternatives that no
/// index can narrow, so every list scans the table.
pub fn index_warnings(config: &Config, policy: &Policy) -> Vec<String> {
    let mut warnings = Vec::new();
    for resource in config.resources.values() {
        let Some(compiled) = policy.resource(&resource.name) else {
            continue;
        };
        for action in [Action::List, Action::Read] {
            let Some(rule) = compiled.rule(action) else {
                continue;
            };
            for part in rule.unindexed_alternatives() {
                warnings.push(format!(
                    "{}: `{part}` narrows rows by no indexed lookup; lists of {} scan the table for callers it applies to",
                    rule.name(),
                    resource.name
                ));
            }
        }
    }
    warnings
}
