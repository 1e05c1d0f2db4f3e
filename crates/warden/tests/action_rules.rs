//! An update or delete rule grants what it says, whatever the read rule
//! says (issue 20, item 4): a caller whose rule admits the row acts on it
//! even when the read rule hides the row from them, and is then answered
//! only the row's key; a caller whose rule refuses gets 403 when they may
//! read the row and otherwise the answer of a read (404 here, 401 when
//! anonymous), and learns nothing else about it — not its version from a
//! stale `If-Match`, not a body's mistakes. On the `shop` fixture, on
//! SQLite and (with `WARDEN_TEST_POSTGRES`) PostgreSQL.
//!
//! Seed: user 1 admin (superuser), 2 Ann, 3 Bob, 4 Cat (courier). Orders
//! 10, 11 (shared), 14 are Ann's; 12, 13 (shared) Bob's. Cat is the
//! courier of 10 (may change its status, not cancel it) and of 12 (may
//! cancel it). Orders are read by their customer, shared ones by anyone
//! logged in: the superuser and Cat may read none of 10, 12, 14. The
//! library's `Guard::authorize` decides as the built-in actions do.

mod common;

use common::logs::LogBuffer;
use common::{TestApp, assert_problem, fixture_config, on_each_backend_config};
use reqwest::Method;
use serde_json::{Value as Json, json};
use std::sync::OnceLock;
use warden::Action;

const ADMIN: &str = "admin@example.com";
const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";
const CAT: &str = "cat@example.com";

async fn shop<F, Fut>(scenario: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    on_each_backend_config(&fixture_config("shop"), scenario).await;
}

/// The order as its customer reads it (status, JSON).
async fn as_customer(app: &TestApp, customer: &str, id: u32) -> (u16, Json) {
    let token = app.login(customer).await;
    app.call(
        Method::GET,
        &format!("/api/orders/{id}"),
        Some(&token),
        None,
    )
    .await
}

/// The order's version (its `ETag`), as its customer reads it.
async fn etag(app: &TestApp, customer: &str, id: u32) -> String {
    let token = app.login(customer).await;
    let reply = app
        .raw(
            Method::GET,
            &format!("/api/orders/{id}"),
            Some(&token),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.header("etag").expect("ETag").to_owned()
}

/// An `ETag` naming a version the row is not at.
fn stale(etag: &str) -> String {
    let version: i64 = etag.trim_matches('"').parse().expect("numeric version");
    format!("\"{}\"", version + 7)
}

// ------------------------------------------------------------ delete

#[tokio::test]
async fn superuser_deletes_an_order_it_cannot_read() {
    shop(|app| async move {
        let admin = app.login(ADMIN).await;
        let (status, body) = app
            .call(Method::GET, "/api/orders/10", Some(&admin), None)
            .await;
        assert_problem(status, &body, 404, "not-found", "the read rule hides it");
        let (status, body) = app
            .call(Method::DELETE, "/api/orders/10", Some(&admin), None)
            .await;
        assert_eq!(status, 204, "{:?}: {body}", app.backend);
        let (status, _) = as_customer(&app, ANN, 10).await;
        assert_eq!(status, 404, "the order is gone");
    })
    .await;
}

#[tokio::test]
async fn customer_deletes_own_order() {
    shop(|app| async move {
        let ann = app.login(ANN).await;
        let (status, body) = app
            .call(Method::DELETE, "/api/orders/10", Some(&ann), None)
            .await;
        assert_eq!(status, 204, "{:?}: {body}", app.backend);
        let (status, _) = as_customer(&app, ANN, 10).await;
        assert_eq!(status, 404, "the order is gone");
    })
    .await;
}

#[tokio::test]
async fn other_customer_gets_404_on_delete_of_an_order_it_cannot_read_and_403_of_one_it_can() {
    shop(|app| async move {
        let bob = app.login(BOB).await;
        let (status, body) = app
            .call(Method::DELETE, "/api/orders/10", Some(&bob), None)
            .await;
        assert_problem(status, &body, 404, "not-found", "hidden and not Bob's");
        let (status, body) = app
            .call(Method::DELETE, "/api/orders/11", Some(&bob), None)
            .await;
        assert_problem(status, &body, 403, "forbidden", "shared but not Bob's");
        for id in [10, 11] {
            let (status, _) = as_customer(&app, ANN, id).await;
            assert_eq!(status, 200, "order {id} is still there");
        }
    })
    .await;
}

#[tokio::test]
async fn courier_deletes_only_the_order_it_may_cancel() {
    shop(|app| async move {
        let cat = app.login(CAT).await;
        // Courier of 10 without `may_cancel`: neither readable nor deletable.
        let (status, body) = app
            .call(Method::DELETE, "/api/orders/10", Some(&cat), None)
            .await;
        assert_problem(status, &body, 404, "not-found", "Cat may not cancel 10");
        // Courier of 12 with `may_cancel`: the `exists` decides in SQL.
        let (status, body) = app
            .call(Method::DELETE, "/api/orders/12", Some(&cat), None)
            .await;
        assert_eq!(status, 204, "{:?}: {body}", app.backend);
        let (status, _) = as_customer(&app, ANN, 10).await;
        assert_eq!(status, 200, "order 10 is still there");
        let (status, _) = as_customer(&app, BOB, 12).await;
        assert_eq!(status, 404, "order 12 is gone");
    })
    .await;
}

// ------------------------------------------------------- PATCH and PUT

#[tokio::test]
async fn superuser_updates_an_order_it_cannot_read_and_is_answered_only_its_key() {
    shop(|app| async move {
        let admin = app.login(ADMIN).await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/orders/10",
                Some(&admin),
                Some(json!({"status": "held"})),
            )
            .await;
        assert_eq!(status, 200, "{:?}: {body}", app.backend);
        assert_eq!(
            body,
            json!({"id": 10}),
            "only the key of a row it may not read"
        );
        let (status, body) = app
            .call(
                Method::PUT,
                "/api/orders/14",
                Some(&admin),
                Some(json!({"item": "big tray", "status": "packed", "shared": false})),
            )
            .await;
        assert_eq!(status, 200, "{:?}: {body}", app.backend);
        assert_eq!(body, json!({"id": 14}));
        let (_, order) = as_customer(&app, ANN, 10).await;
        assert_eq!(order["status"], "held", "{order}");
        let (_, order) = as_customer(&app, ANN, 14).await;
        assert_eq!(
            (&order["item"], &order["status"]),
            (&json!("big tray"), &json!("packed")),
            "{order}"
        );
    })
    .await;
}

#[tokio::test]
async fn customer_updates_own_order_and_is_answered_the_row() {
    shop(|app| async move {
        let ann = app.login(ANN).await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/orders/10",
                Some(&ann),
                Some(json!({"item": "blue teapot"})),
            )
            .await;
        assert_eq!(status, 200, "{:?}: {body}", app.backend);
        assert_eq!(body["item"], "blue teapot", "{body}");
        assert_eq!(body["customer_id"], 2, "{body}");
    })
    .await;
}

#[tokio::test]
async fn other_customer_gets_404_on_patch_and_put_of_an_order_it_cannot_read_and_403_of_one_it_can()
{
    shop(|app| async move {
        let bob = app.login(BOB).await;
        let put = json!({"item": "mine now", "status": "new", "shared": true});
        for method in [Method::PATCH, Method::PUT] {
            let (status, body) = app
                .call(
                    method.clone(),
                    "/api/orders/10",
                    Some(&bob),
                    Some(put.clone()),
                )
                .await;
            assert_problem(status, &body, 404, "not-found", &format!("{method} 10"));
            let (status, body) = app
                .call(
                    method.clone(),
                    "/api/orders/11",
                    Some(&bob),
                    Some(put.clone()),
                )
                .await;
            assert_problem(status, &body, 403, "forbidden", &format!("{method} 11"));
        }
        // A body's mistakes tell nothing about a row Bob may neither see
        // nor change: the same 404 as for a row that does not exist.
        for id in [10, 999] {
            let (status, body) = app
                .call(
                    Method::PATCH,
                    &format!("/api/orders/{id}"),
                    Some(&bob),
                    Some(json!({"w_not_a_field": 1})),
                )
                .await;
            assert_problem(
                status,
                &body,
                404,
                "not-found",
                &format!("bad body on {id}"),
            );
        }
        for id in [10, 11] {
            let (_, order) = as_customer(&app, ANN, id).await;
            assert_ne!(order["item"], "mine now", "order {id} unchanged: {order}");
        }
    })
    .await;
}

#[tokio::test]
async fn courier_changes_the_status_it_may_not_read_but_not_the_item() {
    shop(|app| async move {
        let cat = app.login(CAT).await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/orders/10",
                Some(&cat),
                Some(json!({"status": "shipped"})),
            )
            .await;
        assert_eq!(status, 200, "{:?}: {body}", app.backend);
        assert_eq!(body, json!({"id": 10}));
        // The rule reads `new`: decided once the body is read, in the
        // statement that writes; refused as a row Cat may not see.
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/orders/10",
                Some(&cat),
                Some(json!({"item": "stolen teapot"})),
            )
            .await;
        assert_problem(status, &body, 404, "not-found", "Cat changes the item");
        // Shared, so readable, but not Cat's to deliver.
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/orders/11",
                Some(&cat),
                Some(json!({"status": "shipped"})),
            )
            .await;
        assert_problem(status, &body, 403, "forbidden", "Cat on shared 11");
        let (_, order) = as_customer(&app, ANN, 10).await;
        assert_eq!(
            (&order["item"], &order["status"]),
            (&json!("teapot"), &json!("shipped")),
            "{order}"
        );
    })
    .await;
}

// ------------------------------------------- anonymous, missing, If-Match

#[tokio::test]
async fn anonymous_gets_401_on_every_write_whether_or_not_the_order_exists() {
    shop(|app| async move {
        for id in [10, 11, 999] {
            let path = format!("/api/orders/{id}");
            for (method, body) in [
                (Method::DELETE, None),
                (Method::PATCH, Some(json!({"status": "x"}))),
                (Method::PUT, Some(json!({"item": "x"}))),
            ] {
                let (status, body) = app.call(method.clone(), &path, None, body).await;
                assert_problem(
                    status,
                    &body,
                    401,
                    "unauthenticated",
                    &format!("{method} {path}"),
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_missing_order_is_404_even_to_the_superuser() {
    shop(|app| async move {
        let admin = app.login(ADMIN).await;
        for (method, body) in [
            (Method::DELETE, None),
            (Method::PATCH, Some(json!({"status": "x"}))),
            (
                Method::PUT,
                Some(json!({"item": "x", "status": "x", "shared": false})),
            ),
        ] {
            let (status, body) = app
                .call(method.clone(), "/api/orders/999", Some(&admin), body)
                .await;
            assert_problem(status, &body, 404, "not-found", &format!("{method} 999"));
        }
    })
    .await;
}

#[tokio::test]
async fn a_stale_if_match_is_412_only_to_a_caller_whose_rule_admits_the_row() {
    shop(|app| async move {
        let admin = app.login(ADMIN).await;
        let bob = app.login(BOB).await;
        let cat = app.login(CAT).await;
        let current = etag(&app, ANN, 10).await;
        let old = stale(&current);
        let patch = |token: &str, body: Json, if_match: &str| {
            let token = token.to_owned();
            let if_match = if_match.to_owned();
            let app = &app;
            async move {
                app.json_with(
                    Method::PATCH,
                    "/api/orders/10",
                    Some(&token),
                    &[("if-match", &if_match)],
                    Some(body),
                )
                .await
            }
        };
        let delete = |token: &str, id: u32, if_match: &str| {
            let token = token.to_owned();
            let if_match = if_match.to_owned();
            let app = &app;
            async move {
                app.raw(
                    Method::DELETE,
                    &format!("/api/orders/{id}"),
                    Some(&token),
                    &[("if-match", &if_match)],
                    None,
                )
                .await
            }
        };
        // Admitted by their rule, though they may not read the row.
        patch(&admin, json!({"status": "x"}), &old)
            .await
            .assert_problem(412, "precondition-failed", "the superuser's stale PATCH");
        delete(&admin, 10, &old).await.assert_problem(
            412,
            "precondition-failed",
            "the superuser's stale DELETE",
        );
        patch(&cat, json!({"status": "x"}), &old)
            .await
            .assert_problem(412, "precondition-failed", "Cat's stale status change");
        let cancel = delete(&cat, 12, &stale(&etag(&app, BOB, 12).await)).await;
        cancel.assert_problem(412, "precondition-failed", "Cat's stale cancel of 12");
        // Refused by their rule and unable to read the row: as a row they
        // may not see, the version untold.
        patch(&bob, json!({"status": "x"}), &old)
            .await
            .assert_problem(404, "not-found", "Bob's stale PATCH");
        delete(&bob, 10, &old)
            .await
            .assert_problem(404, "not-found", "Bob's stale DELETE");
        delete(&cat, 10, &old)
            .await
            .assert_problem(404, "not-found", "Cat's stale cancel of 10");
        patch(&cat, json!({"item": "stolen teapot"}), &old)
            .await
            .assert_problem(404, "not-found", "Cat's stale item change");
        assert_eq!(etag(&app, ANN, 10).await, current, "nothing was written");
        // With the current version, the superuser acts.
        let reply = patch(&admin, json!({"status": "held"}), &current).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let moved = etag(&app, ANN, 10).await;
        assert_ne!(moved, current, "the version moved");
        let reply = delete(&admin, 10, &moved).await;
        assert_eq!(reply.status, 204, "{}", reply.text);
    })
    .await;
}

// ------------------------------------------------------- the library

#[tokio::test]
async fn the_library_guard_authorizes_a_write_as_the_built_in_action_decides() {
    for backend in common::backends() {
        let database = common::TestDatabase::create(&backend).await;
        let config = fixture_config("shop");
        let warden = warden::Warden::from_file(&config)
            .database(&database.url)
            .jwt_secret(common::SECRET)
            .seed(config.with_file_name("seed.toml"))
            .build()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let log_in = |login: &'static str| {
            let warden = &warden;
            async move {
                warden
                    .log_in(login, common::PASSWORD, None)
                    .await
                    .unwrap_or_else(|e| panic!("{login}: {e}"))
            }
        };
        let (admin, bob) = (log_in(ADMIN).await, log_in(BOB).await);
        for action in [Action::Update, Action::Delete] {
            let context = format!("{backend:?} {}", action.name());
            let item = warden
                .guard(Some(&admin))
                .authorize(action, "orders", "10")
                .await
                .unwrap_or_else(|e| panic!("{context}: the superuser is admitted: {e}"));
            assert_eq!(Json::Object(item.json), json!({"id": 10}), "{context}");
            let status = |answer: Result<warden::Item, warden::Error>| {
                answer.map(|_| 200).unwrap_or_else(|e| e.status().as_u16())
            };
            let guard = warden.guard(Some(&bob));
            assert_eq!(
                status(guard.authorize(action, "orders", "10").await),
                404,
                "{context}"
            );
            assert_eq!(
                status(guard.authorize(action, "orders", "11").await),
                403,
                "{context}"
            );
            let guard = warden.guard(Some(&admin));
            assert_eq!(
                status(guard.authorize(action, "orders", "999").await),
                404,
                "{context}"
            );
            let guard = warden.guard(None);
            assert_eq!(
                status(guard.authorize(action, "orders", "10").await),
                401,
                "{context}"
            );
        }
    }
}

// ------------------------------------------------------------- the log

/// The server's log lines, captured by a subscriber installed once for
/// this test binary (other tests' lines land in it too).
fn logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = LogBuffer::default();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(logs.clone())
            .init();
        logs
    })
}

/// Log lines of denials of `action` on `orders/<id>` to `principal`.
fn denials(principal: u32, action: &str, id: u32) -> Vec<String> {
    logs()
        .text()
        .lines()
        .filter(|line| {
            line.contains(" denied ")
                && line.contains(&format!("principal={principal} "))
                && line.contains(&format!("action=\"{action}\""))
                && line.contains("resource=orders ")
                && line.contains(&format!("id={id} "))
        })
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_refused_write_logs_its_own_rule_and_an_admitted_one_logs_no_denial() {
    logs();
    shop(|app| async move {
        let bob = app.login(BOB).await;
        let admin = app.login(ADMIN).await;
        let (status, _) = app
            .call(Method::DELETE, "/api/orders/14", Some(&bob), None)
            .await;
        assert_eq!(status, 404);
        let (status, _) = app
            .call(Method::DELETE, "/api/orders/14", Some(&admin), None)
            .await;
        assert_eq!(status, 204);
    })
    .await;
    let refused = denials(3, "delete", 14);
    assert!(
        !refused.is_empty(),
        "Bob's refused delete is logged:\n{}",
        logs().text()
    );
    for line in &refused {
        assert!(
            line.contains("resources.orders.rules.delete"),
            "the delete rule is explained: {line}"
        );
    }
    assert_eq!(
        denials(1, "delete", 14),
        Vec::<String>::new(),
        "the superuser's delete was not denied"
    );
}
