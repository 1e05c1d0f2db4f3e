//! Lists: page sizes and their cap, keyset cursors that walk every row
//! exactly once in order (ascending, descending, over a nullable field with
//! ties), `filter` ANDed with the rules, `search`, `expand` of to-one and
//! to-many relations under the target's rules, and per-row field rules in
//! lists, single reads and expansions.
//!
//! Kitchen seed: users 1 admin (superuser), 2 alice, 3 bob, 4 auditor
//! (scope admin:read); items 1–12 (prices: 1→1.5, 2→1.5, 3→null, 4→0.25,
//! 5→9, 6→null, 7→4, 8→3, 9→null, 10→7.5, 11→0.5, 12→12); tags on item 1:
//! 1 public (alice), 2 private (alice), 3 private (bob); tag 4 public on
//! item 3; vaults 1 (alice), 2 (bob).

mod common;

use common::{TestApp, field_values, fixture_config, on_each_backend, with_query};
use reqwest::Method;
use serde_json::{Value as Json, json};

async fn on_kitchen<F, Fut>(scenario: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    common::on_each_backend_config(&fixture_config("kitchen"), scenario).await;
}

fn ids(values: &[i64]) -> Vec<Json> {
    values.iter().map(|v| json!(v)).collect()
}

/// Follows `next` from the first page of `path` (with `limit`) to the end;
/// returns every item, in order.
async fn walk(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    token: Option<&str>,
) -> Vec<Json> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut query: Vec<(&str, &str)> = params.to_vec();
        if let Some(cursor) = cursor.as_deref() {
            query.push(("cursor", cursor));
        }
        let url = with_query(path, &query);
        let (status, page) = app.call(Method::GET, &url, token, None).await;
        assert_eq!(status, 200, "{:?}: GET {url}: {page}", app.backend);
        let items = page["items"].as_array().expect("items");
        all.extend(items.iter().cloned());
        match page["next"].as_str() {
            Some(next) => {
                assert!(!items.is_empty(), "a page with a next cursor has items");
                cursor = Some(next.to_owned());
            }
            None => return all,
        }
    }
    panic!("more than 100 pages: the cursor does not advance");
}

// ------------------------------------------------------------ pagination

#[tokio::test]
async fn limit_defaults_to_page_size_and_is_capped_at_max_page_size() {
    on_kitchen(|app| async move {
        let (_, page) = app.call(Method::GET, "/api/items", None, None).await;
        assert_eq!(
            page["items"].as_array().map(Vec::len),
            Some(5),
            "page_size 5"
        );
        assert!(page["next"].is_string());
        for limit in ["10", "11", "1000", "4294967296"] {
            let path = with_query("/api/items", &[("limit", limit)]);
            let (status, page) = app.call(Method::GET, &path, None, None).await;
            if limit == "4294967296" && status == 400 {
                continue; // beyond u32: refusing is fine too
            }
            assert_eq!(status, 200, "limit={limit}: {page}");
            assert_eq!(
                page["items"].as_array().map(Vec::len),
                Some(10),
                "limit={limit} capped at max_page_size 10"
            );
            assert!(page["next"].is_string(), "12 rows: a second page");
        }
        let (_, page) = app
            .call(Method::GET, "/api/items?limit=3", None, None)
            .await;
        assert_eq!(
            field_values(page["items"].as_array().expect("array"), "id"),
            ids(&[1, 2, 3])
        );
    })
    .await;
}

#[tokio::test]
async fn last_page_has_null_next() {
    on_kitchen(|app| async move {
        let (_, page) = app
            .call(Method::GET, "/api/items?limit=10", None, None)
            .await;
        let next = page["next"].as_str().expect("next").to_owned();
        let path = with_query("/api/items", &[("limit", "10"), ("cursor", &next)]);
        let (_, page) = app.call(Method::GET, &path, None, None).await;
        assert_eq!(
            field_values(page["items"].as_array().expect("array"), "id"),
            ids(&[11, 12])
        );
        assert_eq!(page["next"], Json::Null);
    })
    .await;
}

#[tokio::test]
async fn exactly_full_last_page_has_null_next() {
    on_each_backend("posts", |app| async move {
        let (_, page) = app
            .call(Method::GET, "/api/posts?limit=4", None, None)
            .await;
        assert_eq!(page["items"].as_array().map(Vec::len), Some(4));
        assert_eq!(page["next"], Json::Null, "4 posts, limit 4: no next page");
        let (_, page) = app
            .call(Method::GET, "/api/posts?limit=2", None, None)
            .await;
        assert!(page["next"].is_string());
    })
    .await;
}

#[tokio::test]
async fn cursor_walks_every_row_once_in_key_order() {
    on_kitchen(|app| async move {
        for limit in ["1", "2", "5", "10"] {
            let items = walk(&app, "/api/items", &[("limit", limit)], None).await;
            assert_eq!(
                field_values(&items, "id"),
                ids(&(1..=12).collect::<Vec<_>>()),
                "limit {limit}"
            );
        }
        let items = walk(&app, "/api/items", &[("limit", "5"), ("sort", "-id")], None).await;
        assert_eq!(
            field_values(&items, "id"),
            ids(&(1..=12).rev().collect::<Vec<_>>())
        );
    })
    .await;
}

#[tokio::test]
async fn cursor_walks_a_nullable_sort_field_with_ties_when_no_page_ends_on_a_null() {
    on_kitchen(|app| async move {
        // Descending, nulls last at positions 10–12: pages of 3 and 4 end
        // on non-null prices (positions 3, 6, 9 / 4, 8).
        let expected = ids(&[12, 5, 10, 7, 8, 2, 1, 11, 4, 9, 6, 3]);
        for limit in ["3", "4"] {
            let items = walk(
                &app,
                "/api/items",
                &[("limit", limit), ("sort", "-price")],
                None,
            )
            .await;
            assert_eq!(
                field_values(&items, "id"),
                expected,
                "sort=-price limit {limit}"
            );
        }
        // Ascending, nulls first at positions 1–3: pages of 4 and 5 end on
        // non-null prices (positions 4, 8 / 5, 10).
        let expected = ids(&[3, 6, 9, 4, 11, 1, 2, 8, 7, 10, 5, 12]);
        for limit in ["4", "5", "10"] {
            let items = walk(
                &app,
                "/api/items",
                &[("limit", limit), ("sort", "price")],
                None,
            )
            .await;
            assert_eq!(
                field_values(&items, "id"),
                expected,
                "sort=price limit {limit}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn cursor_walks_a_nullable_sort_field_with_ties_ascending_nulls_first() {
    on_kitchen(|app| async move {
        let expected = ids(&[3, 6, 9, 4, 11, 1, 2, 8, 7, 10, 5, 12]);
        for limit in ["1", "2", "3", "5", "10"] {
            let items = walk(
                &app,
                "/api/items",
                &[("limit", limit), ("sort", "price")],
                None,
            )
            .await;
            assert_eq!(
                field_values(&items, "id"),
                expected,
                "sort=price limit {limit}"
            );
        }
        let items = walk(
            &app,
            "/api/items",
            &[("limit", "4"), ("sort", "+price")],
            None,
        )
        .await;
        assert_eq!(field_values(&items, "id"), expected, "sort=+price");
    })
    .await;
}

#[tokio::test]
async fn cursor_walks_a_nullable_sort_field_descending_nulls_last() {
    on_kitchen(|app| async move {
        let expected = ids(&[12, 5, 10, 7, 8, 2, 1, 11, 4, 9, 6, 3]);
        for limit in ["1", "2", "3", "5", "10"] {
            let items = walk(
                &app,
                "/api/items",
                &[("limit", limit), ("sort", "-price")],
                None,
            )
            .await;
            assert_eq!(
                field_values(&items, "id"),
                expected,
                "sort=-price limit {limit}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn cursor_walks_text_and_integer_sorts_consistently() {
    on_kitchen(|app| async move {
        for sort in ["name", "-name", "qty", "-qty", "code", "-code"] {
            let small = walk(&app, "/api/items", &[("limit", "2"), ("sort", sort)], None).await;
            let large = walk(&app, "/api/items", &[("limit", "10"), ("sort", sort)], None).await;
            let small_ids = field_values(&small, "id");
            assert_eq!(small_ids, field_values(&large, "id"), "sort={sort}");
            let mut sorted: Vec<i64> = small_ids.iter().filter_map(Json::as_i64).collect();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                (1..=12).collect::<Vec<_>>(),
                "sort={sort}: each row once"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn cursor_walks_a_mostly_null_timestamp_sort() {
    on_kitchen(|app| async move {
        for sort in ["due", "-due"] {
            let small = walk(&app, "/api/items", &[("limit", "2"), ("sort", sort)], None).await;
            let large = walk(&app, "/api/items", &[("limit", "10"), ("sort", sort)], None).await;
            let small_ids = field_values(&small, "id");
            assert_eq!(small_ids, field_values(&large, "id"), "sort={sort}");
            let mut sorted: Vec<i64> = small_ids.iter().filter_map(Json::as_i64).collect();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                (1..=12).collect::<Vec<_>>(),
                "sort={sort}: each row once"
            );
        }
        // Timestamp order is chronological: only item 1 has a due date.
        let items = walk(&app, "/api/items", &[("sort", "-due")], None).await;
        assert_eq!(items[0]["id"], 1, "non-null first when descending");
    })
    .await;
}

#[tokio::test]
async fn cursor_walk_posts_by_created_at_descending() {
    on_each_backend("posts", |app| async move {
        let items = walk(
            &app,
            "/api/posts",
            &[("limit", "1"), ("sort", "-created_at")],
            None,
        )
        .await;
        assert_eq!(field_values(&items, "id"), ids(&[9, 8, 5, 4]));
    })
    .await;
}

#[tokio::test]
async fn cursor_walk_combines_with_filter_and_search() {
    on_kitchen(|app| async move {
        let items = walk(
            &app,
            "/api/items",
            &[
                ("limit", "2"),
                ("sort", "-price"),
                ("filter", "row.owner_id == 2"),
            ],
            None,
        )
        .await;
        // Alice's items: 1 (1.5), 2 (1.5), 5 (9), 7 (4), 9 (null), 11 (0.5).
        assert_eq!(field_values(&items, "id"), ids(&[5, 7, 2, 1, 11, 9]));
        let items = walk(
            &app,
            "/api/items",
            &[("limit", "1"), ("search", "apple")],
            None,
        )
        .await;
        assert_eq!(field_values(&items, "id"), ids(&[1, 2, 3, 4]));
    })
    .await;
}

// ------------------------------------------------------------ filter

#[tokio::test]
async fn filter_on_published_returns_only_published_posts() {
    on_each_backend("posts", |app| async move {
        let path = with_query("/api/posts", &[("filter", "row.published == true")]);
        let items = app.list_items(&path, None).await;
        assert_eq!(field_values(&items, "id"), ids(&[4, 5, 8]));
        let path = with_query("/api/posts", &[("filter", "!row.published")]);
        assert_eq!(
            field_values(&app.list_items(&path, None).await, "id"),
            ids(&[9])
        );
        let path = with_query(
            "/api/posts",
            &[(
                "filter",
                "row.owner_id in [21, 22] && contains(row.title, 'from')",
            )],
        );
        assert_eq!(
            field_values(&app.list_items(&path, None).await, "id"),
            ids(&[4, 5])
        );
    })
    .await;
}

#[tokio::test]
async fn filter_may_use_the_caller() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let path = with_query("/api/posts", &[("filter", "row.owner_id == user.id")]);
        let items = app.list_items(&path, Some(&token)).await;
        assert_eq!(field_values(&items, "id"), ids(&[8, 9]));
        let items = app.list_items(&path, None).await;
        assert!(items.is_empty(), "anonymous: user.id is null");
    })
    .await;
}

#[tokio::test]
async fn filter_is_anded_with_the_rules_and_never_widens_them() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        for filter in [
            "true",
            "row.owner_id == 3",
            "row.id == 2",
            "row.owner_id == 3 || true",
        ] {
            let path = with_query("/api/vaults", &[("filter", filter)]);
            let items = app.list_items(&path, Some(&alice)).await;
            let visible = field_values(&items, "id");
            assert!(
                visible.iter().all(|id| id == &json!(1)),
                "alice only ever sees her vault 1 (filter {filter}): {items:?}"
            );
        }
        let path = with_query("/api/tags", &[("filter", "row.public == false")]);
        assert!(
            app.list_items(&path, None).await.is_empty(),
            "anonymous: no private tags"
        );
        let items = app.list_items(&path, Some(&alice)).await;
        assert_eq!(
            field_values(&items, "id"),
            ids(&[2]),
            "alice: only her private tag"
        );
    })
    .await;
}

#[tokio::test]
async fn list_rule_filters_rows_per_caller() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let bob = app.login("bob@example.com").await;
        assert_eq!(
            field_values(&app.list_items("/api/vaults", Some(&alice)).await, "id"),
            ids(&[1])
        );
        assert_eq!(
            field_values(&app.list_items("/api/vaults", Some(&bob)).await, "id"),
            ids(&[2])
        );
        let (status, body) = app.call(Method::GET, "/api/vaults", None, None).await;
        common::assert_problem(
            status,
            &body,
            401,
            "unauthenticated",
            "anonymous vaults list",
        );
        assert_eq!(
            field_values(&app.list_items("/api/tags", None).await, "id"),
            ids(&[1, 4])
        );
        assert_eq!(
            field_values(&app.list_items("/api/tags", Some(&bob)).await, "id"),
            ids(&[1, 3, 4])
        );
    })
    .await;
}

// ------------------------------------------------------------ search

#[tokio::test]
async fn search_is_partial_and_case_insensitive_over_searchable_fields() {
    on_kitchen(|app| async move {
        // Names 1 "Red Apple", 2 "green apple", 3 "APPLE pie"; note of 4
        // mentions "an apple".
        for term in ["apple", "APPLE", "ApPlE", "ppl"] {
            let path = with_query("/api/items", &[("search", term)]);
            let items = app.list_items(&path, None).await;
            assert_eq!(
                field_values(&items, "id"),
                ids(&[1, 2, 3, 4]),
                "search={term}"
            );
        }
        let path = with_query("/api/items", &[("search", "baked")]);
        assert_eq!(
            field_values(&app.list_items(&path, None).await, "id"),
            ids(&[3]),
            "note"
        );
        let path = with_query("/api/items", &[("search", "A-1")]);
        assert!(
            app.list_items(&path, None).await.is_empty(),
            "code is not searchable"
        );
        let path = with_query(
            "/api/items",
            &[("search", "apple"), ("filter", "row.owner_id == 3")],
        );
        assert_eq!(
            field_values(&app.list_items(&path, None).await, "id"),
            ids(&[3, 4])
        );
    })
    .await;
}

#[tokio::test]
async fn search_treats_like_wildcards_literally() {
    on_kitchen(|app| async move {
        for term in ["%", "_", "%apple", "a_ple", "\\"] {
            let path = with_query("/api/items", &[("search", term)]);
            let items = app.list_items(&path, None).await;
            assert!(
                items.is_empty(),
                "search={term:?} matched {:?}",
                field_values(&items, "id")
            );
        }
    })
    .await;
}

#[tokio::test]
async fn search_on_posts_titles() {
    on_each_backend("posts", |app| async move {
        let path = with_query("/api/posts", &[("search", "FROM")]);
        assert_eq!(
            field_values(&app.list_items(&path, None).await, "id"),
            ids(&[4, 5, 9])
        );
        let path = with_query("/api/posts", &[("search", "User 22")]);
        assert!(
            app.list_items(&path, None).await.is_empty(),
            "content is not searchable"
        );
    })
    .await;
}

#[tokio::test]
async fn search_skips_fields_the_caller_may_not_read() {
    on_kitchen(|app| async move {
        let bob = app.login("bob@example.com").await;
        let path = with_query("/api/users", &[("search", "ali")]);
        assert_eq!(
            field_values(&app.list_items(&path, Some(&bob)).await, "id"),
            ids(&[2])
        );
        // email has a per-row read rule: not searched, so no oracle on it.
        let path = with_query("/api/users", &[("search", "alice@")]);
        assert!(app.list_items(&path, Some(&bob)).await.is_empty());
    })
    .await;
}

// ------------------------------------------------------------ expand

#[tokio::test]
async fn expand_owner_shows_only_owners_the_caller_may_read() {
    on_each_backend("posts", |app| async move {
        let path = "/api/posts?expand=owner";
        let anonymous = app.list_items(path, None).await;
        assert!(
            anonymous.iter().all(|p| p["owner"].is_null()),
            "anonymous may read no user: {anonymous:?}"
        );
        let token = app.login("user22@example.com").await;
        let items = app.list_items(path, Some(&token)).await;
        for post in &items {
            if post["owner_id"] == 22 {
                assert_eq!(post["owner"]["email"], "user22@example.com", "{post}");
                assert!(post["owner"].get("password").is_none());
            } else {
                assert_eq!(
                    post["owner"],
                    Json::Null,
                    "user 22 may not read user {}",
                    post["owner_id"]
                );
            }
        }
        let admin = app.login("admin@example.com").await;
        let items = app.list_items(path, Some(&admin)).await;
        assert!(
            items.iter().all(|p| p["owner"]["id"] == p["owner_id"]),
            "{items:?}"
        );
        // One row: the same, null rather than an error (users deny with 404).
        let (status, post) = app
            .call(Method::GET, "/api/posts/4?expand=owner", Some(&token), None)
            .await;
        assert_eq!(status, 200, "{post}");
        assert_eq!(post["owner"], Json::Null);
        let (_, post) = app
            .call(Method::GET, "/api/posts/5?expand=owner", Some(&token), None)
            .await;
        assert_eq!(post["owner"]["id"], 22);
    })
    .await;
}

#[tokio::test]
async fn expand_to_many_is_silently_filtered_by_the_target_rules() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let bob = app.login("bob@example.com").await;
        for (token, expected) in [
            (None, vec![1]),
            (Some(&alice), vec![1, 2]),
            (Some(&bob), vec![1, 3]),
        ] {
            let (status, item) = app
                .call(
                    Method::GET,
                    "/api/items/1?expand=tags",
                    token.map(String::as_str),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{item}");
            let tags = item["tags"].as_array().expect("tags array");
            assert_eq!(field_values(tags, "id"), ids(&expected));
        }
        let items = app
            .list_items("/api/items?expand=tags&limit=4", Some(&bob))
            .await;
        let tag_ids: Vec<Vec<Json>> = items
            .iter()
            .map(|i| field_values(i["tags"].as_array().expect("tags"), "id"))
            .collect();
        assert_eq!(tag_ids, vec![ids(&[1, 3]), vec![], ids(&[4]), vec![]]);
    })
    .await;
}

#[tokio::test]
async fn expand_votes_on_posts_needs_a_login() {
    on_each_backend("posts", |app| async move {
        let anonymous = app.list_items("/api/posts?expand=votes", None).await;
        assert!(
            anonymous.iter().all(|p| p["votes"] == json!([])),
            "{anonymous:?}"
        );
        let token = app.login("user21@example.com").await;
        let items = app
            .list_items("/api/posts?expand=votes,owner", Some(&token))
            .await;
        let post4 = items.iter().find(|p| p["id"] == 4).expect("post 4");
        assert_eq!(
            field_values(post4["votes"].as_array().expect("array"), "id"),
            ids(&[1, 2])
        );
        assert_eq!(post4["owner"]["id"], 21, "both expansions");
        let post8 = items.iter().find(|p| p["id"] == 8).expect("post 8");
        assert_eq!(post8["votes"][0]["dir"], -1);
    })
    .await;
}

#[tokio::test]
async fn expand_to_one_category_with_a_null_reference_is_null() {
    on_kitchen(|app| async move {
        let items = app
            .list_items("/api/items?expand=category&limit=4", None)
            .await;
        assert_eq!(items[0]["category"]["name"], "fruit");
        assert_eq!(items[2]["category"]["name"], "baking");
        assert_eq!(items[3]["category"], Json::Null, "item 4 has no category");
    })
    .await;
}

// ------------------------------------------------------------ field rules

#[tokio::test]
async fn field_rule_hides_email_of_other_users_in_lists() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let users = app.list_items("/api/users", Some(&alice)).await;
        assert_eq!(users.len(), 4);
        for user in &users {
            if user["id"] == 2 {
                assert_eq!(user["email"], "alice@example.com");
            } else {
                assert!(user.get("email").is_none(), "alice may not see {user}");
                assert!(user["name"].is_string(), "other fields stay: {user}");
            }
            assert!(user.get("password").is_none());
        }
        let auditor = app.login("auditor@example.com").await;
        let users = app.list_items("/api/users", Some(&auditor)).await;
        assert!(
            users.iter().all(|u| u["email"].is_string()),
            "admin:read sees all: {users:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn field_rule_hides_email_in_single_reads() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let (status, bob) = app
            .call(Method::GET, "/api/users/3", Some(&alice), None)
            .await;
        assert_eq!(status, 200, "{bob}");
        assert_eq!(bob["name"], "Bob");
        assert!(bob.get("email").is_none(), "{bob}");
        let (_, me) = app
            .call(Method::GET, "/api/users/2", Some(&alice), None)
            .await;
        assert_eq!(me["email"], "alice@example.com");
        let auditor = app.login("auditor@example.com").await;
        let (_, bob) = app
            .call(Method::GET, "/api/users/3", Some(&auditor), None)
            .await;
        assert_eq!(bob["email"], "bob@example.com");
        // The answer to an update is filtered the same way.
        let (status, me) = app
            .call(
                Method::PATCH,
                "/api/users/2",
                Some(&alice),
                Some(json!({"name": "Al"})),
            )
            .await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["email"], "alice@example.com");
    })
    .await;
}

#[tokio::test]
async fn field_rule_hides_email_in_expansions() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let items = app
            .list_items("/api/items?expand=owner&limit=4", Some(&alice))
            .await;
        // Items 1, 2 are alice's; 3, 4 bob's.
        assert_eq!(items[0]["owner"]["email"], "alice@example.com");
        assert_eq!(items[1]["owner"]["email"], "alice@example.com");
        for item in &items[2..] {
            assert_eq!(item["owner"]["name"], "Bob", "{item}");
            assert!(item["owner"].get("email").is_none(), "{item}");
        }
        let (_, item) = app
            .call(Method::GET, "/api/items/3?expand=owner", Some(&alice), None)
            .await;
        assert!(item["owner"].get("email").is_none(), "{item}");
        let items = app
            .list_items("/api/items?expand=owner&limit=2", None)
            .await;
        assert!(
            items.iter().all(|i| i["owner"].is_null()),
            "anonymous reads no user"
        );
    })
    .await;
}

#[tokio::test]
async fn hidden_field_never_appears_in_lists_reads_or_expansions() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let items = app.list_items("/api/items?limit=10", Some(&alice)).await;
        assert!(items.iter().all(|i| i.get("secret").is_none()));
        let (_, item) = app
            .call(Method::GET, "/api/items/1", Some(&alice), None)
            .await;
        assert!(item.get("secret").is_none());
        let (_, tag) = app
            .call(Method::GET, "/api/tags/1", Some(&alice), None)
            .await;
        assert_eq!(tag["item_id"], 1);
    })
    .await;
}
