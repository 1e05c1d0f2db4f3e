//! The `filter` query parameter of `GET /api/<resource>`, as the engine
//! takes it: `Policy::filter` (NUL refusal, check against the resource's
//! public fields, no `exists`), then `specialize` for the caller and SQL
//! for both dialects, on every resource of every example config. Nothing
//! may panic, loop or overflow the stack; a filter that checks must compile
//! to SQL, and no text value of the filter may reach the SQL text (values
//! are bound, never pasted).

use std::path::Path;
use std::sync::OnceLock;
use warden::config::Config;
use warden::policy::Policy;
use warden_policy::{Dialect, Principal, Residual, SqlTarget, Value};

const EXAMPLES: [(&str, &str); 5] = [
    ("posts", include_str!("../../examples/posts/warden.toml")),
    (
        "employees",
        include_str!("../../examples/employees/warden.toml"),
    ),
    ("teas", include_str!("../../examples/teas/warden.toml")),
    (
        "documents",
        include_str!("../../examples/documents/warden.toml"),
    ),
    (
        "articles",
        include_str!("../../examples/articles/warden.toml"),
    ),
];

struct Loaded {
    config: Config,
    policies: Vec<(Dialect, Policy)>,
}

fn loaded() -> &'static [Loaded] {
    static LOADED: OnceLock<Vec<Loaded>> = OnceLock::new();
    LOADED.get_or_init(|| {
        EXAMPLES
            .iter()
            .map(|(name, text)| {
                let path = Path::new("examples").join(name).join("warden.toml");
                let config = Config::parse(&path, text).expect("example config loads");
                let policies = [Dialect::Sqlite, Dialect::Postgres]
                    .into_iter()
                    .map(|d| (d, Policy::compile(&config, d).expect("example compiles")))
                    .collect();
                Loaded { config, policies }
            })
            .collect()
    })
}

fn callers() -> [Option<Principal>; 3] {
    [
        None,
        Some(Principal::with_id(Value::Int(2)).attribute("is_superuser", false)),
        Some(
            Principal::with_id(Value::Int(1))
                .attribute("is_superuser", true)
                .scope("admin:read")
                .role("admin"),
        ),
    ]
}

/// Text literals of the filter that are long enough to be recognised if
/// they were pasted into SQL.
fn quoted_texts(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for quote in ['\'', '"'] {
        let mut parts = text.split(quote);
        parts.next();
        while let Some(inside) = parts.next() {
            if inside.len() >= 4 && inside.chars().all(|c| c.is_ascii_alphanumeric()) {
                found.push(inside);
            }
            parts.next();
        }
    }
    found
}

/// One input: nothing may panic, loop or overflow the stack.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let literals = quoted_texts(text);
    for loaded in loaded() {
        for (dialect, policy) in &loaded.policies {
            for resource in loaded.config.resources.values() {
                let Ok(rule) = policy.filter(&resource.name, text) else {
                    continue;
                };
                for caller in callers() {
                    let residual = rule.specialize(caller.as_ref());
                    let target = SqlTarget::new(*dialect, resource.table.clone());
                    let (sql, _values) = residual
                        .to_sql_string(&target)
                        .unwrap_or_else(|e| panic!("filter {text:?} checks but has no SQL: {e}"));
                    if let Residual::Predicate(_) = residual {
                        for literal in &literals {
                            let column = resource.fields.contains_key(*literal)
                                || *literal == resource.table;
                            assert!(
                                column || !sql.contains(literal),
                                "value {literal:?} of filter {text:?} pasted into SQL: {sql}"
                            );
                        }
                    }
                }
            }
        }
    }
}
