//! Seed 001 (FastAPI employees app with OAuth2 scopes) replayed against
//! the `employees` example: employees are the users, each with its own
//! mix of the four scopes; the tutorial's seven routes as warden requests.
//! (The HTML answers and the login redirect are tested with the HTML
//! interface.)

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{SECRET, TestApp, assert_problem, field_values, on_each_backend, with_query};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value as Json, json};
use sha2::Sha256;

/// All four scopes.
const GEORGI: &str = "georgi.facello.10001@example.com";
/// `admin:read` only.
const WEIJING: &str = "weijing.showalter.67000@example.com";
/// `user:read` only.
const NIDAPAN: &str = "nidapan.samarati.262556@example.com";
/// `user:read user:write`.
const PARTO: &str = "parto.bamford.10003@example.com";
/// No scopes.
const KYOICHI: &str = "kyoichi.maliniak.10005@example.com";

/// `/emp/search/{partial-last-name}/{partial-first-name}` as a filter.
fn search(last: &str, first: &str) -> String {
    with_query(
        "/api/employees",
        &[(
            "filter",
            &format!("icontains(row.last_name, '{last}') && icontains(row.first_name, '{first}')"),
        )],
    )
}

/// `/emp/own-get-update`: the caller's own row, whatever scopes it has.
fn own(emp_no: i64) -> String {
    with_query(
        "/api/employees",
        &[(
            "filter",
            &format!("row.emp_no == user.id && row.emp_no == {emp_no}"),
        )],
    )
}

fn new_employee(email: &str) -> Json {
    json!({
        "first_name": "Ada", "last_name": "Lovelace", "gender": "F",
        "birth_date": "1815-12-10", "hire_date": "2026-11-01",
        "email": email, "password": "password123"
    })
}

fn token_claims(token: &str) -> Json {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

/// The same token with `exp` an hour ago, signed again with the server's
/// secret: only its age is wrong.
fn expired(token: &str) -> String {
    let mut claims = token_claims(token);
    let now = claims["iat"].as_i64().expect("iat");
    claims["iat"] = json!(now - 7200);
    claims["nbf"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let head = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("key");
    mac.update(format!("{head}.{body}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{signature}")
}

#[tokio::test]
async fn token_carries_the_employee_number_and_the_employees_own_scopes() {
    on_each_backend("employees", |app| async move {
        for (login, emp_no, scope) in [
            (GEORGI, 10001, "admin:read admin:write user:read user:write"),
            (WEIJING, 67000, "admin:read"),
            (NIDAPAN, 262556, "user:read"),
            (PARTO, 10003, "user:read user:write"),
        ] {
            let claims = token_claims(&app.login(login).await);
            assert_eq!(claims["sub"], emp_no.to_string(), "{login}");
            assert_eq!(claims["emp_no"], emp_no, "{login}");
            assert_eq!(claims["scope"], scope, "{login}");
        }
    })
    .await;
}

#[tokio::test]
async fn admin_reader_67000_searches_by_partial_last_and_first_name() {
    on_each_backend("employees", |app| async move {
        let token = app.login(WEIJING).await;
        let items = app.list_items(&search("fac", "geo"), Some(&token)).await;
        assert_eq!(field_values(&items, "emp_no"), [json!(10001)]);
        assert!(items[0].get("password").is_none(), "{items:?}");
        // Partial last name only: both Facellos.
        let items = app.list_items(&search("FaC", ""), Some(&token)).await;
        assert_eq!(
            field_values(&items, "emp_no"),
            [json!(10001), json!(10327)],
            "{:?}",
            app.backend
        );
        // `search` matches either name.
        let items = app
            .list_items("/api/employees?search=preusig", Some(&token))
            .await;
        assert_eq!(field_values(&items, "emp_no"), [json!(10006)]);
    })
    .await;
}

#[tokio::test]
async fn search_shows_others_only_to_admin_readers() {
    on_each_backend("employees", |app| async move {
        // user:read alone: the search is filtered down to the caller.
        let nidapan = app.login(NIDAPAN).await;
        let items = app.list_items(&search("fac", ""), Some(&nidapan)).await;
        assert!(items.is_empty(), "{items:?}");
        let items = app.list_items("/api/employees", Some(&nidapan)).await;
        assert_eq!(field_values(&items, "emp_no"), [json!(262556)]);
        // No scopes at all: a login that may search nothing.
        let kyoichi = app.login(KYOICHI).await;
        let (status, body) = app
            .call(Method::GET, &search("fac", ""), Some(&kyoichi), None)
            .await;
        assert_problem(status, &body, 403, "forbidden", "no scopes, no search");
        // Not logged in.
        let (status, body) = app.call(Method::GET, &search("fac", ""), None, None).await;
        assert_problem(status, &body, 401, "unauthenticated", "anonymous search");
    })
    .await;
}

#[tokio::test]
async fn admin_reader_67000_reads_any_employee_for_update() {
    on_each_backend("employees", |app| async move {
        let token = app.login(WEIJING).await;
        for emp_no in [10001, 10003, 262556, 67000] {
            let (status, body) = app
                .call(
                    Method::GET,
                    &format!("/api/employees/{emp_no}"),
                    Some(&token),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{:?}: {body}", app.backend);
            assert_eq!(body["emp_no"], emp_no);
            assert!(body.get("password").is_none(), "{body}");
        }
        let (status, body) = app
            .call(Method::GET, "/api/employees/99999", Some(&token), None)
            .await;
        assert_problem(status, &body, 404, "not-found", "no such employee");
    })
    .await;
}

#[tokio::test]
async fn user_reader_262556_reads_own_record_but_not_10001() {
    on_each_backend("employees", |app| async move {
        let token = app.login(NIDAPAN).await;
        let (status, body) = app
            .call(Method::GET, "/api/employees/262556", Some(&token), None)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["last_name"], "Samarati");
        let (status, body) = app
            .call(Method::GET, "/api/employees/10001", Some(&token), None)
            .await;
        assert_problem(status, &body, 403, "forbidden", "another's record");
    })
    .await;
}

#[tokio::test]
async fn own_route_gives_only_the_callers_record_even_to_an_admin_reader() {
    on_each_backend("employees", |app| async move {
        for (login, emp_no) in [(GEORGI, 10001), (NIDAPAN, 262556), (PARTO, 10003)] {
            let token = app.login(login).await;
            let items = app.list_items(&own(emp_no), Some(&token)).await;
            assert_eq!(field_values(&items, "emp_no"), [json!(emp_no)], "{login}");
            // Another employee's number on the own route: nothing, even
            // for Georgi, who holds admin:read.
            let items = app.list_items(&own(10005), Some(&token)).await;
            assert!(items.is_empty(), "{login}: {items:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn admin_writer_10001_creates_an_employee_with_email_and_password() {
    on_each_backend("employees", |app| async move {
        let token = app.login(GEORGI).await;
        let (status, created) = app
            .call(
                Method::POST,
                "/api/employees",
                Some(&token),
                Some(new_employee("ada.lovelace@example.com")),
            )
            .await;
        assert_eq!(status, 201, "{:?}: {created}", app.backend);
        assert_eq!(created["email"], "ada.lovelace@example.com");
        assert!(created["emp_no"].as_i64().is_some(), "{created}");
        assert!(created.get("password").is_none(), "{created}");
        // The new employee logs in with the password given.
        let _ = app.login("ada.lovelace@example.com").await;
        // Without email and password: refused, naming both.
        let mut incomplete = new_employee("unused@example.com");
        if let Some(fields) = incomplete.as_object_mut() {
            fields.remove("email");
            fields.remove("password");
        }
        let (status, body) = app
            .call(
                Method::POST,
                "/api/employees",
                Some(&token),
                Some(incomplete),
            )
            .await;
        assert_problem(
            status,
            &body,
            400,
            "validation",
            "email and password required",
        );
        let fields: Vec<&Json> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| &e["field"])
            .collect();
        assert_eq!(fields, [&json!("email"), &json!("password")], "{body}");
    })
    .await;
}

#[tokio::test]
async fn a_second_employee_with_the_same_email_is_409() {
    on_each_backend("employees", |app| async move {
        let token = app.login(GEORGI).await;
        let (status, body) = app
            .call(
                Method::POST,
                "/api/employees",
                Some(&token),
                Some(new_employee(PARTO)),
            )
            .await;
        assert_problem(status, &body, 409, "conflict", "email taken");
        assert_eq!(body["fields"], json!(["email"]), "{body}");
    })
    .await;
}

#[tokio::test]
async fn only_admin_write_creates_employees() {
    on_each_backend("employees", |app| async move {
        for login in [WEIJING, NIDAPAN, PARTO, KYOICHI] {
            let token = app.login(login).await;
            let reply = app
                .json_with(
                    Method::POST,
                    "/api/employees",
                    Some(&token),
                    &[],
                    Some(new_employee("someone@example.com")),
                )
                .await;
            reply.assert_problem(403, "insufficient-scope", login);
            let challenge = reply.header("www-authenticate").unwrap_or_default();
            assert!(
                challenge.contains("insufficient_scope") && challenge.contains("admin:write"),
                "{login}: {challenge}"
            );
        }
        let (status, body) = app
            .call(
                Method::POST,
                "/api/employees",
                None,
                Some(new_employee("someone@example.com")),
            )
            .await;
        assert_problem(status, &body, 401, "unauthenticated", "anonymous create");
    })
    .await;
}

#[tokio::test]
async fn admin_writer_10001_updates_any_employee() {
    on_each_backend("employees", |app| async move {
        let token = app.login(GEORGI).await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/employees/10003",
                Some(&token),
                Some(json!({"last_name": "Bamford-Smith", "hire_date": "1986-09-01"})),
            )
            .await;
        assert_eq!(status, 200, "{:?}: {body}", app.backend);
        assert_eq!(body["last_name"], "Bamford-Smith");
        assert_eq!(body["hire_date"], "1986-09-01");
        // Gender stays M or F.
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/employees/10003",
                Some(&token),
                Some(json!({"gender": "X"})),
            )
            .await;
        assert_problem(status, &body, 403, "forbidden", "gender X");
    })
    .await;
}

#[tokio::test]
async fn user_writer_10003_updates_own_record_but_not_10004() {
    on_each_backend("employees", |app| async move {
        let token = app.login(PARTO).await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/employees/10003",
                Some(&token),
                Some(json!({"first_name": "Parto J."})),
            )
            .await;
        assert_eq!(status, 200, "{:?}: {body}", app.backend);
        assert_eq!(body["first_name"], "Parto J.");
        // 10004 is not Parto's: the read rule already hides it.
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/employees/10004",
                Some(&token),
                Some(json!({"first_name": "Mallory"})),
            )
            .await;
        assert_problem(status, &body, 403, "forbidden", "another's record");
        // An admin reader sees 10004 unchanged.
        let reader = app.login(WEIJING).await;
        let (_, body) = app
            .call(Method::GET, "/api/employees/10004", Some(&reader), None)
            .await;
        assert_eq!(body["first_name"], "Chirstian");
    })
    .await;
}

#[tokio::test]
async fn readers_without_write_scopes_update_nothing_not_even_themselves() {
    on_each_backend("employees", |app| async move {
        for (login, emp_no) in [(NIDAPAN, 262556), (WEIJING, 67000), (WEIJING, 10003)] {
            let token = app.login(login).await;
            let (status, body) = app
                .call(
                    Method::PATCH,
                    &format!("/api/employees/{emp_no}"),
                    Some(&token),
                    Some(json!({"first_name": "Changed"})),
                )
                .await;
            assert_problem(status, &body, 403, "forbidden", login);
        }
    })
    .await;
}

#[tokio::test]
async fn email_and_password_are_ignored_on_update() {
    on_each_backend("employees", |app| async move {
        let token = app.login(PARTO).await;
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/employees/10003",
                Some(&token),
                Some(json!({
                    "last_name": "Bamford",
                    "email": "parto@elsewhere.example",
                    "password": "a-new-password"
                })),
            )
            .await;
        assert_eq!(status, 200, "{:?}: {body}", app.backend);
        assert_eq!(body["email"], PARTO, "the email did not change");
        // The old password still works, under the old email.
        let _ = app.login(PARTO).await;
        // The same through the administrator.
        let admin = app.login(GEORGI).await;
        let (status, body) = app
            .call(
                Method::PUT,
                "/api/employees/10003",
                Some(&admin),
                Some(json!({
                    "first_name": "Parto", "last_name": "Bamford", "gender": "M",
                    "birth_date": "1959-12-03", "hire_date": "1986-08-28",
                    "email": "parto@elsewhere.example", "password": "a-new-password"
                })),
            )
            .await;
        assert_eq!(status, 200, "{:?}: {body}", app.backend);
        assert_eq!(body["email"], PARTO);
        let _ = app.login(PARTO).await;
    })
    .await;
}

#[tokio::test]
async fn nobody_deletes_an_employee() {
    on_each_backend("employees", |app| async move {
        let token = app.login(GEORGI).await;
        let (status, body) = app
            .call(Method::DELETE, "/api/employees/10005", Some(&token), None)
            .await;
        assert_problem(status, &body, 403, "forbidden", "no delete rule");
    })
    .await;
}

#[tokio::test]
async fn an_expired_token_is_401() {
    on_each_backend("employees", |app: TestApp| async move {
        let token = app.login(GEORGI).await;
        let stale = expired(&token);
        for path in ["/api/employees/10001", "/api/employees", "/auth/me"] {
            let reply = app.raw(Method::GET, path, Some(&stale), &[], None).await;
            reply.assert_problem(401, "invalid-token", path);
            let challenge = reply.header("www-authenticate").unwrap_or_default();
            assert!(challenge.contains("invalid_token"), "{path}: {challenge}");
        }
        // The fresh token it was made from still works.
        let (status, _) = app
            .call(Method::GET, "/api/employees/10001", Some(&token), None)
            .await;
        assert_eq!(status, 200);
    })
    .await;
}
