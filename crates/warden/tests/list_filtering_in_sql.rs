//! Issue 3, "Done when": list filtering happens in SQL. With 100,000 notes
//! of which the caller may see 10 (`rules.list = rules.read =
//! "row.owner_id == user.id"`), the list returns exactly those 10; the one
//! statement the store ran for it (captured from sqlx's own statement log,
//! not rebuilt here) carries the rule in its WHERE clause with the user id
//! bound, and the database handed back only those 10 rows; and the plan of
//! that very statement uses the owner index (`EXPLAIN QUERY PLAN` on
//! SQLite: `SEARCH notes USING INDEX ix_notes_owner_id`, no table `SCAN`;
//! `EXPLAIN` on PostgreSQL: an index scan on it, no `Seq Scan`).
//!
//! Issue 8: the same for the ACL-shaped rule `row.author_id == user.id ||
//! exists(acl where it.article_id == row.id && it.user_id == user.id)` on
//! 100,000 articles, of which the caller sees 110 (10 authored, 100
//! granted). Every page, followed by its cursor, is exactly the next 20 of
//! those in key order; and page 1 is read per alternative, each from an
//! index in key order up to the LIMIT: on SQLite no step of the plan sorts
//! (`USE TEMP B-TREE FOR ORDER BY`) or scans a table, so its cost does not
//! grow with the rows the caller may see.

mod common;

use common::statements::{self, Ran};
use common::{Backend, TestApp, backends, fixture_config};
use reqwest::Method;
use serde_json::{Value as Json, json};
use std::time::Instant;

const ROWS: i64 = 100_000;
/// User 1 owns every 10,000th note: 10 of them.
const EVERY: i64 = 10_000;
/// User 1 is granted every 1,000th article, offset by 500: 100 of them.
const GRANT_EVERY: i64 = 1_000;

async fn insert_notes(app: &TestApp) {
    let started = Instant::now();
    let store = app.app.store();
    match &app.backend {
        Backend::Sqlite => {
            let pool = store.sqlite_pool().expect("sqlite pool");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {ROWS}) \
                 INSERT INTO notes (title, owner_id) \
                 SELECT 'note ' || x, CASE WHEN x % {EVERY} = 0 THEN 1 ELSE 2 END FROM n"
            )))
            .execute(pool)
            .await
            .expect("insert notes");
            sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
        }
        Backend::Postgres(_) => {
            let pool = store.postgres_pool().expect("postgres pool");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO notes (title, owner_id) \
                 SELECT 'note ' || x, CASE WHEN x % {EVERY} = 0 THEN 1 ELSE 2 END \
                 FROM generate_series(1, {ROWS}) AS x"
            )))
            .execute(pool)
            .await
            .expect("insert notes");
            sqlx::query("ANALYZE notes")
                .execute(pool)
                .await
                .expect("analyze");
        }
    }
    eprintln!(
        "{:?}: {ROWS} notes inserted in {:?}",
        app.backend,
        started.elapsed()
    );
}

/// Number of bind parameters in `sql` (`?` on SQLite, `$n` on PostgreSQL).
fn parameters(sql: &str, backend: &Backend) -> usize {
    match backend {
        Backend::Sqlite => sql.matches('?').count(),
        Backend::Postgres(_) => (1..100)
            .take_while(|n| sql.contains(&format!("${n}")))
            .count(),
    }
}

/// The plan of `sql` with every parameter bound to `value`, one line per
/// plan node.
async fn plan(app: &TestApp, sql: &str, value: i64) -> Vec<String> {
    let count = parameters(sql, &app.backend);
    let store = app.app.store();
    match &app.backend {
        Backend::Sqlite => {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(explain));
            for _ in 0..count {
                query = query.bind(value);
            }
            let rows = query
                .fetch_all(store.sqlite_pool().expect("pool"))
                .await
                .expect("explain query plan");
            rows.iter()
                .map(|row| sqlx::Row::get::<String, _>(row, "detail"))
                .collect()
        }
        Backend::Postgres(_) => {
            let explain = format!("EXPLAIN {sql}");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(explain));
            for _ in 0..count {
                query = query.bind(value);
            }
            let rows = query
                .fetch_all(store.postgres_pool().expect("pool"))
                .await
                .expect("explain");
            rows.iter()
                .map(|row| sqlx::Row::get::<String, _>(row, 0))
                .collect()
        }
    }
}

async fn scenario(app: TestApp) {
    let backend = format!("{:?}", app.backend);
    insert_notes(&app).await;
    let token = app.login("few@example.com").await;

    statements::clear();
    let started = Instant::now();
    let (status, page) = app
        .call(Method::GET, "/api/notes?limit=100", Some(&token), None)
        .await;
    let elapsed = started.elapsed();
    let ran = statements::take();
    assert_eq!(status, 200, "{backend}: {page}");

    // Exactly the caller's 10 rows, in key order, on one page.
    let items = page["items"].as_array().expect("items");
    let ids: Vec<Json> = items.iter().map(|i| i["id"].clone()).collect();
    let expected: Vec<Json> = (1..=ROWS / EVERY).map(|k| json!(k * EVERY)).collect();
    assert_eq!(ids, expected, "{backend}: the 10 notes of user 1");
    assert!(items.iter().all(|i| i["owner_id"] == 1), "{backend}");
    assert_eq!(page["next"], Json::Null, "{backend}: nothing more");

    // The one statement that read notes, as the store ran it.
    let reads: Vec<&Ran> = ran
        .iter()
        .filter(|r| {
            let sql = r.sql.to_ascii_uppercase();
            sql.trim_start().starts_with("SELECT") && sql.contains("FROM \"NOTES\"")
        })
        .collect();
    assert_eq!(
        reads.len(),
        1,
        "{backend}: one SELECT on notes per list; statements run: {ran:#?}"
    );
    let read = reads[0];
    let sql = &read.sql;
    eprintln!("{backend}: the list ran in {elapsed:?}:\n{sql}");
    let upper = sql.to_ascii_uppercase();
    let where_at = upper
        .find(" WHERE ")
        .unwrap_or_else(|| panic!("{backend}: the list statement has no WHERE clause: {sql}"));
    let where_clause = &sql[where_at..upper.find(" ORDER BY ").unwrap_or(sql.len())];
    let placeholder = match app.backend {
        Backend::Sqlite => "?",
        Backend::Postgres(_) => "$",
    };
    assert!(
        where_clause.contains(&format!("\"notes\".\"owner_id\" = {placeholder}")),
        "{backend}: the owner rule is in the WHERE clause with the user id bound: {where_clause}"
    );
    assert!(
        !where_clause.contains("= 1 ") && !where_clause.ends_with("= 1"),
        "{backend}: no pasted value: {where_clause}"
    );
    // The database, not Rust, dropped the other 99,990 rows.
    assert_eq!(
        read.rows_returned,
        Some(10),
        "{backend}: rows the database returned for: {sql}"
    );

    // The plan of that very statement uses the owner index.
    let lines = plan(&app, sql, 1).await;
    let text = lines.join("\n");
    eprintln!("{backend}: plan:\n{text}");
    match app.backend {
        Backend::Sqlite => {
            assert!(
                lines.iter().any(|l| l.starts_with("SEARCH")
                    && l.contains("USING")
                    && l.contains("INDEX ix_notes_owner_id")),
                "{backend}: no SEARCH using the owner index:\n{text}"
            );
            assert!(
                !lines.iter().any(|l| l.starts_with("SCAN notes")),
                "{backend}: the plan scans the table:\n{text}"
            );
        }
        Backend::Postgres(_) => {
            assert!(
                text.contains("ix_notes_owner_id"),
                "{backend}: the plan does not use the owner index:\n{text}"
            );
            assert!(
                !text.contains("Seq Scan on notes"),
                "{backend}: the plan scans the table:\n{text}"
            );
        }
    }

    // The other owner's list is capped at the page size, also in SQL.
    let many = app.login("many@example.com").await;
    statements::clear();
    let (status, page) = app
        .call(Method::GET, "/api/notes?limit=100", Some(&many), None)
        .await;
    let ran = statements::take();
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(100));
    assert!(
        page["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|i| i["owner_id"] == 2)),
        "{backend}"
    );
    let read = ran
        .iter()
        .find(|r| r.sql.contains("FROM \"notes\""))
        .expect("the list statement");
    assert_eq!(
        read.rows_returned,
        Some(101),
        "{backend}: one row past the page, to know there is a next page"
    );
}

#[tokio::test]
async fn list_of_100k_rows_returns_the_callers_10_filtered_in_sql_by_an_index() {
    let _serial = statements::one_at_a_time().await;
    statements::capture();
    for backend in backends() {
        let app = TestApp::spawn(&fixture_config("owned"), backend, true).await;
        scenario(app).await;
    }
}

/// 100,000 articles (user 1 authors every 10,000th, user 2 the rest) and
/// user 1's 100 grants (articles 500, 1500, …), in one statement each.
async fn insert_articles(app: &TestApp) {
    let store = app.app.store();
    let articles = format!(
        "INSERT INTO articles (title, author_id) \
         SELECT 'article ' || x, CASE WHEN x % {EVERY} = 0 THEN 1 ELSE 2 END FROM n"
    );
    let grants = format!(
        "INSERT INTO acl (article_id, user_id) \
         SELECT x * {GRANT_EVERY} - {half}, 1 FROM n WHERE x <= {count}",
        half = GRANT_EVERY / 2,
        count = ROWS / GRANT_EVERY
    );
    match &app.backend {
        Backend::Sqlite => {
            let pool = store.sqlite_pool().expect("sqlite pool");
            let numbers = format!(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {ROWS}) "
            );
            for sql in [&articles, &grants] {
                sqlx::query(sqlx::AssertSqlSafe(format!("{numbers}{sql}")))
                    .execute(pool)
                    .await
                    .expect("insert");
            }
            sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
        }
        Backend::Postgres(_) => {
            let pool = store.postgres_pool().expect("postgres pool");
            let numbers = format!("WITH n(x) AS (SELECT generate_series(1, {ROWS})) ");
            for sql in [&articles, &grants] {
                sqlx::query(sqlx::AssertSqlSafe(format!("{numbers}{sql}")))
                    .execute(pool)
                    .await
                    .expect("insert");
            }
            sqlx::query("ANALYZE articles, acl")
                .execute(pool)
                .await
                .expect("analyze");
        }
    }
}

/// The ids user 1 may see, in key order.
fn visible_articles() -> Vec<i64> {
    let mut ids: Vec<i64> = (1..=ROWS / EVERY).map(|k| k * EVERY).collect();
    ids.extend((1..=ROWS / GRANT_EVERY).map(|k| k * GRANT_EVERY - GRANT_EVERY / 2));
    ids.sort_unstable();
    ids
}

async fn acl_scenario(app: TestApp) {
    let backend = format!("{:?}", app.backend);
    insert_articles(&app).await;
    let token = app.login("few@example.com").await;

    // Every page, cursor after cursor: the caller's 110 rows in order.
    statements::clear();
    let mut seen = Vec::new();
    let mut path = "/api/articles?limit=20".to_owned();
    let mut first_page = None;
    loop {
        let (status, page) = app.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(status, 200, "{backend}: {page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 20, "{backend}");
        seen.extend(items.iter().map(|i| i["id"].as_i64().expect("id")));
        if first_page.is_none() {
            first_page = Some(statements::take());
        }
        match page["next"].as_str() {
            Some(cursor) => path = format!("/api/articles?limit=20&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, visible_articles(), "{backend}: all pages, in order");

    // Page 1's one statement on articles, and its plan.
    let ran = first_page.expect("a first page");
    let reads: Vec<&Ran> = ran
        .iter()
        .filter(|r| {
            let sql = r.sql.to_ascii_uppercase();
            sql.trim_start().starts_with("SELECT") && sql.contains("FROM \"ARTICLES\"")
        })
        .collect();
    assert_eq!(reads.len(), 1, "{backend}: one SELECT per list: {ran:#?}");
    let read = reads[0];
    assert_eq!(
        read.rows_returned,
        Some(21),
        "{backend}: the page and one more row: {}",
        read.sql
    );
    let sql = &read.sql;
    eprintln!("{backend}: the ACL list page 1:\n{sql}");
    let lines = plan(&app, sql, 1).await;
    let text = lines.join("\n");
    eprintln!("{backend}: plan:\n{text}");
    match app.backend {
        Backend::Sqlite => {
            assert!(
                !text.contains("FOR ORDER BY"),
                "{backend}: a step sorts what it read:\n{text}"
            );
            assert!(
                !lines
                    .iter()
                    .any(|l| l.starts_with("SCAN articles") || l.starts_with("SCAN w_it0")),
                "{backend}: the plan scans a table:\n{text}"
            );
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains("INDEX ix_acl_user_id_article_id (user_id=?")),
                "{backend}: the grants are not walked by (user_id, article_id):\n{text}"
            );
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains("INDEX ix_articles_author_id (author_id=?")),
                "{backend}: the authored rows are not read by the author index:\n{text}"
            );
        }
        Backend::Postgres(_) => {
            assert!(
                !text.contains("Seq Scan on articles"),
                "{backend}: the plan scans the table:\n{text}"
            );
            assert!(
                text.contains("ix_acl_user_id_article_id"),
                "{backend}: the grants are not walked by (user_id, article_id):\n{text}"
            );
        }
    }
}

#[tokio::test]
async fn acl_list_of_100k_rows_pages_the_callers_110_each_alternative_read_from_an_index() {
    let _serial = statements::one_at_a_time().await;
    statements::capture();
    for backend in backends() {
        let app = TestApp::spawn(&fixture_config("owned"), backend, true).await;
        acl_scenario(app).await;
    }
}
