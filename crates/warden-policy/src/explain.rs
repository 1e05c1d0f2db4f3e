//! Why a decision came out as it did: the rule re-evaluated with every
//! sub-expression's value recorded, as a tree renderable as indented text
//! (for `warden explain` and denial logs) or JSON (for audit). Uses the
//! evaluator's semantics; never decides anything itself.

use crate::eval::{Env, Scope, condition, value};
use crate::ir::{Node, NodeKind};
use crate::rules::Rule;
use crate::value::Value;
use serde::Serialize;
use std::fmt::Write as _;

/// A decision and the reasons for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub rule: String,
    pub allowed: bool,
    pub step: Step,
}

/// One sub-expression, the value it took and the steps beneath it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub expr: String,
    pub value: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub because: Vec<Step>,
}

impl Rule {
    /// Evaluates like [`Rule::evaluate`] and records why.
    pub fn explain(&self, env: &Env<'_>) -> Explanation {
        let step = trace(&self.root, env, None);
        Explanation {
            rule: self.name().to_owned(),
            allowed: step.value.is_true(),
            step,
        }
    }
}

fn trace(node: &Node, env: &Env<'_>, scope: Option<&Scope<'_>>) -> Step {
    let expr = node.origin.snippet().to_owned();
    let is_condition =
        matches!(node.ty, crate::value::Type::Bool) && !matches!(node.kind, NodeKind::Field(_));
    let result = if is_condition {
        Value::Bool(condition(node, env, scope))
    } else {
        value(node, env, scope).into_owned()
    };
    let mut note = None;
    let because = match &node.kind {
        NodeKind::Not(inner) => vec![trace(inner, env, scope)],
        NodeKind::And(l, r) | NodeKind::Or(l, r) => {
            vec![trace(l, env, scope), trace(r, env, scope)]
        }
        NodeKind::Compare(_, l, r) | NodeKind::In(l, r) | NodeKind::Text(_, l, r) => {
            if [l, r].iter().any(|n| value(n, env, scope).is_null()) {
                note = Some("a comparison with null is false".to_owned());
            }
            operands(&[l.as_ref(), r.as_ref()], env, scope)
        }
        NodeKind::IsNull { operand, .. } => operands(&[operand.as_ref()], env, scope),
        NodeKind::HasScope(s) => {
            note = Some(match env.user {
                Some(user) if user.scopes.is_empty() => "the caller has no scopes".to_owned(),
                Some(user) => format!("the caller's scopes: {}", user.scopes.join(" ")),
                None => format!("anonymous callers have no scope `{s}`"),
            });
            Vec::new()
        }
        NodeKind::Exists {
            resource,
            condition: inner,
            depth,
            ..
        } => {
            let matched = env.data.rows(resource).iter().find(|row| {
                let inner_scope = Scope {
                    row,
                    depth: *depth,
                    parent: scope,
                };
                condition(inner, env, Some(&inner_scope))
            });
            note = Some(match matched {
                Some(row) => format!("matched a {resource} row: {}", describe(row)),
                None => format!(
                    "no {resource} row matched (of {} loaded)",
                    env.data.rows(resource).len()
                ),
            });
            Vec::new()
        }
        NodeKind::SqlCall { function, .. } => {
            note = Some(format!(
                "`{function}` runs only in the database; in memory it denies"
            ));
            Vec::new()
        }
        _ => Vec::new(),
    };
    Step {
        expr,
        value: result,
        note,
        because,
    }
}

/// Operands worth showing: not literals, whose value is plain to see.
fn operands(nodes: &[&Node], env: &Env<'_>, scope: Option<&Scope<'_>>) -> Vec<Step> {
    nodes
        .iter()
        .filter(|n| !matches!(n.kind, NodeKind::Const(_)))
        .map(|n| trace(n, env, scope))
        .collect()
}

fn describe(row: &crate::eval::Row) -> String {
    let mut fields: Vec<(&String, &Value)> = row.iter().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

impl Explanation {
    /// Indented text: the decision, then each step with its value.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{} by {}\n",
            if self.allowed { "allowed" } else { "denied" },
            self.rule
        );
        write_step(&mut out, &self.step, 1);
        out
    }
}

fn write_step(out: &mut String, step: &Step, depth: usize) {
    let indent = "  ".repeat(depth);
    let _ = write!(out, "{indent}{}  =>  {}", step.expr, step.value);
    if let Some(note) = &step.note {
        let _ = write!(out, "   ({note})");
    }
    out.push('\n');
    for child in &step.because {
        write_step(out, child, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use crate::check::Action;
    use crate::eval::{Dataset, Env, Principal, Row};
    use crate::fixtures::compile;
    use crate::value::Value;

    fn post(owner: i64) -> Row {
        [
            ("id".to_owned(), Value::Int(4)),
            ("owner_id".to_owned(), Value::Int(owner)),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn explains_a_denial_with_the_values_seen() {
        let rule = compile(
            "posts",
            Action::Delete,
            "row.owner_id == user.id || user.is_superuser",
        );
        let user = Principal::with_id(23).attribute("is_superuser", false);
        let p = post(21);
        let explanation = rule.explain(&Env::new(Some(&user), Some(&p)));
        assert!(!explanation.allowed);
        assert_eq!(
            explanation.to_text(),
            "denied by test\n\
             \x20 row.owner_id == user.id || user.is_superuser  =>  false\n\
             \x20   row.owner_id == user.id  =>  false\n\
             \x20     row.owner_id  =>  21\n\
             \x20     user.id  =>  23\n\
             \x20   user.is_superuser  =>  false\n"
        );
        let json = serde_json::to_value(&explanation).expect("json");
        assert_eq!(json["allowed"], false);
        assert_eq!(json["step"]["because"][0]["because"][0]["value"], 21);
    }

    #[test]
    fn explains_nulls_scopes_and_exists() {
        let rule = compile(
            "posts",
            Action::Read,
            "row.assignee_id == user.id || has_scope('admin:read') || exists(article_read_access where it.article_id == row.id && it.user_id == user.id)",
        );
        let user = Principal::with_id(23).scope("user:read");
        let p = post(21);
        let mut data = Dataset::new();
        data.insert(
            "article_read_access",
            [
                ("id".to_owned(), Value::Int(9)),
                ("article_id".to_owned(), Value::Int(4)),
                ("user_id".to_owned(), Value::Int(23)),
            ]
            .into_iter()
            .collect(),
        );
        let explanation = rule.explain(&Env::new(Some(&user), Some(&p)).with_data(&data));
        assert!(explanation.allowed);
        let text = explanation.to_text();
        assert!(text.contains("(a comparison with null is false)"), "{text}");
        assert!(text.contains("(the caller's scopes: user:read)"), "{text}");
        assert!(
            text.contains("matched a article_read_access row: {article_id=4, id=9, user_id=23}"),
            "{text}"
        );
        assert_eq!(
            explanation.allowed,
            rule.evaluate(&Env::new(Some(&user), Some(&p)).with_data(&data))
        );
    }
}
