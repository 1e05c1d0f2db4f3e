//! Bad inputs, each answered with its status and problem type: bodies
//! (unknown, readonly, immutable, mistyped, missing fields; unique and
//! foreign-key violations; size, syntax, media type, shape), query
//! parameters (unknown, limit, sort, filter, cursor), paths (ids,
//! resources, methods). And a few dozen odd inputs, none of which may
//! yield a 500.

mod common;

use common::{Reply, TestApp, assert_problem, fixture_config, on_each_backend, with_query};
use reqwest::Method;
use serde_json::{Value as Json, json};

fn kitchen() -> std::path::PathBuf {
    fixture_config("kitchen")
}

async fn on_kitchen<F, Fut>(scenario: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    common::on_each_backend_config(&kitchen(), scenario).await;
}

async fn post_json(app: &TestApp, path: &str, token: Option<&str>, body: Json) -> Reply {
    app.json_with(Method::POST, path, token, &[], Some(body))
        .await
}

// ------------------------------------------------------------ body fields

#[tokio::test]
async fn unknown_field_gets_400_unknown_fields_naming_it() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        let body = json!({"title": "t", "content": "c", "colour": "red"});
        let reply = post_json(&app, "/api/posts", Some(&token), body.clone()).await;
        reply.assert_problem(400, "unknown-fields", "create with colour");
        assert_eq!(reply.json["fields"], json!(["colour"]));
        assert!(
            reply.json["detail"]
                .as_str()
                .unwrap_or("")
                .contains("colour")
        );
        for method in [Method::PATCH, Method::PUT] {
            let reply = app
                .json_with(
                    method.clone(),
                    "/api/posts/8",
                    Some(&token),
                    &[],
                    Some(body.clone()),
                )
                .await;
            reply.assert_problem(400, "unknown-fields", &format!("{method} with colour"));
            assert_eq!(reply.json["fields"], json!(["colour"]));
        }
    })
    .await;
}

#[tokio::test]
async fn readonly_field_gets_400_readonly_fields_naming_it() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        for field in ["created_at", "id", "owner_id"] {
            let mut body = json!({"title": "t", "content": "c"});
            body[field] = match field {
                "created_at" => json!("2020-01-01T00:00:00Z"),
                _ => json!(77),
            };
            let reply = post_json(&app, "/api/posts", Some(&token), body.clone()).await;
            reply.assert_problem(400, "readonly-fields", &format!("create with {field}"));
            assert_eq!(reply.json["fields"], json!([field]));
            let reply = app
                .json_with(Method::PATCH, "/api/posts/8", Some(&token), &[], Some(body))
                .await;
            reply.assert_problem(400, "readonly-fields", &format!("patch with {field}"));
            assert_eq!(reply.json["fields"], json!([field]));
        }
    })
    .await;
}

#[tokio::test]
async fn immutable_field_is_settable_on_create_but_400_readonly_fields_on_update() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let reply = post_json(
            &app,
            "/api/items",
            Some(&alice),
            json!({"name": "Kiwi", "code": "K-1"}),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.json);
        assert_eq!(reply.json["code"], "K-1");
        let id = reply.json["id"].as_i64().expect("id");
        for method in [Method::PATCH, Method::PUT] {
            let reply = app
                .json_with(
                    method.clone(),
                    &format!("/api/items/{id}"),
                    Some(&alice),
                    &[],
                    Some(json!({"name": "Kiwi", "code": "K-2"})),
                )
                .await;
            reply.assert_problem(400, "readonly-fields", &format!("{method} code"));
            assert_eq!(reply.json["fields"], json!(["code"]));
        }
    })
    .await;
}

#[tokio::test]
async fn readonly_input_ignore_silently_drops_immutable_and_readonly_fields() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let reply = app
            .json_with(
                Method::PATCH,
                "/api/users/2",
                Some(&alice),
                &[],
                Some(json!({"email": "evil@example.com", "is_superuser": true, "name": "Alicia"})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.json);
        assert_eq!(reply.json["name"], "Alicia", "the writable field changed");
        assert_eq!(reply.json["email"], "alice@example.com", "email ignored");
        assert_eq!(reply.json["is_superuser"], false, "flag ignored");
        // Unknown fields are still refused.
        let reply = app
            .json_with(
                Method::PATCH,
                "/api/users/2",
                Some(&alice),
                &[],
                Some(json!({"nickname": "al"})),
            )
            .await;
        reply.assert_problem(400, "unknown-fields", "unknown field on ignore resource");
        // She can still log in with her old email.
        app.login("alice@example.com").await;
    })
    .await;
}

#[tokio::test]
async fn wrong_type_gets_400_validation_naming_the_field() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let cases = [
            ("name", json!(5)),
            ("name", json!({"nested": "object"})),
            ("name", json!(["a"])),
            ("name", json!(null)),
            ("price", json!("cheap")),
            ("price", json!(true)),
            ("qty", json!(1.5)),
            ("qty", json!("3")),
            ("qty", json!(18446744073709551615u64)),
            ("due", json!("tomorrow")),
            ("due", json!("2026-13-45T00:00:00Z")),
            ("due", json!(1700000000)),
            ("category_id", json!("one")),
        ];
        for (field, value) in cases {
            let mut body = json!({"name": "x", "code": format!("W-{field}-{value}")});
            body[field] = value.clone();
            let reply = post_json(&app, "/api/items", Some(&alice), body.clone()).await;
            let context = format!("{:?}: {field} = {value}", app.backend);
            reply.assert_problem(400, "validation", &context);
            assert_eq!(
                reply.json["errors"][0]["field"], field,
                "{context}: {}",
                reply.json
            );
            let reply = app
                .json_with(
                    Method::PATCH,
                    "/api/items/1",
                    Some(&alice),
                    &[],
                    Some(json!({field: value})),
                )
                .await;
            reply.assert_problem(400, "validation", &format!("PATCH {context}"));
            assert_eq!(reply.json["errors"][0]["field"], field);
        }
        let reply = post_json(
            &app,
            "/api/items",
            Some(&alice),
            json!({"name": 1, "price": "x", "code": "Z"}),
        )
        .await;
        reply.assert_problem(400, "validation", "two bad fields");
        let mut named: Vec<&str> = reply.json["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        named.dedup();
        assert_eq!(named, ["name", "price"], "both named: {}", reply.json);
    })
    .await;
}

#[tokio::test]
async fn mistyped_required_field_is_reported_once_and_not_as_missing() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let reply = post_json(
            &app,
            "/api/posts",
            Some(&token),
            json!({"title": 1, "content": "c"}),
        )
        .await;
        reply.assert_problem(400, "validation", "title = 1");
        assert_eq!(
            reply.json["errors"],
            json!([{"field": "title", "message": "expected a string, found an integer"}]),
            "{}",
            reply.json
        );
    })
    .await;
}

#[tokio::test]
async fn wrong_type_on_posts_bool_gets_400_validation() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let reply = post_json(
            &app,
            "/api/posts",
            Some(&token),
            json!({"title": "t", "content": "c", "published": "yes"}),
        )
        .await;
        reply.assert_problem(400, "validation", "published = yes");
        assert_eq!(reply.json["errors"][0]["field"], "published");
    })
    .await;
}

#[tokio::test]
async fn missing_required_field_on_create_gets_400_validation() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let reply = post_json(&app, "/api/posts", Some(&token), json!({"content": "c"})).await;
        reply.assert_problem(400, "validation", "create without title");
        assert_eq!(reply.json["errors"][0]["field"], "title");
        let reply = post_json(&app, "/api/posts", Some(&token), json!({})).await;
        reply.assert_problem(400, "validation", "create with nothing");
        let named: Vec<&str> = reply.json["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(named, ["content", "title"], "{}", reply.json);
    })
    .await;
}

#[tokio::test]
async fn valid_float_json_and_timestamp_values_round_trip() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let meta = json!({"tags": ["a", "b"], "n": 1, "deep": {"x": null}});
        let reply = post_json(
            &app,
            "/api/items",
            Some(&alice),
            json!({"name": "Lime", "code": "L-1", "price": 2.75, "meta": meta,
                   "due": "2026-11-21T11:00:00+01:00", "note": null}),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.json);
        let id = reply.json["id"].as_i64().expect("id");
        let (status, item) = app
            .call(Method::GET, &format!("/api/items/{id}"), None, None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(item["price"], 2.75);
        assert_eq!(item["meta"], meta);
        assert_eq!(item["qty"], 0, "default");
        assert_eq!(item["note"], Json::Null);
        let due = item["due"].as_str().expect("due");
        assert!(
            due.starts_with("2026-11-21T10:00:00"),
            "normalized to UTC: {due}"
        );
        assert!(item.get("secret").is_none(), "hidden field never returned");
    })
    .await;
}

// ------------------------------------------------------------ conflicts

#[tokio::test]
async fn unique_violation_on_users_email_gets_409_conflict_naming_email() {
    on_kitchen(|app| async move {
        let admin = app.login("admin@example.com").await;
        let reply = post_json(
            &app,
            "/api/users",
            Some(&admin),
            json!({"email": "alice@example.com", "name": "Alice 2", "password": "password123"}),
        )
        .await;
        reply.assert_problem(409, "conflict", "duplicate email");
        assert_eq!(reply.json["fields"], json!(["email"]));
        let reply = post_json(
            &app,
            "/api/users",
            Some(&admin),
            json!({"email": "carol@example.com", "name": "Carol", "password": "password123"}),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.json);
        assert!(reply.json.get("password").is_none());
        app.login("carol@example.com").await;
    })
    .await;
}

#[tokio::test]
async fn unique_violation_on_items_code_gets_409_conflict_naming_code() {
    on_kitchen(|app| async move {
        let bob = app.login("bob@example.com").await;
        let reply = post_json(
            &app,
            "/api/items",
            Some(&bob),
            json!({"name": "Another apple", "code": "A-1"}),
        )
        .await;
        reply.assert_problem(409, "conflict", "duplicate code");
        assert_eq!(reply.json["fields"], json!(["code"]));
    })
    .await;
}

#[tokio::test]
async fn unique_violation_on_votes_post_and_user_gets_409_conflict_naming_both() {
    on_each_backend("posts", |app| async move {
        // User 22 already voted on post 4.
        let token = app.login("user22@example.com").await;
        let reply = post_json(&app, "/api/votes", Some(&token), json!({"post_id": 4})).await;
        reply.assert_problem(409, "conflict", "second vote on post 4");
        assert_eq!(reply.json["fields"], json!(["post_id", "user_id"]));
        let reply = post_json(&app, "/api/votes", Some(&token), json!({"post_id": 8})).await;
        assert_eq!(reply.status, 201, "{}", reply.json);
        assert_eq!(reply.json["user_id"], 22);
    })
    .await;
}

#[tokio::test]
async fn foreign_key_to_a_missing_row_gets_422_invalid_reference() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let reply = post_json(&app, "/api/votes", Some(&token), json!({"post_id": 999})).await;
        reply.assert_problem(422, "invalid-reference", "vote on missing post");
        let (status, body) = app
            .call(Method::GET, "/api/votes", Some(&token), None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            body["items"].as_array().map(Vec::len),
            Some(3),
            "nothing inserted"
        );
    })
    .await;
}

#[tokio::test]
async fn foreign_key_to_a_missing_row_on_update_gets_422_invalid_reference() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let reply = post_json(
            &app,
            "/api/items",
            Some(&alice),
            json!({"name": "n", "code": "FK-1", "category_id": 404}),
        )
        .await;
        reply.assert_problem(422, "invalid-reference", "create with category 404");
        let reply = app
            .json_with(
                Method::PATCH,
                "/api/items/1",
                Some(&alice),
                &[],
                Some(json!({"category_id": 404})),
            )
            .await;
        reply.assert_problem(422, "invalid-reference", "patch to category 404");
        let (_, item) = app.call(Method::GET, "/api/items/1", None, None).await;
        assert_eq!(item["category_id"], 1, "unchanged");
    })
    .await;
}

#[tokio::test]
async fn deleting_a_still_referenced_row_gets_422_invalid_reference() {
    on_kitchen(|app| async move {
        // Items 1 and 2 refer to category 1 with on_delete = "restrict".
        let alice = app.login("alice@example.com").await;
        let reply = app
            .raw(Method::DELETE, "/api/categories/1", Some(&alice), &[], None)
            .await;
        reply.assert_problem(422, "invalid-reference", "delete referenced category");
        let (status, _) = app.call(Method::GET, "/api/categories/1", None, None).await;
        assert_eq!(status, 200, "still there");
    })
    .await;
}

// ------------------------------------------------------------ body shape

#[tokio::test]
async fn body_over_1_mib_gets_413() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let big = "x".repeat(1024 * 1024 + 10);
        let body = serde_json::to_vec(&json!({"title": "t", "content": big})).expect("json");
        for (method, path) in [
            (Method::POST, "/api/posts"),
            (Method::PATCH, "/api/posts/4"),
        ] {
            let reply = app
                .raw(
                    method.clone(),
                    path,
                    Some(&token),
                    &[("content-type", "application/json")],
                    Some(body.clone()),
                )
                .await;
            reply.assert_problem(413, "payload-too-large", &format!("{method} 1 MiB"));
        }
        // Just under the limit is fine.
        let fits = "x".repeat(1024 * 1024 - 100);
        let reply = post_json(
            &app,
            "/api/posts",
            Some(&token),
            json!({"title": "t", "content": fits}),
        )
        .await;
        assert_eq!(reply.status, 201, "{:?}", reply.json.get("detail"));
    })
    .await;
}

#[tokio::test]
async fn malformed_json_gets_400_malformed_body() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        for text in [
            "{",
            "{\"title\": }",
            "not json",
            "{\"a\":1}{",
            "",
            "\u{FEFF}{}",
            "{\"title\": 1e400}",
        ] {
            let reply = app
                .raw(
                    Method::POST,
                    "/api/posts",
                    Some(&token),
                    &[("content-type", "application/json")],
                    Some(text.as_bytes().to_vec()),
                )
                .await;
            reply.assert_problem(400, "malformed-body", &format!("body {text:?}"));
        }
        let reply = app
            .raw(
                Method::PATCH,
                "/api/posts/4",
                Some(&token),
                &[("content-type", "application/json")],
                Some(b"{,}".to_vec()),
            )
            .await;
        reply.assert_problem(400, "malformed-body", "patch {,}");
        let reply = app
            .raw(
                Method::POST,
                "/api/posts",
                Some(&token),
                &[("content-type", "application/json")],
                Some(vec![0xff, 0xfe, b'{', b'}']),
            )
            .await;
        reply.assert_problem(400, "malformed-body", "invalid UTF-8");
    })
    .await;
}

#[tokio::test]
async fn non_json_content_type_gets_415() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let body = br#"{"title":"t","content":"c"}"#.to_vec();
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonx"),
            None,
        ] {
            let headers: Vec<(&str, &str)> = content_type
                .map(|c| ("content-type", c))
                .into_iter()
                .collect();
            let reply = app
                .raw(
                    Method::POST,
                    "/api/posts",
                    Some(&token),
                    &headers,
                    Some(body.clone()),
                )
                .await;
            reply.assert_problem(415, "unsupported-media-type", &format!("{content_type:?}"));
        }
        for content_type in [
            "application/json; charset=utf-8",
            "application/merge-patch+json",
        ] {
            let reply = app
                .raw(
                    Method::POST,
                    "/api/posts",
                    Some(&token),
                    &[("content-type", content_type)],
                    Some(body.clone()),
                )
                .await;
            assert_eq!(reply.status, 201, "{content_type}: {}", reply.json);
        }
    })
    .await;
}

#[tokio::test]
async fn json_body_that_is_not_an_object_gets_400_malformed_body() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        for body in [
            json!([{"title": "t", "content": "c"}]),
            json!([]),
            json!(null),
            json!("s"),
            json!(42),
        ] {
            let reply = post_json(&app, "/api/posts", Some(&token), body.clone()).await;
            reply.assert_problem(400, "malformed-body", &format!("create with {body}"));
            let reply = app
                .json_with(
                    Method::PATCH,
                    "/api/posts/4",
                    Some(&token),
                    &[],
                    Some(body.clone()),
                )
                .await;
            reply.assert_problem(400, "malformed-body", &format!("patch with {body}"));
        }
    })
    .await;
}

// ------------------------------------------------------------ query

#[tokio::test]
async fn unknown_query_parameter_gets_400_invalid_query() {
    on_each_backend("posts", |app| async move {
        for path in [
            "/api/posts?colour=red",
            "/api/posts?limit=2&page=3",
            "/api/posts?offset=10",
            "/api/posts/4?limit=3",
            "/api/posts/4?filter=true",
        ] {
            let (status, body) = app.call(Method::GET, path, None, None).await;
            assert_problem(status, &body, 400, "invalid-query", path);
        }
    })
    .await;
}

#[tokio::test]
async fn bad_limit_gets_400_invalid_query() {
    on_each_backend("posts", |app| async move {
        for limit in ["0", "-1", "abc", "1.5", "1e3", "99999999999999999999", " 5"] {
            let path = with_query("/api/posts", &[("limit", limit)]);
            let (status, body) = app.call(Method::GET, &path, None, None).await;
            assert_problem(
                status,
                &body,
                400,
                "invalid-query",
                &format!("limit={limit:?}"),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn bad_sort_gets_400_invalid_query() {
    on_each_backend("posts", |app| async move {
        for sort in [
            "colour",
            "-colour",
            "title;drop table posts",
            "--id",
            "owner.email",
            "owner",
        ] {
            let path = with_query("/api/posts", &[("sort", sort)]);
            let (status, body) = app.call(Method::GET, &path, None, None).await;
            assert_problem(
                status,
                &body,
                400,
                "invalid-query",
                &format!("sort={sort:?}"),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn sort_by_hidden_or_rule_guarded_or_json_field_gets_400_invalid_query() {
    on_kitchen(|app| async move {
        let admin = app.login("admin@example.com").await;
        for (resource, sort) in [
            ("items", "secret"),
            ("items", "-secret"),
            ("items", "meta"),
            ("users", "password"),
            ("users", "email"),
            ("users", "-email"),
        ] {
            let path = with_query(&format!("/api/{resource}"), &[("sort", sort)]);
            let (status, body) = app.call(Method::GET, &path, Some(&admin), None).await;
            assert_problem(
                status,
                &body,
                400,
                "invalid-query",
                &format!("{resource} sort={sort}"),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn bad_filter_gets_400_invalid_query() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        for filter in [
            "row.published ==",
            "row.title == 'unterminated",
            "((row.id == 1)",
            "row.id = 1",
            "row.colour == 'red'",
            "row.owner.email == 'user21@example.com'",
            "row.owner_id.x == 1",
            "exists(votes where it.user_id == 21)",
            "row.title == 1",
            "row.id",
            "new.title == 't'",
            "rm -rf /",
            "1 == 1 == 1",
            "'; DROP TABLE posts; --",
            "row.id == 1) OR (1 == 1",
            "has_scope(row.title)",
            "check_article_access(row.id, user.id)",
            "",
        ] {
            let path = with_query("/api/posts", &[("filter", filter)]);
            let (status, body) = app.call(Method::GET, &path, Some(&token), None).await;
            assert_problem(
                status,
                &body,
                400,
                "invalid-query",
                &format!("filter={filter:?}"),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn filter_on_hidden_password_or_field_rule_field_gets_400_invalid_query() {
    on_kitchen(|app| async move {
        let admin = app.login("admin@example.com").await;
        for (resource, filter) in [
            ("users", "row.password == 'x'"),
            ("users", "row.email == 'alice@example.com'"),
            ("users", "row.email != null"),
            ("items", "row.secret == 's1'"),
            ("items", "row.owner.email == 'alice@example.com'"),
            ("items", "exists(tags where it.item_id == row.id)"),
        ] {
            let path = with_query(&format!("/api/{resource}"), &[("filter", filter)]);
            let (status, body) = app.call(Method::GET, &path, Some(&admin), None).await;
            assert_problem(
                status,
                &body,
                400,
                "invalid-query",
                &format!("{resource} filter={filter:?}"),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn filter_with_exists_gets_400_and_cannot_probe_hidden_rows() {
    on_kitchen(|app| async move {
        // Vaults are read by their owner only; bob's vault is hidden from alice.
        let alice = app.login("alice@example.com").await;
        let probe = |label: &str| {
            with_query(
                "/api/vaults",
                &[(
                    "filter",
                    &format!("exists(vaults where it.label == \"{label}\")"),
                )],
            )
        };
        let (hit_status, hit) = app
            .call(Method::GET, &probe("bob's vault"), Some(&alice), None)
            .await;
        let (miss_status, miss) = app
            .call(Method::GET, &probe("no such vault"), Some(&alice), None)
            .await;
        assert_eq!(
            (hit_status, &hit["items"]),
            (miss_status, &miss["items"]),
            "the answer must not depend on a row alice may not read"
        );
        assert_problem(hit_status, &hit, 400, "invalid-query", "exists in a filter");
    })
    .await;
}

#[tokio::test]
async fn bad_cursor_gets_400_invalid_query() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let cursors = vec![
        "garbage!!".to_owned(),
        "%%%".to_owned(),
        b64("not json"),
        b64("{}"),
        b64(r#"{"k":"x"}"#),
        b64(r#"{"k":null}"#),
        b64(r#"{"k":1.5}"#),
        b64(r#"{"k":[1]}"#),
        b64(r#"{"k":99999999999999999999999}"#),
    ];
    on_each_backend("posts", move |app| {
        let cursors = cursors.clone();
        async move {
            for cursor in &cursors {
                let path = with_query("/api/posts", &[("cursor", cursor)]);
                let (status, body) = app.call(Method::GET, &path, None, None).await;
                assert_problem(
                    status,
                    &body,
                    400,
                    "invalid-query",
                    &format!("cursor={cursor}"),
                );
            }
            // A cursor for the sort by title does not fit a sort by id…
            let (_, page) = app
                .call(Method::GET, "/api/posts?sort=title&limit=1", None, None)
                .await;
            let cursor = page["next"].as_str().expect("next").to_owned();
            let path = with_query(
                "/api/posts",
                &[("cursor", cursor.as_str()), ("sort", "created_at")],
            );
            let (status, body) = app.call(Method::GET, &path, None, None).await;
            assert!(
                status == 200 || status == 400,
                "never a 500: {status} {body}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn bad_expand_gets_400_invalid_query() {
    on_each_backend("posts", |app| async move {
        for expand in ["nope", "owner.votes", "owner,nope", "title"] {
            let path = with_query("/api/posts", &[("expand", expand)]);
            let (status, body) = app.call(Method::GET, &path, None, None).await;
            assert_problem(
                status,
                &body,
                400,
                "invalid-query",
                &format!("expand={expand}"),
            );
            let path = with_query("/api/posts/4", &[("expand", expand)]);
            let (status, body) = app.call(Method::GET, &path, None, None).await;
            assert_problem(
                status,
                &body,
                400,
                "invalid-query",
                &format!("get expand={expand}"),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn search_on_a_resource_without_searchable_fields_gets_400_invalid_query() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user21@example.com").await;
        let (status, body) = app
            .call(Method::GET, "/api/votes?search=x", Some(&token), None)
            .await;
        assert_problem(status, &body, 400, "invalid-query", "search votes");
    })
    .await;
}

// ------------------------------------------------------------ paths

#[tokio::test]
async fn non_integer_id_gets_404() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        for id in [
            "abc",
            "1.5",
            "8abc",
            "0x8",
            "%20",
            "99999999999999999999",
            "8%00",
        ] {
            let path = format!("/api/posts/{id}");
            for method in [Method::GET, Method::DELETE] {
                let (status, body) = app.call(method.clone(), &path, Some(&token), None).await;
                assert_problem(status, &body, 404, "not-found", &format!("{method} {path}"));
            }
            for method in [Method::PATCH, Method::PUT] {
                let (status, body) = app
                    .call(
                        method.clone(),
                        &path,
                        Some(&token),
                        Some(json!({"title": "t", "content": "c"})),
                    )
                    .await;
                assert_problem(status, &body, 404, "not-found", &format!("{method} {path}"));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn unknown_resource_gets_404() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        for (method, path) in [
            (Method::GET, "/api/nope"),
            (Method::GET, "/api/nope/1"),
            (Method::POST, "/api/nope"),
            (Method::PATCH, "/api/nope/1"),
            (Method::PUT, "/api/nope/1"),
            (Method::DELETE, "/api/nope/1"),
            (Method::GET, "/api/Posts"),
            (Method::GET, "/api/posts/4/votes"),
            (Method::GET, "/api"),
            (Method::GET, "/nothing/here"),
        ] {
            let body = (method != Method::GET && method != Method::DELETE)
                .then(|| json!({"title": "t", "content": "c"}));
            let (status, problem) = app.call(method.clone(), path, Some(&token), body).await;
            assert_problem(
                status,
                &problem,
                404,
                "not-found",
                &format!("{method} {path}"),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn wrong_method_gets_405() {
    on_each_backend("posts", |app| async move {
        let token = app.login("user23@example.com").await;
        for (method, path) in [
            (Method::POST, "/api/posts/8"),
            (Method::PUT, "/api/posts"),
            (Method::PATCH, "/api/posts"),
            (Method::DELETE, "/api/posts"),
            (Method::GET, "/auth/token"),
            (Method::POST, "/healthz"),
        ] {
            let (status, problem) = app.call(method.clone(), path, Some(&token), None).await;
            assert_problem(
                status,
                &problem,
                405,
                "method-not-allowed",
                &format!("{method} {path}"),
            );
        }
        let items = app.list_items("/api/posts", None).await;
        assert_eq!(items.len(), 4, "nothing changed");
    })
    .await;
}

// ------------------------------------------------------------ no 500s

/// Why an answer is not acceptable: a 5xx, or an error that is not
/// problem+json.
fn unhandled(reply: &Reply, what: &str) -> Option<String> {
    let problem = reply.json["type"]
        .as_str()
        .is_some_and(|t| t.starts_with(common::PROBLEMS));
    (reply.status >= 500 || (reply.status >= 400 && !problem)).then(|| {
        format!(
            "{what}: {} {}",
            reply.status,
            reply.text.chars().take(300).collect::<String>()
        )
    })
}

/// Any answer but a 5xx, and errors as problem+json.
#[track_caller]
fn assert_handled(reply: &Reply, what: &str) {
    if let Some(failure) = unhandled(reply, what) {
        panic!("{failure}");
    }
}

#[track_caller]
fn assert_none_failed(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} inputs were not handled:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn odd_strings() -> Vec<String> {
    vec![
        "💩🦀 ünïcödé \u{202E}rtl\u{202C} e\u{301}".to_owned(),
        "'; DROP TABLE posts; --".to_owned(),
        "\" OR 1=1 --".to_owned(),
        "%".to_owned(),
        "_".to_owned(),
        "\\".to_owned(),
        "' OR ''='".to_owned(),
        "x".repeat(20_000),
        "\u{FFFF}\u{FFFE}".to_owned(),
        "${jndi:ldap://x}".to_owned(),
        "<script>alert(1)</script>".to_owned(),
        "-9223372036854775808".to_owned(),
        "9223372036854775808".to_owned(),
        "1e308".to_owned(),
        "NaN".to_owned(),
        " ".to_owned(),
    ]
}

#[tokio::test]
async fn odd_query_parameters_never_yield_a_500() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let mut extra: Vec<String> = vec![
            "row.id == 99999999999999999999999".into(),
            "row.id == -9223372036854775808".into(),
            "row.price > 1e308".into(),
            "row.price == 1.0 / 0".into(),
            "row.name == 'x' || 1 == 1".into(),
            "row.name in ['a', 'b', 'c']".into(),
            "contains(row.name, '%')".into(),
            "row.note == null".into(),
            "row.due > '2026-01-01T00:00:00Z'".into(),
            "row.meta == null".into(),
            "row.qty > 9223372036854775807".into(),
            "user.id == row.owner_id".into(),
            "user.email == 'alice@example.com'".into(),
            format!("{}row.id == 1{}", "(".repeat(70), ")".repeat(70)),
            format!("{}true", "!".repeat(100)),
            ["row.id == 1"; 50].join(" && "),
        ];
        extra.extend(odd_strings());
        let params = ["filter", "search", "sort", "limit", "cursor", "expand"];
        let mut failures = Vec::new();
        for value in &extra {
            for param in params {
                let path = with_query("/api/items", &[(param, value.as_str())]);
                for token in [None, Some(alice.as_str())] {
                    let reply = app.raw(Method::GET, &path, token, &[], None).await;
                    let what = format!("{:?}: {param}={value:?}", app.backend);
                    failures.extend(unhandled(&reply, &what));
                }
            }
        }
        assert_none_failed(&failures);
    })
    .await;
}

#[tokio::test]
async fn odd_ids_and_paths_never_yield_a_500() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let mut ids: Vec<String> = [
            "0",
            "-1",
            "-9223372036854775808",
            "9223372036854775807",
            "1%20OR%201=1",
            "1;DROP%20TABLE%20items",
            "%00",
            "%F0%9F%92%A9",
            "%27%20OR%20%27%27=%27",
            "..%2F..%2Fetc%2Fpasswd",
            "1e3",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        ids.push("7".repeat(5000));
        let mut failures = Vec::new();
        for id in &ids {
            let path = format!("/api/items/{id}");
            for method in [Method::GET, Method::PATCH, Method::PUT, Method::DELETE] {
                let body = (method == Method::PATCH || method == Method::PUT)
                    .then(|| json!({"name": "n", "code": "c"}));
                let reply = app
                    .json_with(method.clone(), &path, Some(&alice), &[], body)
                    .await;
                let what = format!("{:?}: {method} {path}", app.backend);
                failures.extend(unhandled(&reply, &what));
            }
        }
        assert_none_failed(&failures);
    })
    .await;
}

#[tokio::test]
async fn odd_bodies_never_yield_a_500() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let mut values: Vec<Json> = odd_strings().into_iter().map(Json::from).collect();
        values.extend([
            json!({"nested": {"deeper": [1, 2, {"x": null}]}}),
            json!([1, "two", null]),
            json!(1e308),
            json!(-1e308),
            json!(5e-324),
            json!(-0.0),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(true),
            json!(null),
            json!(""),
            json!("0000-01-01T00:00:00Z"),
            json!("9999-12-31T23:59:59Z"),
            json!("+275760-09-13T00:00:00Z"),
            json!("2026-02-30T00:00:00Z"),
            json!({"\u{1}": "\u{7f}"}),
        ]);
        let fields = ["name", "note", "price", "qty", "meta", "due", "category_id"];
        let mut n = 0;
        let mut failures = Vec::new();
        for value in &values {
            for field in fields {
                n += 1;
                let mut body = json!({"name": "odd", "code": format!("ODD-{n}")});
                body[field] = value.clone();
                let what = |m: &str| {
                    format!(
                        "{:?}: {m} {field} = {}",
                        app.backend,
                        value.to_string().chars().take(80).collect::<String>()
                    )
                };
                let reply = post_json(&app, "/api/items", Some(&alice), body).await;
                failures.extend(unhandled(&reply, &what("POST")));
                let reply = app
                    .json_with(
                        Method::PATCH,
                        "/api/items/1",
                        Some(&alice),
                        &[],
                        Some(json!({field: value})),
                    )
                    .await;
                failures.extend(unhandled(&reply, &what("PATCH")));
            }
        }
        // Deeply nested JSON (beyond serde_json's recursion limit).
        let deep = format!(
            "{{\"name\":\"d\",\"code\":\"DEEP\",\"meta\":{}1{}}}",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        let reply = app
            .raw(
                Method::POST,
                "/api/items",
                Some(&alice),
                &[("content-type", "application/json")],
                Some(deep.into_bytes()),
            )
            .await;
        failures.extend(unhandled(&reply, "deeply nested meta"));
        // The list still renders whatever was stored.
        let reply = app
            .raw(Method::GET, "/api/items?limit=10", None, &[], None)
            .await;
        failures.extend(unhandled(&reply, "list after odd writes"));
        assert_none_failed(&failures);
    })
    .await;
}

#[tokio::test]
async fn odd_headers_never_yield_a_500() {
    on_each_backend("posts", |app| async move {
        for (name, value) in [
            ("authorization", "Bearer"),
            ("authorization", "Bearer "),
            ("authorization", "Basic dXNlcjpwYXNz"),
            ("authorization", "Bearer not.a.jwt"),
            (
                "authorization",
                "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
            ),
            ("if-match", "\"99999999999999999999999\""),
            ("if-match", "W/"),
            ("content-type", "application/json; charset=latin1"),
            ("accept", "application/xml"),
        ] {
            for (method, path) in [(Method::GET, "/api/posts"), (Method::PATCH, "/api/posts/4")] {
                let mut headers = vec![(name, value)];
                let body = (method == Method::PATCH).then(|| {
                    if name != "content-type" {
                        headers.push(("content-type", "application/json"));
                    }
                    b"{\"title\":\"x\"}".to_vec()
                });
                let reply = app.raw(method.clone(), path, None, &headers, body).await;
                assert_handled(&reply, &format!("{method} {path} with {name}: {value}"));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn nul_characters_in_text_never_yield_a_500() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let reply = post_json(
            &app,
            "/api/items",
            Some(&alice),
            json!({"name": "a\u{0}b", "code": "NUL-1"}),
        )
        .await;
        assert_handled(&reply, &format!("{:?}: POST name with NUL", app.backend));
        let reply = app
            .json_with(
                Method::PATCH,
                "/api/items/1",
                Some(&alice),
                &[],
                Some(json!({"note": "\u{0}"})),
            )
            .await;
        assert_handled(&reply, &format!("{:?}: PATCH note with NUL", app.backend));
        for (param, value) in [
            ("filter", "row.name == '\u{0}'"),
            ("search", "\u{0}"),
            ("filter", "contains(row.name, 'a\u{0}')"),
        ] {
            let path = with_query("/api/items", &[(param, value)]);
            let reply = app.raw(Method::GET, &path, None, &[], None).await;
            assert_handled(&reply, &format!("{:?}: {param}={value:?}", app.backend));
        }
    })
    .await;
}

#[tokio::test]
async fn filter_comparing_a_timestamp_with_a_non_timestamp_gets_400() {
    on_kitchen(|app| async move {
        for filter in ["row.due > 'not a time'", "row.due == 'yesterday'"] {
            let path = with_query("/api/items", &[("filter", filter)]);
            let (status, body) = app.call(Method::GET, &path, None, None).await;
            assert_problem(
                status,
                &body,
                400,
                "invalid-query",
                &format!("{:?}: filter={filter}", app.backend),
            );
        }
        // A real timestamp literal is fine.
        let path = with_query(
            "/api/items",
            &[("filter", "row.due > '2025-06-01T00:00:00Z'")],
        );
        let items = app.list_items(&path, None).await;
        assert_eq!(common::field_values(&items, "id"), [json!(1)]);
    })
    .await;
}

// ------------------------------------- injection and resource consumption

/// Classic SQL injection payloads, for every place a client value meets
/// SQL.
fn injections() -> Vec<&'static str> {
    vec![
        "' OR '1'='1",
        "' OR 1=1 --",
        "1 OR 1=1",
        "1; DROP TABLE items; --",
        "') OR ('a'='a",
        "\" OR \"\"=\"",
        "' UNION SELECT email, password FROM users --",
        "1' AND SLEEP(5) --",
        "'; SELECT pg_sleep(5); --",
        "x' || (SELECT password FROM users LIMIT 1) || '",
        "%' --",
        "\\'; --",
        "*/ OR /*",
    ]
}

/// Every row of items and users, read from the store (not through rules).
async fn table_sizes(app: &TestApp) -> Vec<usize> {
    let mut sizes = Vec::new();
    for name in ["users", "items", "categories", "tags", "vaults"] {
        let resource = app.app.config().resource(name).expect("resource");
        let rows = app
            .app
            .store()
            .fetch_rows(resource, &warden::store::select_all(resource))
            .await
            .expect("rows");
        sizes.push(rows.len());
    }
    sizes
}

#[tokio::test]
async fn sql_injection_through_filter_sort_search_ids_and_values_is_inert() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let before = table_sizes(&app).await;
        let bob_secret_filter = "row.owner_id == 3";
        let bobs_items = app
            .list_items(
                &with_query("/api/items", &[("filter", bob_secret_filter)]),
                Some(&alice),
            )
            .await
            .len();
        let mut failures = Vec::new();
        for payload in injections() {
            let started = std::time::Instant::now();
            // As a filter, both as the whole text and inside a literal.
            for filter in [
                payload.to_owned(),
                format!("row.name == '{}'", payload.replace('\'', "''")),
                format!("row.name == '{payload}'"),
            ] {
                let reply = app
                    .raw(
                        Method::GET,
                        &with_query("/api/items", &[("filter", &filter)]),
                        Some(&alice),
                        &[],
                        None,
                    )
                    .await;
                failures.extend(unhandled(&reply, &format!("filter {filter:?}")));
                if reply.status == 200 {
                    // A literal is a literal: it matches no item name.
                    assert_eq!(
                        reply.json["items"],
                        json!([]),
                        "filter {filter:?} matched rows"
                    );
                }
            }
            // As sort, search, cursor, limit and expand.
            for param in ["sort", "search", "cursor", "limit", "expand"] {
                let reply = app
                    .raw(
                        Method::GET,
                        &with_query("/api/items", &[(param, payload)]),
                        Some(&alice),
                        &[],
                        None,
                    )
                    .await;
                failures.extend(unhandled(&reply, &format!("{param}={payload:?}")));
                if param == "search" && reply.status == 200 {
                    assert_eq!(
                        reply.json["items"],
                        json!([]),
                        "search {payload:?} matched rows"
                    );
                }
            }
            // As an id.
            let id =
                percent_encoding::utf8_percent_encode(payload, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            for method in [Method::GET, Method::PATCH, Method::DELETE] {
                let body = (method == Method::PATCH).then(|| json!({"name": "x"}));
                let reply = app
                    .json_with(
                        method.clone(),
                        &format!("/api/items/{id}"),
                        Some(&alice),
                        &[],
                        body,
                    )
                    .await;
                failures.extend(unhandled(&reply, &format!("{method} id {payload:?}")));
                assert_eq!(
                    reply.status, 404,
                    "{method} /api/items/{payload:?}: {}",
                    reply.text
                );
            }
            // As a value: stored verbatim, read back verbatim.
            let code = format!("INJ-{}", common::uuid_like());
            let reply = post_json(
                &app,
                "/api/items",
                Some(&alice),
                json!({"name": payload, "note": payload, "code": code}),
            )
            .await;
            assert_eq!(reply.status, 201, "create with {payload:?}: {}", reply.text);
            let id = reply.json["id"].as_i64().expect("id");
            let (status, body) = app
                .call(Method::GET, &format!("/api/items/{id}"), Some(&alice), None)
                .await;
            assert_eq!(status, 200);
            assert_eq!(body["name"], payload);
            assert_eq!(body["note"], payload);
            // None of these may make the database sleep.
            assert!(
                started.elapsed() < std::time::Duration::from_secs(4),
                "{payload:?} took {:?}",
                started.elapsed()
            );
        }
        assert_none_failed(&failures);
        // Nothing was dropped or rewritten: only the created items are new,
        // and Bob's items are still hidden from Alice exactly as before.
        let after = table_sizes(&app).await;
        assert_eq!(after[0], before[0], "users");
        assert_eq!(after[1], before[1] + injections().len(), "items");
        assert_eq!(&after[2..], &before[2..]);
        let still = app
            .list_items(
                &with_query("/api/items", &[("filter", bob_secret_filter)]),
                Some(&alice),
            )
            .await
            .len();
        assert_eq!(still, bobs_items);
    })
    .await;
}

#[tokio::test]
async fn like_wildcards_in_search_and_filters_match_only_themselves() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        for (n, name) in ["100% juice", "under_score", "back\\slash"]
            .iter()
            .enumerate()
        {
            let reply = post_json(
                &app,
                "/api/items",
                Some(&alice),
                json!({"name": name, "code": format!("W-{n}")}),
            )
            .await;
            assert_eq!(reply.status, 201, "{}", reply.text);
        }
        for (term, expected) in [
            ("%", vec!["100% juice"]),
            ("_", vec!["under_score"]),
            ("\\", vec!["back\\slash"]),
            ("0%", vec!["100% juice"]),
            ("r_s", vec!["under_score"]),
            ("%%", vec![]),
        ] {
            let items = app
                .list_items(
                    &with_query("/api/items", &[("search", term), ("limit", "100")]),
                    Some(&alice),
                )
                .await;
            let names: Vec<Json> = common::field_values(&items, "name");
            let expected: Vec<Json> = expected.into_iter().map(Json::from).collect();
            assert_eq!(names, expected, "{:?}: search {term:?}", app.backend);
            let filter = format!(
                "contains(row.name, '{}')",
                term.replace('\\', "\\\\").replace('\'', "\\'")
            );
            let items = app
                .list_items(
                    &with_query("/api/items", &[("filter", &filter), ("limit", "100")]),
                    Some(&alice),
                )
                .await;
            assert_eq!(
                common::field_values(&items, "name"),
                expected,
                "{:?}: filter {filter}",
                app.backend
            );
        }
    })
    .await;
}

/// A request that must be refused quickly, with a 4xx problem.
async fn assert_quick_4xx(
    app: &TestApp,
    reply_of: impl std::future::Future<Output = Reply>,
    what: &str,
) -> Reply {
    let started = std::time::Instant::now();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(10), reply_of)
        .await
        .unwrap_or_else(|_| panic!("{:?}: {what}: no answer within 10 s", app.backend));
    assert!(
        (400..500).contains(&reply.status),
        "{:?}: {what}: {} {}",
        app.backend,
        reply.status,
        reply.text.chars().take(200).collect::<String>()
    );
    if !reply.text.is_empty() {
        assert!(
            reply.json["type"]
                .as_str()
                .is_some_and(|t| t.starts_with(common::PROBLEMS)),
            "{what}: not a problem: {}",
            reply.text.chars().take(200).collect::<String>()
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{what}: took {:?}",
        started.elapsed()
    );
    reply
}

#[tokio::test]
async fn oversized_and_malformed_requests_get_a_quick_4xx_within_the_caps() {
    on_kitchen(|app| async move {
        let alice = app.login("alice@example.com").await;
        let json_header = [("content-type", "application/json")];
        // Alice's list with a query, and her JSON post of raw bytes.
        let list = async |query: &[(&str, &str)]| {
            app.raw(
                Method::GET,
                &with_query("/api/items", query),
                Some(&alice),
                &[],
                None,
            )
            .await
        };
        let post = async |body: Vec<u8>| {
            app.raw(
                Method::POST,
                "/api/items",
                Some(&alice),
                &json_header,
                Some(body),
            )
            .await
        };
        // A huge limit is capped at the resource's max_page_size.
        let max = app
            .app
            .config()
            .resource("items")
            .expect("items")
            .max_page_size as usize;
        for limit in ["1000000", "4294967295", "99999999999999999999"] {
            let reply = list(&[("limit", limit)]).await;
            assert_handled(&reply, &format!("limit={limit}"));
            if reply.status == 200 {
                let n = reply.json["items"].as_array().expect("items").len();
                assert!(n <= max, "limit={limit} gave {n} items, over the cap {max}");
            }
        }
        // Thousands of expand entries: a valid relation repeated, and
        // unknown ones.
        let repeated = vec!["owner"; 5000].join(",");
        let started = std::time::Instant::now();
        let reply = list(&[("expand", &repeated)]).await;
        assert_handled(&reply, "expand=owner x5000");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "expand x5000 took {:?}",
            started.elapsed()
        );
        let unknown: String = (0..5000)
            .map(|i| format!("r{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_quick_4xx(
            &app,
            list(&[("expand", &unknown)]),
            "expand of 5000 unknown relations",
        )
        .await;
        // Long strings: a 60 KB filter, sort, cursor and search (near the
        // longest URL a client library sends).
        let long = "a".repeat(60_000);
        for param in ["filter", "sort", "cursor"] {
            assert_quick_4xx(&app, list(&[(param, &long)]), &format!("60 KB {param}")).await;
        }
        let reply = list(&[("search", &long)]).await;
        assert_handled(&reply, "60 KB search");
        // A filter nested far past the parser's depth limit, and a long
        // flat one.
        let nested = format!("{}row.id == 1{}", "(".repeat(5_000), ")".repeat(5_000));
        assert_quick_4xx(
            &app,
            list(&[("filter", &nested)]),
            "filter nested 5,000 deep",
        )
        .await;
        let flat = vec!["row.id == 1"; 2000].join(" || ");
        let reply = list(&[("filter", &flat)]).await;
        assert_handled(&reply, "filter of 2,000 comparisons");
        // Invalid UTF-8: in the query string, in the path, in a JSON body.
        for path in [
            "/api/items?filter=%FF%FE",
            "/api/items?search=%C3%28",
            "/api/items/%FF",
        ] {
            let reply = app.raw(Method::GET, path, Some(&alice), &[], None).await;
            assert_handled(&reply, path);
        }
        let mut body = b"{\"name\":\"".to_vec();
        body.extend([0xff, 0xfe, 0xc3, 0x28]);
        body.extend(b"\",\"code\":\"UTF\"}");
        assert_quick_4xx(&app, post(body), "invalid UTF-8 in a JSON body").await;
        // Deeply nested JSON as the whole body, and wide JSON.
        let deep = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        assert_quick_4xx(&app, post(deep.into_bytes()), "body nested 100,000 deep").await;
        let wide: String = format!(
            "{{{}\"name\":\"w\"}}",
            (0..40_000)
                .map(|i| format!("\"f{i}\":1,"))
                .collect::<String>()
        );
        assert_quick_4xx(&app, post(wide.into_bytes()), "40,000 unknown fields").await;
        // Bodies over the cap, with and without a truthful length.
        let huge = vec![b'a'; 8 * 1024 * 1024];
        let reply = assert_quick_4xx(&app, post(huge), "8 MiB body").await;
        assert_eq!(reply.status, 413);
        // A 1 MB string field value inside the cap is taken or refused,
        // never a 500.
        let reply = post_json(
            &app,
            "/api/items",
            Some(&alice),
            json!({"name": "x".repeat(900_000), "code": "LONG"}),
        )
        .await;
        assert_handled(&reply, "900 KB name");
        // A request line of 1 MB (past what client libraries send): a 4xx
        // or a closed connection, never a 500 or a hang.
        let answer = raw_request_line(
            &app,
            &format!("/api/items?filter={}", "a".repeat(1_000_000)),
        )
        .await;
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
            "1 MB request line: {}",
            answer.chars().take(200).collect::<String>()
        );
        // The server is still answering.
        let (status, _) = app.call(Method::GET, "/healthz", None, None).await;
        assert_eq!(status, 200);
    })
    .await;
}

/// Sends `GET target` over a bare connection and returns what comes back
/// (empty when the server closes the connection).
async fn raw_request_line(app: &TestApp, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let request = format!("GET {target} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "no answer and no close within 10 s");
    String::from_utf8_lossy(&answer).into_owned()
}
