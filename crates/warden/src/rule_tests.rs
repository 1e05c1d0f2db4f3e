//! `warden test`: the `[[tests]]` beside a config, each a caller, an
//! action, a row (and proposal, and rows of other resources) with the
//! expected decision, evaluated in memory by the reference evaluator.
//! Never touches a database.

use crate::config::{Config, Expectation, PolicyTest, TestPrincipal};
use crate::policy::Policy;
use warden_policy::{CheckOptions, Dataset, Env, Principal, Row, Value};

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub label: String,
    pub passed: bool,
    /// Why it failed, with the explanation of the decision.
    pub detail: String,
}

/// Runs every case; the order follows the file.
pub fn run(config: &Config, policy: &Policy) -> Vec<CaseResult> {
    config
        .tests
        .iter()
        .map(|case| run_case(config, policy, case))
        .collect()
}

fn label(config: &Config, case: &PolicyTest) -> String {
    let who = match &case.principal {
        TestPrincipal::Anonymous => "anonymous".to_owned(),
        TestPrincipal::User(table) => table
            .get("id")
            .map_or("a user".to_owned(), |id| format!("user {id}")),
    };
    let name = case.name.clone().unwrap_or_else(|| {
        format!(
            "{who} {} {} -> {}",
            case.action.name(),
            case.resource,
            if case.expect == Expectation::Allow {
                "allow"
            } else {
                "deny"
            }
        )
    });
    format!("{}:{}: {name}", config.path.display(), case.line)
}

fn run_case(config: &Config, policy: &Policy, case: &PolicyTest) -> CaseResult {
    let label = label(config, case);
    let fail = |detail: String| CaseResult {
        label: label.clone(),
        passed: false,
        detail,
    };
    let Some(resource) = config.resource(&case.resource) else {
        return fail(format!("unknown resource {}", case.resource));
    };
    let Some(text) = resource.rules.get(case.action) else {
        let passed = case.expect == Expectation::Deny;
        let detail = format!(
            "no {} rule on {}: everything is denied",
            case.action.name(),
            resource.name
        );
        return CaseResult {
            label,
            passed,
            detail,
        };
    };
    let name = format!("resources.{}.rules.{}", resource.name, case.action.name());
    let options = CheckOptions {
        in_memory: true,
        sql_functions: true,
    };
    let rule =
        match policy
            .rule_set()
            .check(&resource.name, case.action, &name, &text.text, options)
        {
            Ok(rule) => rule,
            Err(diagnostics) => {
                let messages: Vec<String> = diagnostics.iter().map(|d| d.message.clone()).collect();
                return fail(format!("cannot run in memory: {}", messages.join("; ")));
            }
        };
    let principal = match &case.principal {
        TestPrincipal::Anonymous => None,
        TestPrincipal::User(table) => Some(principal(table)),
    };
    let row = to_row(&case.row);
    let new = case.new.as_ref().map(to_row);
    let mut data = Dataset::new();
    for (resource, rows) in &case.data {
        if let toml::Value::Array(rows) = rows {
            for r in rows.iter().filter_map(toml::Value::as_table) {
                data.insert(resource, to_row(r));
            }
        }
    }
    // A create rule sees the proposal as `row` and as `new`.
    let proposal = new
        .as_ref()
        .or((case.action == warden_policy::Action::Create).then_some(&row));
    let mut env = Env::new(principal.as_ref(), Some(&row)).with_data(&data);
    if let Some(proposal) = proposal {
        env = env.with_new(proposal);
    }
    let explanation = rule.explain(&env);
    let expected = case.expect == Expectation::Allow;
    CaseResult {
        label,
        passed: explanation.allowed == expected,
        detail: explanation.to_text(),
    }
}

fn principal(table: &toml::Table) -> Principal {
    let mut principal = Principal::default();
    for (key, value) in table {
        match (key.as_str(), value) {
            ("scopes", toml::Value::Array(items)) => {
                principal.scopes = items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
            }
            ("roles", toml::Value::Array(items)) => {
                principal.roles = items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
            }
            _ => {
                principal.attributes.insert(key.clone(), to_value(value));
            }
        }
    }
    principal
}

fn to_row(table: &toml::Table) -> Row {
    table
        .iter()
        .map(|(k, v)| (k.clone(), to_value(v)))
        .collect()
}

/// A TOML value as rules see it; datetimes become canonical timestamps.
pub fn to_value(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::Text(s.clone()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(x) => Value::Float(*x),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => {
            let text = d.to_string();
            Value::Text(crate::timestamp::normalize(&text).unwrap_or(text))
        }
        toml::Value::Array(items) => Value::List(items.iter().map(to_value).collect()),
        toml::Value::Table(_) => Value::Null,
    }
}
