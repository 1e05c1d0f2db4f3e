//! Requests that ask the database for a lot (OWASP API4): a list filter has
//! a budget (`[limits] max_filter_bytes`, `max_filter_terms`,
//! `max_filter_patterns`) refused with 400 `filter-too-complex` naming the
//! limit; a statement past `request_timeout` is stopped by the database
//! itself; a pool whose connections are all busy answers 503 with
//! `Retry-After`, never 500; a filter tests the caller only by what the
//! caller may read. SQLite and (with `WARDEN_TEST_POSTGRES`) PostgreSQL.

mod common;

use common::{Backend, PROBLEMS, TestApp, backends, example_config, with_query};
use reqwest::Method;
use serde_json::Value as Json;
use sqlx::Connection as _;
use std::time::Duration;
use warden::config::Config;

/// The posts example with a `[limits]` table added.
fn posts_with(limits: &str) -> Config {
    let path = example_config("posts");
    let text = std::fs::read_to_string(&path).expect("posts config");
    Config::parse(&path, &format!("{text}\n[limits]\n{limits}\n")).unwrap_or_else(|e| panic!("{e}"))
}

/// `count` text tests joined by `||` as a balanced tree: the shape the
/// parser's nesting cap does not stop.
fn balanced(count: usize, term: &dyn Fn(usize) -> String) -> String {
    fn join(terms: &[String]) -> String {
        match terms {
            [one] => one.clone(),
            _ => {
                let (left, right) = terms.split_at(terms.len() / 2);
                format!("({} || {})", join(left), join(right))
            }
        }
    }
    join(&(0..count).map(term).collect::<Vec<_>>())
}

fn icontains(i: usize) -> String {
    format!("icontains(row.title, 'zz{i}')")
}

async fn list(app: &TestApp, query: &[(&str, &str)]) -> (u16, Json) {
    let response = app
        .client
        .get(app.url(&with_query("/api/posts", query)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("list request: {}", e.without_url()));
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Json::String(text)),
    )
}

fn assert_too_complex(answer: &(u16, Json), limit: &str, allowed: u64) {
    let (status, body) = answer;
    assert_eq!(*status, 400, "{body}");
    assert_eq!(
        body["type"],
        format!("{PROBLEMS}filter-too-complex"),
        "{body}"
    );
    assert_eq!(body["limit"], limit, "{body}");
    assert_eq!(body["allowed"], allowed, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains(limit)),
        "{body}"
    );
}

#[tokio::test]
async fn filters_over_budget_get_400_filter_too_complex_naming_the_limit() {
    for backend in backends() {
        let app = TestApp::spawn(&example_config("posts"), backend, true).await;
        // The attack's shape (a balanced tree of text tests, which the
        // parser's nesting cap does not stop), at 400 tests and 16 KB.
        let attack = balanced(400, &|i| format!("icontains(row.title, '{i:0>20}')"));
        assert!(attack.len() > 15_000);
        assert_too_complex(
            &list(&app, &[("filter", &attack)]).await,
            "max_filter_bytes",
            2048,
        );
        // Short, but more text tests than the 8 allowed.
        let nine = balanced(9, &icontains);
        assert_too_complex(
            &list(&app, &[("filter", &nine)]).await,
            "max_filter_patterns",
            8,
        );
        // Short and without text tests, but more than 128 terms.
        let ids = (0..200).map(|i| i.to_string()).collect::<Vec<_>>();
        let many = format!("row.id in [{}]", ids.join(","));
        assert!(many.len() < 2048);
        assert_too_complex(
            &list(&app, &[("filter", &many)]).await,
            "max_filter_terms",
            128,
        );
        // A search is one more text test per searchable field (title).
        let eight = balanced(8, &icontains);
        let (status, body) = list(&app, &[("filter", &eight)]).await;
        assert_eq!(status, 200, "{body}");
        assert_too_complex(
            &list(&app, &[("filter", &eight), ("search", "hello")]).await,
            "max_filter_patterns",
            8,
        );
        let long_search = "a".repeat(3000);
        assert_too_complex(
            &list(&app, &[("search", &long_search)]).await,
            "max_filter_bytes",
            2048,
        );
    }
}

#[tokio::test]
async fn the_filter_budget_is_set_in_limits() {
    for backend in backends() {
        let app = TestApp::spawn_config(
            posts_with("max_filter_patterns = 16\nmax_filter_terms = 300\nmax_filter_bytes = 9000"),
            backend,
            true,
        )
        .await;
        let nine = balanced(9, &icontains);
        let (status, body) = list(&app, &[("filter", &nine)]).await;
        assert_eq!(status, 200, "{body}");
        let ids = (0..200).map(|i| i.to_string()).collect::<Vec<_>>();
        let (status, body) = list(
            &app,
            &[("filter", &format!("row.id in [{}]", ids.join(",")))],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_too_complex(
            &list(&app, &[("filter", &balanced(17, &icontains))]).await,
            "max_filter_patterns",
            16,
        );
    }
}

/// Adds `count` posts of user 21 with ids from 1,000, with text long
/// enough that each `LIKE` over them costs something.
async fn fill(app: &TestApp, count: u32) {
    let body = "lorem ipsum dolor sit amet ".repeat(12);
    let statement = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
         INSERT INTO posts (id, title, content, published, created_at, owner_id) \
         SELECT 1000 + i, 'Post number ' || i || ' {body}', '{body}', TRUE, \
         '2026-01-01T00:00:00.000000Z', 21 FROM n"
    );
    // On a connection of its own: the app's pool would stop it at the
    // short deadline these tests set.
    let statement = sqlx::AssertSqlSafe(statement);
    let url = app.database_url();
    match app.backend {
        Backend::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(url).await.expect("SQLite");
            sqlx::query(statement)
                .execute(&mut connection)
                .await
                .map(drop)
        }
        Backend::Postgres(_) => {
            let mut connection = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
            sqlx::query(statement)
                .execute(&mut connection)
                .await
                .map(drop)
        }
    }
    .expect("posts added");
}

/// Statements still running in the test's PostgreSQL database, but the
/// one asking.
async fn running_statements(app: &TestApp) -> i64 {
    let pool = app.app.store().postgres_pool().expect("PostgreSQL");
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()",
    )
    .fetch_one(pool)
    .await
    .expect("pg_stat_activity")
}

/// A filter the budget would refuse, let through by a raised budget, runs
/// past `request_timeout`: the answer is a 503 `timeout`, and the
/// database stops the statement (the connection is free again) instead
/// of running it to the end.
#[tokio::test]
async fn a_list_past_the_deadline_is_stopped_in_the_database() {
    for backend in backends() {
        let postgres = matches!(backend, Backend::Postgres(_));
        let app = TestApp::spawn_config(
            posts_with(
                "request_timeout = \"1s\"\nmax_filter_patterns = 5000\nmax_filter_terms = 20000\nmax_filter_bytes = 200000",
            ),
            backend,
            true,
        )
        .await;
        fill(&app, 50_000).await;
        // Many seconds of work: 400 text tests over 50,000 rows.
        let heavy = balanced(400, &|i| format!("icontains(row.content, 'q{i}')"));
        let (status, body) = list(&app, &[("filter", &heavy)]).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["type"], format!("{PROBLEMS}timeout"), "{body}");
        if postgres {
            // statement_timeout is the request's deadline: the statement
            // ends within moments of the answer.
            let mut running = running_statements(&app).await;
            for _ in 0..30 {
                if running == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                running = running_statements(&app).await;
            }
            assert_eq!(running, 0, "the timed-out list still runs in PostgreSQL");
        }
        let (status, _) = app.call(Method::GET, "/api/posts/1001", None, None).await;
        assert_eq!(status, 200);
    }
}

/// With every connection held by slow lists (searches allowed to take
/// them all here), a plain read waits for a connection at most 5 s and
/// is then answered 503 `overloaded` with `Retry-After`, not 500.
#[tokio::test]
async fn a_read_finding_every_connection_busy_gets_503_with_retry_after() {
    for backend in backends() {
        let app = TestApp::spawn_config(
            posts_with(
                "request_timeout = \"9s\"\nmax_searches = 64\nmax_filter_patterns = 5000\nmax_filter_terms = 20000\nmax_filter_bytes = 200000",
            ),
            backend,
            true,
        )
        .await;
        fill(&app, 50_000).await;
        let heavy = balanced(400, &|i| format!("icontains(row.content, 'q{i}')"));
        let mut hogs = Vec::new();
        for _ in 0..12 {
            let client = app.client.clone();
            let url = app.url(&with_query("/api/posts", &[("filter", &heavy)]));
            hogs.push(tokio::spawn(async move { client.get(url).send().await }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let reply = app
            .raw(Method::GET, "/api/posts/1001", None, &[], None)
            .await;
        reply.assert_problem(503, "overloaded", "a read with every connection busy");
        assert_eq!(reply.header("retry-after"), Some("1"));
        for hog in hogs {
            let answer = hog.await.expect("hog task").expect("hog answer");
            assert_eq!(answer.status(), 503);
        }
    }
}

/// A filter may test the caller only by attributes the caller may read:
/// a hidden field of the users resource is unknown to it, as it is
/// absent from `/auth/me`.
#[tokio::test]
async fn a_filter_cannot_test_the_callers_hidden_attributes() {
    for backend in backends() {
        let app = TestApp::spawn(&common::fixture_config("ui_employees"), backend, true).await;
        let token = app.login("weijing.showalter@example.com").await;
        let probe = |filter: &'static str| {
            let app = &app;
            let token = token.clone();
            async move {
                let response = app
                    .client
                    .get(app.url(&with_query("/api/employees", &[("filter", filter)])))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("list");
                let status = response.status().as_u16();
                (status, response.json::<Json>().await.expect("json"))
            }
        };
        let (status, body) = probe("user.badge_pin == 'PIN-10001-SECRET'").await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["type"], format!("{PROBLEMS}invalid-query"), "{body}");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("badge_pin")),
            "{body}"
        );
        // What the caller may read of themselves stays usable.
        let (status, body) = probe("row.email == user.email").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["items"].as_array().map(Vec::len), Some(1), "{body}");
    }
}
