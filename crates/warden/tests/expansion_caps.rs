//! Capped expansions: a to-many `?expand=` shows at most the related
//! resource's `max_page_size` rows per parent, on a read and on every row
//! of a list, says so (`<relation>@next`: null when nothing more, else a
//! link to the related resource's own list, filtered to the parent and
//! starting after the last row shown), and the database hands back no
//! more than page × (cap + 1) rows however many a parent has. On the
//! `capped` fixture, SQLite and PostgreSQL.

mod common;

use common::statements::{self, Ran};
use common::{Backend, TestApp, backends, fixture_config};
use reqwest::Method;
use serde_json::{Value as Json, json};

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn(&fixture_config("capped"), backend, true).await
}

fn ids(rows: &Json) -> Vec<i64> {
    rows.as_array()
        .expect("an array")
        .iter()
        .map(|row| row["id"].as_i64().expect("id"))
        .collect()
}

/// The rows of a capped expansion and of every page its link leads to.
async fn all_through_links(
    app: &TestApp,
    token: Option<&str>,
    first: &Json,
    next: &Json,
) -> Vec<Vec<i64>> {
    let mut pages = vec![ids(first)];
    let mut next = next.clone();
    while let Some(link) = next.as_str() {
        let (status, page) = app.call(Method::GET, link, token, None).await;
        assert_eq!(status, 200, "{link}: {page}");
        pages.push(ids(&page["items"]));
        next = match page["next"].as_str() {
            // The list's own cursor, with the same filter.
            Some(cursor) => {
                let (path, _) = link.split_once("&cursor=").expect("a cursor");
                Json::String(format!("{path}&cursor={cursor}"))
            }
            None => Json::Null,
        };
    }
    pages
}

#[tokio::test]
async fn a_to_many_expansion_of_one_row_is_capped_with_a_link_to_the_rest() {
    let _serial = statements::one_at_a_time().await;
    for backend in backends() {
        let app = spawn(backend).await;
        let user = app.login("user@example.com").await;
        // Thread 1 has 7 replies; reply 2 is private (hidden from
        // anonymous callers). The cap is 3.
        for (token, want) in [
            (None, vec![vec![1, 3, 4], vec![5, 6, 7]]),
            (
                Some(user.as_str()),
                vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]],
            ),
        ] {
            let context = format!("{:?} as {token:?}", app.backend);
            let (status, thread) = app
                .call(Method::GET, "/api/threads/1?expand=replies", token, None)
                .await;
            assert_eq!(status, 200, "{context}: {thread}");
            let next = &thread["replies@next"];
            assert!(
                next.as_str()
                    .is_some_and(|l| l.starts_with("/api/replies?filter=")),
                "{context}: {thread}"
            );
            let pages = all_through_links(&app, token, &thread["replies"], next).await;
            assert_eq!(pages, want, "{context}");
        }
        // Exactly the cap: nothing more, and the answer says so.
        let (_, thread) = app
            .call(Method::GET, "/api/threads/2?expand=replies", None, None)
            .await;
        assert_eq!(ids(&thread["replies"]), [8, 9, 10]);
        assert_eq!(thread["replies@next"], Json::Null, "{thread}");
    }
}

#[tokio::test]
async fn every_row_of_a_list_has_its_expansion_capped() {
    let _serial = statements::one_at_a_time().await;
    for backend in backends() {
        let app = spawn(backend).await;
        let context = format!("{:?}", app.backend);
        let (status, page) = app
            .call(Method::GET, "/api/threads?expand=replies", None, None)
            .await;
        assert_eq!(status, 200, "{context}: {page}");
        let items = page["items"].as_array().expect("items");
        assert_eq!(ids(&items[0]["replies"]), [1, 3, 4], "{context}");
        assert!(items[0]["replies@next"].is_string(), "{context}: {page}");
        assert_eq!(ids(&items[1]["replies"]), [8, 9, 10], "{context}");
        assert_eq!(items[1]["replies@next"], Json::Null, "{context}");
        // The next page of threads: one without replies, one over the cap.
        let cursor = page["next"].as_str().expect("a second page");
        let path = format!("/api/threads?expand=replies&cursor={cursor}");
        let (_, page) = app.call(Method::GET, &path, None, None).await;
        let items = page["items"].as_array().expect("items");
        assert_eq!(items[0]["replies"], json!([]), "{context}");
        assert_eq!(items[0]["replies@next"], Json::Null, "{context}");
        let rest =
            all_through_links(&app, None, &items[1]["replies"], &items[1]["replies@next"]).await;
        assert_eq!(rest, [vec![11, 12, 13], vec![14]], "{context}");
    }
}

#[tokio::test]
async fn the_link_to_the_rest_filters_by_a_text_key_with_quotes() {
    let _serial = statements::one_at_a_time().await;
    for backend in backends() {
        let app = spawn(backend).await;
        let context = format!("{:?}", app.backend);
        let (status, page) = app
            .call(Method::GET, "/api/topics?expand=notes", None, None)
            .await;
        assert_eq!(status, 200, "{context}: {page}");
        let topic = &page["items"][0];
        assert_eq!(topic["id"], r"o'neil \ tea", "{context}");
        let pages = all_through_links(&app, None, &topic["notes"], &topic["notes@next"]).await;
        assert_eq!(pages, [vec![1, 2], vec![3, 4], vec![5]], "{context}");
    }
}

#[tokio::test]
async fn a_via_no_filter_may_test_says_only_that_more_exist() {
    let _serial = statements::one_at_a_time().await;
    for backend in backends() {
        let app = spawn(backend).await;
        // drafts.topic_id has a field rule: a list filter may not test it,
        // so there is no link, only the word that more exist.
        let (status, page) = app
            .call(Method::GET, "/api/topics?expand=drafts", None, None)
            .await;
        assert_eq!(status, 200, "{page}");
        let topic = &page["items"][0];
        assert_eq!(ids(&topic["drafts"]), [1], "{page}");
        assert_eq!(topic["drafts@next"], json!(true), "{page}");
    }
}

/// With 2,000 more replies on thread 1, a page of threads expanding their
/// replies still has the database hand back at most page × (cap + 1)
/// replies: the cap is applied in each parent's own `LIMIT`, not after
/// reading every row.
#[tokio::test]
async fn a_list_with_expansions_reads_at_most_page_times_cap_rows() {
    let _serial = statements::one_at_a_time().await;
    statements::capture();
    for backend in backends() {
        let app = spawn(backend).await;
        add_replies(&app, 2_000).await;
        statements::clear();
        let (status, page) = app
            .call(Method::GET, "/api/threads?expand=replies", None, None)
            .await;
        let ran = statements::take();
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page["items"][0]["replies"]), [1, 3, 4]);
        let replies: Vec<&Ran> = ran
            .iter()
            .filter(|r| r.sql.contains(r#"FROM "replies""#))
            .collect();
        assert_eq!(replies.len(), 1, "one statement for the page: {ran:#?}");
        let returned = replies[0].rows_returned.expect("rows_returned logged");
        // 2 threads on the page, the cap 3, one more to know of the rest.
        assert!(returned <= 2 * (3 + 1), "{returned} rows: {ran:#?}");
    }
}

async fn add_replies(app: &TestApp, count: i64) {
    let store = app.app.store();
    match &app.backend {
        Backend::Sqlite => {
            let pool = store.sqlite_pool().expect("sqlite pool");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {count}) \
                 INSERT INTO replies (thread_id, body) SELECT 1, 'bulk ' || x FROM n"
            )))
            .execute(pool)
            .await
            .expect("insert replies");
        }
        Backend::Postgres(_) => {
            let pool = store.postgres_pool().expect("postgres pool");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO replies (thread_id, body) \
                 SELECT 1, 'bulk ' || x FROM generate_series(1, {count}) AS x"
            )))
            .execute(pool)
            .await
            .expect("insert replies");
        }
    }
}
