//! Who is calling, black-box: registration, the OAuth2 token endpoint
//! (password and refresh grants), bad tokens, scopes, cookie sessions with
//! CSRF, logout, login limits and deactivated users, against a real
//! server on SQLite and (with WARDEN_TEST_POSTGRES) PostgreSQL.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{PASSWORD, Reply, SECRET, Session, TestApp, fixture_config, on_each_backend_config};
use hmac::{Hmac, Mac};
use reqwest::Method;
use sea_query::{Alias, Expr, ExprTrait, Query};
use serde_json::{Value as Json, json};
use sha2::Sha256;
use warden::config::Config;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";

/// alice's password grant, asking for `scope`.
async fn scoped_grant(app: &TestApp, scope: &str) -> Reply {
    app.token_request(&[
        ("grant_type", "password"),
        ("username", ALICE),
        ("password", PASSWORD),
        ("scope", scope),
    ])
    .await
}

/// A password grant that must succeed: (access token, refresh token).
async fn tokens(app: &TestApp, user: &str) -> (String, String) {
    let reply = app.password_grant(user, PASSWORD).await;
    assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
    reply.tokens()
}

#[track_caller]
fn assert_invalid_token(reply: &Reply, context: &str) {
    reply.assert_problem(401, "invalid-token", context);
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
        "{context}: {challenge}"
    );
}

async fn set_active(app: &TestApp, id: i64, active: bool) {
    app.app
        .store()
        .execute(
            Query::update()
                .table(Alias::new("users"))
                .value(Alias::new("active"), active)
                .and_where(Expr::col(Alias::new("id")).eq(id)),
        )
        .await
        .expect("update");
}

#[tokio::test]
async fn register_then_token_then_me() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let reply = app
            .post_json("/auth/register", json!({"email": "new@example.com", "password": PASSWORD, "name": "New"}))
            .await;
        assert_eq!(reply.status, 201, "{:?}: {}", app.backend, reply.text);
        assert_eq!(reply.json["email"], "new@example.com");
        assert!(reply.json.get("password").is_none(), "{}", reply.text);
        assert!(!reply.text.contains("argon2"), "{}", reply.text);

        let (access, _) = tokens(&app, "new@example.com").await;
        let (status, me) = app.call(Method::GET, "/auth/me", Some(&access), None).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["user"]["email"], "new@example.com");
        assert_eq!(me["scopes"], json!([]));
        assert!(me.get("csrf_token").is_none(), "bearer callers get no CSRF token");
        assert!(!me.to_string().contains("argon2"));

        let again = app
            .post_json("/auth/register", json!({"email": "new@example.com", "password": "another one"}))
            .await;
        again.assert_problem(409, "conflict", "duplicate login");

        let short = app
            .post_json("/auth/register", json!({"email": "short@example.com", "password": "1234567"}))
            .await;
        short.assert_problem(400, "validation", "password under 8 characters");

        let superuser = app
            .post_json("/auth/register", json!({"email": "evil@example.com", "password": "password123", "is_superuser": true}))
            .await;
        superuser.assert_problem(400, "readonly-fields", "self-made superuser");
    })
    .await;
}

#[tokio::test]
async fn registration_can_be_switched_off() {
    let path = fixture_config("auth");
    let text = std::fs::read_to_string(&path)
        .expect("fixture")
        .replace("registration = true", "registration = false");
    for backend in common::backends() {
        let config = Config::parse(&path, &text).expect("config");
        let app = TestApp::spawn_config(config, backend, true).await;
        let reply = app
            .post_json(
                "/auth/register",
                json!({"email": "new@example.com", "password": "password123"}),
            )
            .await;
        reply.assert_problem(403, "forbidden", "registration off");
    }
}

#[tokio::test]
async fn unknown_user_and_wrong_password_give_identical_answers() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let unknown = app.password_grant("nobody@example.com", PASSWORD).await;
        let wrong = app.password_grant(ALICE, "wrong password").await;
        assert_eq!(unknown.status, 400, "{}", unknown.text);
        assert_eq!(unknown.json["error"], "invalid_grant");
        assert_eq!((unknown.status, &unknown.text), (wrong.status, &wrong.text));
        assert_eq!(unknown.header("cache-control"), Some("no-store"));
        assert_eq!(wrong.header("cache-control"), Some("no-store"));

        let login = |user: &'static str, password: &'static str| {
            app.post_json("/auth/login", json!({"email": user, "password": password}))
        };
        let unknown = login("nobody@example.com", PASSWORD).await;
        let wrong = login(BOB, "wrong password").await;
        unknown.assert_problem(401, "unauthenticated", "unknown user at /auth/login");
        assert_eq!((unknown.status, &unknown.text), (wrong.status, &wrong.text));
        assert!(unknown.header("set-cookie").is_none());
    })
    .await;
}

#[tokio::test]
async fn token_endpoint_follows_rfc_6749() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let ok = app.password_grant(ALICE, PASSWORD).await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.json["token_type"], "Bearer");
        assert_eq!(ok.json["expires_in"], 600);
        assert_eq!(ok.json["scope"], "notes:read notes:write");
        assert!(
            ok.json["refresh_token"]
                .as_str()
                .is_some_and(|t| t.len() >= 43)
        );
        assert_eq!(ok.header("cache-control"), Some("no-store"));

        // Client credentials in the body are accepted and ignored.
        let with_client = app
            .token_request(&[
                ("grant_type", "password"),
                ("username", ALICE),
                ("password", PASSWORD),
                ("client_id", "app"),
                ("client_secret", "ignored"),
            ])
            .await;
        assert_eq!(with_client.status, 200, "{}", with_client.text);

        for (form, error) in [
            (
                vec![("username", ALICE), ("password", PASSWORD)],
                "invalid_request",
            ),
            (
                vec![("grant_type", "password"), ("username", ALICE)],
                "invalid_request",
            ),
            (
                vec![("grant_type", "client_credentials")],
                "unsupported_grant_type",
            ),
            (vec![("grant_type", "refresh_token")], "invalid_request"),
        ] {
            let reply = app.token_request(&form).await;
            assert_eq!(reply.status, 400, "{form:?}: {}", reply.text);
            assert_eq!(reply.json["error"], error, "{form:?}");
            assert_eq!(reply.header("cache-control"), Some("no-store"));
        }
        let json_body = app
            .post_json(
                "/auth/token",
                json!({"grant_type": "password", "username": ALICE, "password": PASSWORD}),
            )
            .await;
        assert_eq!(json_body.status, 400);
        assert_eq!(json_body.json["error"], "invalid_request");
    })
    .await;
}

#[tokio::test]
async fn scope_narrows_but_never_widens() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let narrowed = scoped_grant(&app, "notes:read").await;
        assert_eq!(narrowed.status, 200, "{}", narrowed.text);
        assert_eq!(narrowed.json["scope"], "notes:read");
        let access = narrowed.json["access_token"].as_str().expect("token");
        let (status, me) = app.call(Method::GET, "/auth/me", Some(access), None).await;
        assert_eq!(status, 200);
        assert_eq!(me["scopes"], json!(["notes:read"]));
        // Narrowed away: creating notes now needs a scope the token lacks.
        let create = app
            .json_with(
                Method::POST,
                "/api/notes",
                Some(access),
                &[],
                Some(json!({"body": "hi"})),
            )
            .await;
        create.assert_problem(403, "insufficient-scope", "narrowed token");

        let wider = scoped_grant(&app, "notes:read admin:read").await;
        assert_eq!(wider.status, 400, "{}", wider.text);
        assert_eq!(wider.json["error"], "invalid_scope");
        let unknown = scoped_grant(&app, "made:up").await;
        assert_eq!(unknown.json["error"], "invalid_scope");

        // A refresh may narrow further, never widen past the family.
        let refresh_token = narrowed.json["refresh_token"].as_str().expect("refresh");
        let widened = app
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("scope", "notes:read notes:write"),
            ])
            .await;
        assert_eq!(widened.status, 400, "{}", widened.text);
        assert_eq!(widened.json["error"], "invalid_scope");
    })
    .await;
}

#[tokio::test]
async fn insufficient_scope_is_403_with_the_challenge() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let (bob, _) = tokens(&app, BOB).await;
        let create = app
            .json_with(
                Method::POST,
                "/api/notes",
                Some(&bob),
                &[],
                Some(json!({"body": "hi"})),
            )
            .await;
        create.assert_problem(403, "insufficient-scope", "bob lacks notes:write");
        assert_eq!(
            create.header("www-authenticate"),
            Some("Bearer realm=\"warden\", error=\"insufficient_scope\", scope=\"notes:write\"")
        );
        assert_eq!(create.json["scope"], "notes:write");

        let (alice, _) = tokens(&app, ALICE).await;
        let reports = app
            .raw(Method::GET, "/api/reports", Some(&alice), &[], None)
            .await;
        reports.assert_problem(403, "insufficient-scope", "alice is no admin");
        assert!(
            reports
                .header("www-authenticate")
                .is_some_and(|h| h.contains("scope=\"admin:read\""))
        );
        // Before any row is read: even a missing id answers 403, not 404.
        let missing = app
            .raw(Method::GET, "/api/reports/999", Some(&alice), &[], None)
            .await;
        missing.assert_problem(403, "insufficient-scope", "missing report");

        let anonymous = app.raw(Method::GET, "/api/notes", None, &[], None).await;
        anonymous.assert_problem(401, "unauthenticated", "anonymous list");
        assert_eq!(
            anonymous.header("www-authenticate"),
            Some("Bearer realm=\"warden\"")
        );

        // The admin role grants admin:read; rules still apply after scopes.
        let (carol, _) = tokens(&app, CAROL).await;
        let items = app.list_items("/api/reports", Some(&carol)).await;
        assert_eq!(items.len(), 1);
        let created = app
            .json_with(
                Method::POST,
                "/api/notes",
                Some(&alice),
                &[],
                Some(json!({"body": "mine"})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    })
    .await;
}

fn sign(header: &Json, claims: &Json, key: &[u8]) -> String {
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("key");
    mac.update(format!("{head}.{body}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{signature}")
}

fn claims(exp_offset: i64) -> Json {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    json!({
        "sub": "1", "iat": now - 7200, "nbf": now - 7200, "exp": now + exp_offset,
        "iss": "warden", "aud": "warden", "jti": "t", "scope": "notes:read notes:write"
    })
}

#[tokio::test]
async fn expired_tampered_foreign_unsigned_and_confused_tokens_are_401() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let hs256 = json!({"alg": "HS256", "typ": "JWT"});
        // Sanity: the hand-made signature is right, so each failure below
        // is the one its name says.
        let good = sign(&hs256, &claims(600), SECRET);
        let (status, body) = app.call(Method::GET, "/auth/me", Some(&good), None).await;
        assert_eq!(status, 200, "{body}");

        let expired = sign(&hs256, &claims(-3600), SECRET);
        let wrong_key = sign(&hs256, &claims(600), b"another-secret-another-secret-!!");
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut forged = claims(600);
        forged["sub"] = json!("3");
        parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
        let tampered = parts.join(".");
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims(600).to_string())
        );
        // Key confusion: an RS256 header over an HMAC made with our secret
        // (what a server treating the key as "public key bytes" accepts).
        let confused = sign(&json!({"alg": "RS256", "typ": "JWT"}), &claims(600), SECRET);
        for (name, token) in [
            ("expired", expired),
            ("wrong key", wrong_key),
            ("tampered", tampered),
            ("alg none", unsigned),
            ("HS/RS confusion", confused),
            ("garbage", "not.a.token".to_owned()),
        ] {
            let reply = app
                .raw(Method::GET, "/auth/me", Some(&token), &[], None)
                .await;
            assert_invalid_token(&reply, name);
        }
        let scheme = app
            .raw(
                Method::GET,
                "/auth/me",
                None,
                &[("authorization", "Basic YWxpY2U6cGFzc3dvcmQ=")],
                None,
            )
            .await;
        assert_invalid_token(&scheme, "Basic scheme");
    })
    .await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let (first_access, first) = tokens(&app, ALICE).await;
        let rotated = app.refresh(&first).await;
        assert_eq!(rotated.status, 200, "{}", rotated.text);
        assert_eq!(rotated.header("cache-control"), Some("no-store"));
        let (second_access, second) = rotated.tokens();
        assert_ne!(first, second);
        assert_eq!(rotated.json["scope"], "notes:read notes:write");
        let (status, _) = app
            .call(Method::GET, "/auth/me", Some(&second_access), None)
            .await;
        assert_eq!(status, 200);
        let (status, _) = app
            .call(Method::GET, "/auth/me", Some(&first_access), None)
            .await;
        assert_eq!(status, 200, "rotation alone does not end access tokens");

        // The spent token comes back: someone copied it. The family dies.
        let replay = app.refresh(&first).await;
        assert_eq!(replay.status, 400, "{}", replay.text);
        assert_eq!(replay.json["error"], "invalid_grant");
        let after = app.refresh(&second).await;
        assert_eq!(
            after.json["error"], "invalid_grant",
            "the whole family is revoked"
        );
        for token in [&first_access, &second_access] {
            let reply = app
                .raw(Method::GET, "/auth/me", Some(token), &[], None)
                .await;
            assert_invalid_token(&reply, "access token of a revoked family");
        }
        // Another session of the same user is untouched.
        let (other, _) = tokens(&app, ALICE).await;
        let (status, _) = app.call(Method::GET, "/auth/me", Some(&other), None).await;
        assert_eq!(status, 200);

        let unknown = app.refresh("made-up-token").await;
        assert_eq!(unknown.json["error"], "invalid_grant");
    })
    .await;
}

#[tokio::test]
async fn logout_ends_the_session_and_its_refresh_tokens() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let (access, refresh_token) = tokens(&app, ALICE).await;
        let out = app
            .raw(Method::POST, "/auth/logout", Some(&access), &[], None)
            .await;
        assert_eq!(out.status, 204, "{}", out.text);
        let me = app
            .raw(Method::GET, "/auth/me", Some(&access), &[], None)
            .await;
        assert_invalid_token(&me, "access token after logout");
        let again = app.refresh(&refresh_token).await;
        assert_eq!(again.json["error"], "invalid_grant");

        let session = app.cookie_login(ALICE).await;
        let out = app
            .as_browser(Some(&session), Method::POST, "/auth/logout", None)
            .await;
        assert_eq!(out.status, 204, "{}", out.text);
        let cleared = out.header("set-cookie").unwrap_or_default();
        assert!(cleared.starts_with("warden_session=;") && cleared.contains("Max-Age=0"));
        let me = app
            .as_browser(Some(&session), Method::GET, "/auth/me", None)
            .await;
        me.assert_problem(401, "unauthenticated", "cookie after logout");
    })
    .await;
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_of_the_account() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let (first_access, first_refresh) = tokens(&app, ALICE).await;
        let (second_access, second_refresh) = tokens(&app, ALICE).await;
        let session = app.cookie_login(ALICE).await;
        let (bob_access, _) = tokens(&app, BOB).await;
        // Remembered callers too: the bearer reads below come from memory.
        for _ in 0..2 {
            let (status, _) = app
                .call(Method::GET, "/api/users/1", Some(&second_access), None)
                .await;
            assert_eq!(status, 200);
        }

        let bad = app
            .raw(
                Method::POST,
                "/auth/logout?everywhere=maybe",
                Some(&first_access),
                &[],
                None,
            )
            .await;
        bad.assert_problem(400, "invalid-query", "everywhere=maybe");
        let everywhere = "/auth/logout?everywhere=true";
        let anonymous = app.as_browser(None, Method::POST, everywhere, None).await;
        anonymous.assert_problem(401, "unauthenticated", "anonymous logout everywhere");

        // From the cookie session (with its CSRF token, as any write).
        let out = app
            .as_browser(Some(&session), Method::POST, everywhere, None)
            .await;
        assert_eq!(out.status, 204, "{:?}: {}", app.backend, out.text);
        for token in [&first_access, &second_access] {
            let me = app
                .raw(Method::GET, "/auth/me", Some(token), &[], None)
                .await;
            assert_invalid_token(&me, "access token after logout everywhere");
            let read = app
                .raw(Method::GET, "/api/users/1", Some(token), &[], None)
                .await;
            assert_invalid_token(&read, "read after logout everywhere");
        }
        for refresh_token in [&first_refresh, &second_refresh] {
            assert_eq!(
                app.refresh(refresh_token).await.json["error"],
                "invalid_grant"
            );
        }
        let me = app
            .as_browser(Some(&session), Method::GET, "/auth/me", None)
            .await;
        me.assert_problem(401, "unauthenticated", "cookie after logout everywhere");
        let (status, _) = app
            .call(Method::GET, "/auth/me", Some(&bob_access), None)
            .await;
        assert_eq!(status, 200, "another account's session");
    })
    .await;
}

#[tokio::test]
async fn a_refresh_family_ends_at_refresh_max_age_however_often_it_is_refreshed() {
    let path = fixture_config("auth");
    let source = std::fs::read_to_string(&path).expect("config").replace(
        "token_ttl = \"10m\"",
        "token_ttl = \"10m\"\nrefresh_max_age = \"1h\"",
    );
    for backend in common::backends() {
        let config = Config::parse(&path, &source).unwrap_or_else(|e| panic!("{e}"));
        let app = TestApp::spawn_config(config, backend, true).await;
        let (_, first) = tokens(&app, ALICE).await;
        // 40 minutes pass: refreshed well inside refresh_ttl (14 days).
        age_sessions(&app, 40 * 60).await;
        let rotated = app.refresh(&first).await;
        assert_eq!(rotated.status, 200, "{:?}: {}", app.backend, rotated.text);
        let (access, second) = rotated.tokens();
        let (status, _) = app
            .call(Method::GET, "/api/users/1", Some(&access), None)
            .await;
        assert_eq!(status, 200);
        // 40 more: the family is 80 minutes old, past its hour, though
        // its last refresh was 40 minutes ago.
        age_sessions(&app, 40 * 60).await;
        let late = app.refresh(&second).await;
        assert_eq!(
            late.json["error"], "invalid_grant",
            "{:?}: {}",
            app.backend, late.text
        );
        for path in ["/auth/me", "/api/users/1"] {
            let reply = app.raw(Method::GET, path, Some(&access), &[], None).await;
            assert_invalid_token(&reply, "an access token of the ended family");
        }
    }
}

/// Moves every session and refresh token `seconds` into the past, as if
/// that much time had passed.
async fn age_sessions(app: &TestApp, seconds: i64) {
    for (table, columns) in [
        (
            "_warden_sessions",
            &["created_at", "last_seen_at", "expires_at"][..],
        ),
        ("_warden_refresh_tokens", &["created_at", "expires_at"][..]),
    ] {
        let mut update = Query::update();
        update.table(Alias::new(table));
        for column in columns {
            update.value(
                Alias::new(*column),
                Expr::col(Alias::new(*column)).sub(seconds),
            );
        }
        app.app.store().execute(&update).await.expect("age");
    }
}

#[tokio::test]
async fn cookie_sessions_need_csrf_on_unsafe_methods() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let page = app.raw(Method::GET, "/auth/login", None, &[], None).await;
        assert_eq!(page.status, 200);
        assert!(
            page.header("content-type")
                .is_some_and(|c| c.starts_with("text/html"))
        );
        assert!(
            page.text
                .contains("<form method=\"post\" action=\"/auth/login\">")
        );

        let login = app
            .raw(
                Method::POST,
                "/auth/login",
                None,
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("x-forwarded-proto", "https"),
                ],
                Some(b"login=alice%40example.com&password=password123".to_vec()),
            )
            .await;
        assert_eq!(login.status, 200, "{}", login.text);
        let set_cookie = login.header("set-cookie").expect("cookie");
        for attribute in ["warden_session=", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(set_cookie.contains(attribute), "{set_cookie}");
        }
        assert!(
            !set_cookie.contains("Secure"),
            "proxy headers are not trusted by default"
        );
        assert_eq!(login.header("cache-control"), Some("no-store"));

        let Session { cookie, csrf } = app.cookie_login(ALICE).await;
        let (status, me) = {
            let reply = app
                .raw(Method::GET, "/auth/me", None, &[("cookie", &cookie)], None)
                .await;
            (reply.status, reply.json)
        };
        assert_eq!(status, 200);
        assert_eq!(me["csrf_token"], csrf.as_str());
        // Safe methods need no token.
        let list = app
            .raw(
                Method::GET,
                "/api/notes",
                None,
                &[("cookie", &cookie)],
                None,
            )
            .await;
        assert_eq!(list.status, 200, "{}", list.text);

        let body = serde_json::to_vec(&json!({"body": "via cookie"})).expect("json");
        let json_type = ("content-type", "application/json");
        let missing = app
            .raw(
                Method::POST,
                "/api/notes",
                None,
                &[("cookie", &cookie), json_type],
                Some(body.clone()),
            )
            .await;
        missing.assert_problem(403, "forbidden", "cookie POST without CSRF token");
        let wrong = app
            .raw(
                Method::POST,
                "/api/notes",
                None,
                &[("cookie", &cookie), json_type, ("x-csrf-token", "nope")],
                Some(body.clone()),
            )
            .await;
        wrong.assert_problem(403, "forbidden", "cookie POST with a wrong CSRF token");
        let delete = app
            .raw(
                Method::DELETE,
                "/api/notes/10",
                None,
                &[("cookie", &cookie)],
                None,
            )
            .await;
        delete.assert_problem(403, "forbidden", "cookie DELETE without CSRF token");
        let right = app
            .raw(
                Method::POST,
                "/api/notes",
                None,
                &[("cookie", &cookie), json_type, ("x-csrf-token", &csrf)],
                Some(body.clone()),
            )
            .await;
        assert_eq!(right.status, 201, "{}", right.text);

        // Bearer requests need none.
        let (access, _) = tokens(&app, ALICE).await;
        let bearer = app
            .raw(
                Method::POST,
                "/api/notes",
                Some(&access),
                &[json_type],
                Some(body),
            )
            .await;
        assert_eq!(bearer.status, 201, "{}", bearer.text);

        // An HTML form sends the token as a field.
        let form_logout = app
            .raw(
                Method::POST,
                "/auth/logout",
                None,
                &[
                    ("cookie", &cookie),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                Some(format!("csrf_token={csrf}").into_bytes()),
            )
            .await;
        assert_eq!(form_logout.status, 204, "{}", form_logout.text);
    })
    .await;
}

#[tokio::test]
async fn logins_sent_by_another_sites_page_are_refused_without_a_cookie() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let own_origin = app.base.clone();
        let form = b"login=alice%40example.com&password=password123".to_vec();
        let post = |extra: Vec<(&'static str, String)>| {
            let form = form.clone();
            let app = &app;
            async move {
                // Without `Accept: text/html`, so the answer is not a
                // redirect (which the test client would follow).
                let mut headers: Vec<(&str, &str)> =
                    vec![("content-type", "application/x-www-form-urlencoded")];
                headers.extend(extra.iter().map(|(n, v)| (*n, v.as_str())));
                app.raw(Method::POST, "/auth/login", None, &headers, Some(form))
                    .await
            }
        };
        // What a browser sends for another site's auto-submitted form.
        for (context, headers) in [
            (
                "Origin of another site",
                vec![("origin", "https://evil.example".to_owned())],
            ),
            (
                "Origin of another site, as a modern browser",
                vec![
                    ("origin", "https://evil.example".to_owned()),
                    ("sec-fetch-site", "cross-site".to_owned()),
                ],
            ),
            (
                "a sibling subdomain",
                vec![("sec-fetch-site", "same-site".to_owned())],
            ),
            ("a sandboxed frame", vec![("origin", "null".to_owned())]),
            (
                "this host on another port",
                vec![(
                    "origin",
                    own_origin.replace(|c: char| c.is_ascii_digit(), "9"),
                )],
            ),
        ] {
            let reply = post(headers).await;
            reply.assert_problem(403, "forbidden", context);
            assert!(
                reply.header("set-cookie").is_none(),
                "{context}: a cookie was set"
            );
        }
        // The login page's own form, from an old and a current browser,
        // and a script that sends neither header: logged in.
        for (context, headers) in [
            ("own Origin", vec![("origin", own_origin.clone())]),
            (
                "own Origin, as a modern browser",
                vec![
                    ("origin", own_origin.clone()),
                    ("sec-fetch-site", "same-origin".to_owned()),
                ],
            ),
            ("no browser", vec![]),
        ] {
            let reply = post(headers).await;
            assert_eq!(reply.status, 200, "{context}: {}", reply.text);
            assert!(
                reply
                    .header("set-cookie")
                    .is_some_and(|c| c.starts_with("warden_session=")),
                "{context}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn failed_logins_are_limited_per_account_and_per_address() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        // A successful login gives its attempt back: more of them than
        // either budget holds use up neither.
        for _ in 0..8 {
            tokens(&app, CAROL).await;
        }
        for _ in 0..3 {
            let reply = app.password_grant(ALICE, "wrong password").await;
            assert_eq!(reply.json["error"], "invalid_grant");
        }
        // The fourth try is refused before the password is even checked.
        let limited = app.password_grant(ALICE, PASSWORD).await;
        limited.assert_problem(429, "too-many-requests", "account limit");
        let retry: u64 = limited
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After seconds");
        assert!((1..=900).contains(&retry), "{retry}");
        let cookie = app
            .post_json("/auth/login", json!({"email": ALICE, "password": PASSWORD}))
            .await;
        cookie.assert_problem(429, "too-many-requests", "the limit covers /auth/login");

        // Unknown accounts count the same; the address budget (6) runs out.
        for name in ["x1@example.com", "x2@example.com", "x3@example.com"] {
            let reply = app.password_grant(name, PASSWORD).await;
            assert_eq!(reply.json["error"], "invalid_grant");
        }
        let by_address = app.password_grant(BOB, PASSWORD).await;
        by_address.assert_problem(429, "too-many-requests", "address limit");
        assert!(by_address.header("retry-after").is_some());
    })
    .await;
}

#[tokio::test]
async fn deactivated_and_deleted_users_lose_their_tokens() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let (alice, alice_refresh) = tokens(&app, ALICE).await;
        let cookie = app.cookie_login(ALICE).await.cookie;
        set_active(&app, 1, false).await;
        let reply = app
            .raw(Method::GET, "/auth/me", Some(&alice), &[], None)
            .await;
        assert_invalid_token(&reply, "deactivated user's token");
        let me = app
            .raw(Method::GET, "/auth/me", None, &[("cookie", &cookie)], None)
            .await;
        me.assert_problem(401, "unauthenticated", "deactivated user's cookie");
        let again = app.refresh(&alice_refresh).await;
        assert_eq!(again.json["error"], "invalid_grant");
        let login = app.password_grant(ALICE, PASSWORD).await;
        assert_eq!(
            login.json["error"], "invalid_grant",
            "deactivated users cannot log in"
        );
        set_active(&app, 1, true).await;
        let login = app.password_grant(ALICE, PASSWORD).await;
        assert_eq!(login.status, 200, "{}", login.text);

        let (bob, _) = tokens(&app, BOB).await;
        app.app
            .store()
            .execute(
                Query::delete()
                    .from_table(Alias::new("users"))
                    .and_where(Expr::col(Alias::new("id")).eq(2i64)),
            )
            .await
            .expect("delete");
        let reply = app
            .raw(Method::GET, "/auth/me", Some(&bob), &[], None)
            .await;
        assert_invalid_token(&reply, "deleted user's token");
    })
    .await;
}

#[tokio::test]
async fn stale_password_hashes_are_upgraded_on_login() {
    use argon2::password_hash::PasswordHasher;
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let weak = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(8192, 1, 1, None).expect("params"),
        )
        .hash_password(PASSWORD.as_bytes())
        .expect("hash")
        .to_string();
        app.app
            .store()
            .execute(
                Query::update()
                    .table(Alias::new("users"))
                    .value(Alias::new("password"), weak.clone())
                    .and_where(Expr::col(Alias::new("id")).eq(1i64)),
            )
            .await
            .expect("update");
        let _ = tokens(&app, ALICE).await;
        let users = &app.app.config().resources["users"];
        let mut select = warden::store::select_all(users);
        select.and_where(Expr::col(Alias::new("id")).eq(1i64));
        let rows = app
            .app
            .store()
            .fetch_rows(users, &select)
            .await
            .expect("row");
        let stored = rows[0]["password"].to_string();
        assert!(!stored.contains("m=8192"), "{stored}");
        assert!(stored.contains("m=19456,t=2,p=1"), "{stored}");
        let _ = tokens(&app, ALICE).await;
    })
    .await;
}

#[tokio::test]
async fn not_yet_valid_wrong_issuer_audience_algorithm_and_missing_claims_are_401() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let hs256 = json!({"alg": "HS256", "typ": "JWT"});
        let now = claims(0)["exp"].as_i64().expect("now");
        let good = sign(&hs256, &claims(600), SECRET);
        let (status, body) = app.call(Method::GET, "/auth/me", Some(&good), None).await;
        assert_eq!(status, 200, "the hand-made token is valid: {body}");

        let with = |key: &str, value: Json| {
            let mut c = claims(600);
            c[key] = value;
            sign(&hs256, &c, SECRET)
        };
        let without = |key: &str| {
            let mut c = claims(600);
            c.as_object_mut().expect("claims").remove(key);
            sign(&hs256, &c, SECRET)
        };
        let mut cases = vec![
            ("not yet valid (nbf in an hour)", with("nbf", json!(now + 3600))),
            ("issued in the future and not yet valid", {
                let mut c = claims(600);
                c["iat"] = json!(now + 3600);
                c["nbf"] = json!(now + 3600);
                sign(&hs256, &c, SECRET)
            }),
            // Valid now by `nbf`, but dated an hour ahead: no token of ours.
            ("issued in the future (iat in an hour)", with("iat", json!(now + 3600))),
            ("issued just past the leeway", with("iat", json!(now + 30))),
            ("wrong issuer", with("iss", json!("someone-else"))),
            ("wrong audience", with("aud", json!("another-api"))),
            ("audience list without ours", with("aud", json!(["a", "b"]))),
            ("subject of nobody", with("sub", json!("999999"))),
            ("subject not a key", with("sub", json!("1 OR 1=1"))),
            ("expired beyond the leeway", with("exp", json!(now - 120))),
        ];
        for claim in ["exp", "nbf", "iss", "aud", "sub"] {
            cases.push((claim, without(claim)));
        }
        let parts: Vec<&str> = good.split('.').collect();
        for (alg, name) in [
            ("none", "alg none with a signature kept"),
            ("None", "alg None"),
            ("NONE", "alg NONE"),
            ("HS512", "HS512 (not the configured algorithm)"),
            ("HS384", "HS384"),
            ("RS256", "RS256 with an HMAC signature (key confusion)"),
            ("ES256", "ES256"),
            ("EdDSA", "EdDSA"),
        ] {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
            cases.push((name, format!("{header}.{}.{}", parts[1], parts[2])));
        }
        // A token signed with our secret but under another HMAC algorithm.
        {
            use hmac::Hmac;
            use sha2::Sha512;
            let head = URL_SAFE_NO_PAD.encode(json!({"alg": "HS512", "typ": "JWT"}).to_string());
            let body = URL_SAFE_NO_PAD.encode(claims(600).to_string());
            let mut mac = Hmac::<Sha512>::new_from_slice(SECRET).expect("key");
            mac.update(format!("{head}.{body}").as_bytes());
            let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
            cases.push(("HS512 signed with our secret", format!("{head}.{body}.{signature}")));
        }
        // Headers that name a key of the attacker's: ignored, so the
        // attacker's signature does not verify.
        for header in [
            json!({"alg": "HS256", "typ": "JWT", "jwk": {"kty": "oct", "k": URL_SAFE_NO_PAD.encode(b"attacker-key-attacker-key-attack")}}),
            json!({"alg": "HS256", "typ": "JWT", "jku": "http://127.0.0.1:1/keys", "kid": "../../dev/null"}),
        ] {
            cases.push((
                "header naming the attacker's key",
                sign(&header, &claims(600), b"attacker-key-attacker-key-attack"),
            ));
        }
        cases.push(("signature stripped", format!("{}.{}.", parts[0], parts[1])));
        cases.push(("two dots only", "..".to_owned()));
        cases.push(("payload not JSON", format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode("{nope"), parts[2])));
        for (name, token) in cases {
            let reply = app.raw(Method::GET, "/auth/me", Some(&token), &[], None).await;
            assert_invalid_token(&reply, name);
            // The same token on a resource route: refused as well, never a 500.
            let reply = app.raw(Method::GET, "/api/notes", Some(&token), &[], None).await;
            assert_invalid_token(&reply, name);
        }
    })
    .await;
}

#[tokio::test]
async fn a_planted_session_cookie_is_never_promoted_by_a_login() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        // Session fixation: the attacker's own (valid) session cookie, and
        // a made-up one, are planted in the victim's browser; the victim
        // logs in. The login must start a new session, and the planted
        // cookies must not become the victim's.
        let planted = app.cookie_login(CAROL).await.cookie;
        let invented = "warden_session=attacker-chosen-session-id-0123456789";
        for cookie in [planted.as_str(), invented] {
            let reply = app
                .json_with(
                    Method::POST,
                    "/auth/login",
                    None,
                    &[("cookie", cookie)],
                    Some(json!({"email": ALICE, "password": PASSWORD})),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            let issued = reply.header("set-cookie").expect("set-cookie");
            let pair = issued.split(';').next().expect("pair");
            assert_ne!(pair, cookie, "the login kept the planted session id");
            assert!(
                issued.contains("HttpOnly") && issued.contains("SameSite"),
                "{issued}"
            );
            let me = app
                .raw(Method::GET, "/auth/me", None, &[("cookie", cookie)], None)
                .await;
            assert_ne!(
                me.json["user"]["email"], ALICE,
                "the planted cookie became the victim's session: {}",
                me.text
            );
            let mine = app
                .raw(Method::GET, "/auth/me", None, &[("cookie", pair)], None)
                .await;
            assert_eq!(mine.json["user"]["email"], ALICE, "{}", mine.text);
        }
        let me = app
            .raw(Method::GET, "/auth/me", None, &[("cookie", invented)], None)
            .await;
        assert_eq!(
            me.status, 401,
            "an invented session id is nobody: {}",
            me.text
        );
    })
    .await;
}
