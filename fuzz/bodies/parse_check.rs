//! Parse + check (and, for whatever checks, everything downstream) on
//! arbitrary rule text. Nothing here may panic, loop or overflow the stack,
//! whatever the text: rules come from a config file a developer edits.
//!
//! For each input (skipped unless UTF-8):
//! - `parser::parse`, and every diagnostic rendered;
//! - the text declared as a named rule (so rules that name it, and cycles
//!   through it, are checked too);
//! - `RuleSet::compile` on two resources, for every `Action`, both for
//!   in-memory use and for SQL with SQL functions allowed; and
//!   `RuleSet::check` as a client's list filter is checked (default options);
//! - for each rule that checks: `evaluate` and `explain` (text and JSON) on
//!   a fixed row and dataset for three callers, `specialize` for those
//!   callers, `specialize_with` a known row, and `to_sql_string` of every
//!   residual in both dialects. One cheap oracle: when everything the rule
//!   reads is known and specialisation decides it, the decision must be the
//!   evaluator's.

use std::sync::OnceLock;
use warden_policy::{
    Action, CheckOptions, Dataset, Dialect, Env, Known, Principal, Residual, Row, Rule, RuleSet,
    Sources, SqlTarget, Value, fixtures, parser,
};

fn row(pairs: &[(&str, Value)]) -> Row {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

struct Fixed {
    rules: RuleSet,
    users: [Option<Principal>; 3],
    post: Row,
    proposed_post: Row,
    vote: Row,
    data: Dataset,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let rules = fixtures::rules();
        let post = row(&[
            ("id", 8.into()),
            ("title", "Tea".into()),
            ("content", Value::Null),
            ("published", true.into()),
            ("owner_id", 23.into()),
            ("assignee_id", Value::Null),
            ("score", 2.5.into()),
            ("created_at", "2024-01-02T03:04:05.000000Z".into()),
        ]);
        let mut proposed_post = post.clone();
        proposed_post.insert("owner_id".to_owned(), 21.into());
        proposed_post.insert("title".to_owned(), "Coffee".into());
        let vote = row(&[
            ("id", 1.into()),
            ("post_id", 8.into()),
            ("user_id", 23.into()),
        ]);
        let mut data = Dataset::new();
        data.insert(
            "users",
            row(&[
                ("id", 23.into()),
                ("email", "a@x".into()),
                ("is_superuser", false.into()),
                ("manager_id", 1.into()),
            ]),
        );
        data.insert("posts", post.clone());
        data.insert("votes", vote.clone());
        data.insert(
            "article_read_access",
            row(&[
                ("id", 1.into()),
                ("article_id", 8.into()),
                ("user_id", 23.into()),
            ]),
        );
        Fixed {
            rules,
            users: [
                None,
                Some(
                    Principal::with_id(23)
                        .attribute("email", "a@x")
                        .attribute("is_superuser", false)
                        .attribute("manager_id", Value::Null)
                        .scope("user:read")
                        .role("editor"),
                ),
                Some(
                    Principal::with_id(1)
                        .attribute("email", "root@x")
                        .attribute("is_superuser", true)
                        .attribute("manager_id", 23)
                        .scope("admin:write"),
                ),
            ],
            post,
            proposed_post,
            vote,
            data,
        }
    })
}

const OPTIONS: [CheckOptions; 2] = [
    CheckOptions {
        in_memory: true,
        sql_functions: false,
    },
    CheckOptions {
        in_memory: false,
        sql_functions: true,
    },
];

fn to_sql(residual: &Residual, table: &str) {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let _ = residual.to_sql_string(&SqlTarget::new(dialect, table));
    }
}

fn exercise(rule: &Rule, resource: &str, action: Action) {
    let f = fixed();
    let stored = if resource == "posts" {
        &f.post
    } else {
        &f.vote
    };
    let proposed = if resource == "posts" {
        &f.proposed_post
    } else {
        &f.vote
    };
    for user in &f.users {
        let user = user.as_ref();
        let mut env = Env::new(user, Some(stored)).with_data(&f.data);
        if action.has_proposal() {
            env = env.with_new(proposed);
        }
        let allowed = rule.evaluate(&env);
        let explanation = rule.explain(&env);
        let _ = explanation.to_text();
        let _ = serde_json::to_string(&explanation);

        to_sql(&rule.specialize(user), resource);

        let known = Known {
            user,
            row: Some(stored),
            new: action.has_proposal().then_some(proposed),
        };
        let residual = rule.specialize_with(&known);
        to_sql(&residual, resource);
        if let Residual::Always(decided) = residual {
            assert_eq!(
                decided, allowed,
                "specialisation with everything known decided {decided}, the evaluator {allowed}"
            );
        }
    }
}

/// One input: nothing may panic, loop or overflow the stack.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let f = fixed();
    let mut rules = f.rules.clone();

    if let Err(d) = parser::parse("fuzz", text) {
        let _ = d.render(&Sources::single("fuzz", text));
    }

    let named = match rules.add_named(None, "fuzzed", "rules.fuzzed", fixtures::source(text)) {
        Ok(()) => true,
        Err(d) => {
            let _ = d.render(rules.sources());
            false
        }
    };

    for resource in ["posts", "votes"] {
        for action in Action::ALL {
            for options in OPTIONS {
                match rules.compile(resource, action, "fuzz", fixtures::source(text), options) {
                    Ok(rule) => exercise(&rule, resource, action),
                    Err(diagnostics) => {
                        for d in diagnostics {
                            let _ = d.render(rules.sources());
                        }
                    }
                }
            }
        }
    }

    // The path untrusted text takes: a client's list filter is checked with
    // `RuleSet::check` and default options (no SQL functions, not in memory)
    // and its diagnostics rendered against that text alone.
    match rules.check(
        "posts",
        Action::List,
        "filter",
        text,
        CheckOptions::default(),
    ) {
        Ok(rule) => exercise(&rule, "posts", Action::List),
        Err(diagnostics) => {
            let sources = Sources::single("filter", text);
            for d in diagnostics.iter().filter(|d| d.rule == "filter") {
                let _ = d.render(&sources);
            }
        }
    }

    // The text used through a reference, as named rules are.
    if named {
        for action in [Action::Read, Action::Update] {
            let user_text = "fuzzed || is_owner";
            match rules.compile(
                "posts",
                action,
                "uses_fuzzed",
                fixtures::source(user_text),
                OPTIONS[1],
            ) {
                Ok(rule) => exercise(&rule, "posts", action),
                Err(diagnostics) => {
                    for d in diagnostics {
                        let _ = d.render(rules.sources());
                    }
                }
            }
        }
    }
}
