//! The `filter` query parameter of `GET /api/<resource>`, as the engine
//! takes it: `Policy::filter` (NUL refusal, the `[limits]` filter budget,
//! check against the resource's public fields, no `exists`), then
//! `specialize` for the caller and SQL for both dialects, on every
//! resource of every example config. Nothing may panic, loop or overflow
//! the stack; a filter that checks must compile to SQL, and no text value
//! of the filter may reach the SQL text (values are bound, never pasted).
//!
//! The cost oracle: an accepted filter is within the budget as counted on
//! what it costs the database (its length, the `LIKE`s and the bound
//! values of its SQL), and, run as a list of the posts example over
//! [`ROWS`] rows through the whole engine (`Guard::list`), it answers
//! within [`DEADLINE`].

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use warden::config::{Config, FilterBudget};
use warden::policy::Policy;
use warden_policy::{Dialect, Principal, Residual, SqlTarget, Value};

/// Posts in the database the cost oracle lists.
pub const ROWS: i64 = 100_000;

/// The longest an accepted filter's list may take on [`ROWS`] rows. The
/// default budget's worst filter (8 `icontains` over long text, none
/// matching, so every row is read) takes about a quarter of it in a
/// release build on a 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(2);

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

/// The `'…'` string literals of SQL text: where a value pasted into it
/// would stand (identifiers are double-quoted, so a value that happens to
/// be part of a column or function name is no paste).
fn sql_string_literals(sql: &str) -> Vec<&str> {
    sql.split('\'').skip(1).step_by(2).collect()
}

/// One input with every oracle, the database's included.
pub fn run(data: &[u8]) {
    if check(data) {
        list_within_deadline(data);
    }
}

/// One input with the oracles that need no database (CI replays many
/// mutations in a debug build, where SQLite itself is unoptimised).
pub fn run_without_database(data: &[u8]) {
    check(data);
}

/// The in-memory oracles; whether the posts example accepted the filter.
fn check(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let literals = quoted_texts(text);
    let mut accepted_on_posts = false;
    for loaded in loaded() {
        let budget = loaded.config.limits.filter;
        for (dialect, policy) in &loaded.policies {
            for resource in loaded.config.resources.values() {
                let Ok(rule) = policy.filter(&resource.name, text, &budget) else {
                    continue;
                };
                accepted_on_posts |=
                    loaded.config.path.starts_with("examples/posts") && resource.name == "posts";
                assert!(
                    text.len() <= budget.max_bytes as usize,
                    "filter of {} bytes accepted: {text:?}",
                    text.len()
                );
                for caller in callers() {
                    let residual = rule.specialize(caller.as_ref());
                    let target = SqlTarget::new(*dialect, resource.table.clone());
                    let (sql, values) = residual
                        .to_sql_string(&target)
                        .unwrap_or_else(|e| panic!("filter {text:?} checks but has no SQL: {e}"));
                    within_budget(text, &sql, values.0.len(), &budget);
                    if let Residual::Predicate(_) = residual {
                        let pasted = sql_string_literals(&sql);
                        for literal in &literals {
                            assert!(
                                !pasted.iter().any(|text| text.contains(literal)),
                                "value {literal:?} of filter {text:?} pasted into SQL: {sql}"
                            );
                        }
                    }
                }
            }
        }
    }
    accepted_on_posts
}

/// What the database is asked, counted on the SQL: no more `LIKE`s than
/// the pattern budget, no more bound values than the term budget.
fn within_budget(text: &str, sql: &str, values: usize, budget: &FilterBudget) {
    let likes = sql.matches(" LIKE ").count();
    assert!(
        likes <= budget.max_patterns as usize,
        "filter {text:?} accepted with {likes} LIKEs: {sql}"
    );
    assert!(
        values <= budget.max_terms as usize,
        "filter {text:?} accepted with {values} bound values: {sql}"
    );
}

/// The posts example on an in-memory SQLite database of [`ROWS`] posts
/// (titles and bodies of a few hundred bytes), and a runtime to drive it.
fn posts() -> &'static (tokio::runtime::Runtime, warden::Warden) {
    static POSTS: OnceLock<(tokio::runtime::Runtime, warden::Warden)> = OnceLock::new();
    POSTS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let warden = runtime.block_on(async {
            let config = loaded()[0].config.clone();
            let store = warden::store::Store::connect(
                &warden::store::DatabaseTarget::SqliteMemory,
                config.limits.request_timeout,
            )
            .await
            .expect("an in-memory database");
            store.migrate(&config).await.expect("the posts example migrates");
            let pool = store.sqlite_pool().expect("SQLite").clone();
            for statement in [
                "INSERT INTO users (id, email, password, is_superuser) VALUES (1, 'a@example.com', 'x', 0)",
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
                 INSERT INTO posts (id, title, content, published, created_at, owner_id) \
                 SELECT i, 'Title number ' || i || ' of the fuzzed list', \
                 'Body ' || i || ' ' || printf('%.300c', 'x'), i % 2, '2026-01-01T00:00:00.000000Z', 1 FROM n",
            ] {
                sqlx::query(statement)
                    .execute(&pool)
                    .await
                    .expect("the fuzz database fills");
            }
            let app = warden::app::App::new(config, store, b"fuzz-secret-fuzz-secret-fuzz-secret!")
                .expect("the posts example starts");
            warden::Warden::from(app)
        });
        (runtime, warden)
    })
}

/// An accepted filter, listed as an anonymous caller would through the
/// whole engine, answers within [`DEADLINE`] and is never a server error.
fn list_within_deadline(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (runtime, warden) = posts();
    let params = warden::ListQuery {
        filter: Some(text.to_owned()),
        ..Default::default()
    };
    let started = Instant::now();
    let answer = runtime.block_on(warden.guard(None).list("posts", &params));
    let took = started.elapsed();
    if let Err(error) = &answer {
        assert!(
            error.status().is_client_error(),
            "filter {text:?} answered {error}"
        );
    }
    assert!(
        took < DEADLINE,
        "filter {text:?} took {took:?} over {ROWS} rows"
    );
}
