//! warden as a library: a `Warden` built from code and from a file, its
//! router merged into an app of one's own, and hand-written handlers
//! guarded by `Principal`, `require_scopes` and `Guard`, with the built-in
//! API's statuses. On SQLite and PostgreSQL.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use reqwest::Method;
use serde_json::{Value as Json, json};
use warden::sea_query::{Alias, Expr, ExprTrait, PostgresQueryBuilder, Query, SqliteQueryBuilder};
use warden::sea_query_sqlx::SqlxBinder;
use warden::{Action, Auth, Field, MaybePrincipal, Principal, Resource, Warden};
use warden_testkit::{TestDatabase, TestServer, backends};

const SECRET: &str = "library-test-secret-library-test-secret";

/// notes: private to their owner; `publish` is a hand-written action
/// that the notes' update rule governs.
fn notes_warden() -> warden::Builder {
    Warden::builder()
        .auth(
            Auth::new("users", "email")
                .role("admin", ["notes:audit"])
                .set("token_scheme", "Token"),
        )
        .resource(
            Resource::new("users")
                .field("id", Field::integer().primary())
                .field("email", Field::text().unique().immutable())
                .field("password", Field::password())
                .rule(Action::Read, "row.id == user.id"),
        )
        .resource(
            Resource::new("notes")
                .field("id", Field::integer().primary())
                .field("body", Field::text())
                .field("published", Field::bool().default_value(false))
                .field("owner_id", Field::integer().references("users").owner())
                .rule(Action::List, "row.owner_id == user.id || row.published")
                .rule(Action::Read, "row.owner_id == user.id || row.published")
                .rule(Action::Create, "user != null")
                .rule(Action::Update, "row.owner_id == user.id"),
        )
        .jwt_secret(SECRET)
}

async fn publish(
    State(warden): State<Warden>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Json>, warden::Error> {
    let guard = warden.guard(Some(&principal));
    guard.authorize(Action::Update, "notes", &id).await?;
    let item = guard
        .update("notes", &id, json!({"published": true}), None)
        .await?;
    Ok(axum::Json(Json::Object(item.json)))
}

async fn whoami(MaybePrincipal(who): MaybePrincipal) -> String {
    who.map_or_else(|| "anonymous".to_owned(), |p| p.id().to_string())
}

/// Counts the notes the caller may list with a statement of one's own.
async fn count(
    State(warden): State<Warden>,
    MaybePrincipal(who): MaybePrincipal,
) -> Result<String, warden::Error> {
    let scope = warden.guard(who.as_ref()).list_scope("notes")?;
    let notes = Alias::new("notes");
    let mut select = Query::select();
    select
        .expr(Expr::col((notes.clone(), Alias::new("id"))).count())
        .from(notes);
    scope.apply(&mut select);
    let counted: Result<i64, _> = if let Some(pool) = warden.sqlite_pool() {
        let (sql, values) = select.build_sqlx(SqliteQueryBuilder);
        warden::sqlx::query_scalar_with(warden::sqlx::AssertSqlSafe(sql), values)
            .fetch_one(pool)
            .await
    } else {
        let (sql, values) = select.build_sqlx(PostgresQueryBuilder);
        let pool = warden.postgres_pool().expect("one of the two");
        warden::sqlx::query_scalar_with(warden::sqlx::AssertSqlSafe(sql), values)
            .fetch_one(pool)
            .await
    };
    counted
        .map(|n| n.to_string())
        .map_err(|e| warden::Error::Internal(e.to_string()))
}

async fn login(
    State(warden): State<Warden>,
    body: axum::Json<Json>,
) -> Result<String, (StatusCode, String)> {
    let email = body["email"].as_str().unwrap_or("");
    let password = body["password"].as_str().unwrap_or("");
    let principal = warden
        .log_in(email, password, None)
        .await
        .map_err(|e| (StatusCode::UNAUTHORIZED, e.to_string()))?;
    warden
        .issue_token(&principal)
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn app(warden: &Warden) -> Router {
    Router::new()
        .route("/notes/{id}/publish", post(publish))
        .route("/whoami", get(whoami))
        .route("/count", get(count))
        .route("/login", post(login))
        .merge(
            Router::new()
                .route("/audit", get(|| async { "audited" }))
                .route_layer(warden.require_scopes(["notes:audit"])),
        )
        .with_state(warden.clone())
        .merge(warden.router())
}

struct Setup {
    server: TestServer,
    warden: Warden,
    _database: TestDatabase,
}

async fn each_backend<F, Fut>(scenario: F)
where
    F: Fn(Setup) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        let database = TestDatabase::create(&backend).await;
        let warden = notes_warden()
            .database(&database.url)
            .build()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for (email, roles) in [
            ("ann@example.com", vec!["admin".to_owned()]),
            ("bob@example.com", vec![]),
        ] {
            let app = warden.app();
            warden::auth::accounts::add(
                app.config(),
                app.store(),
                email,
                "password123",
                &[],
                &[],
                &roles,
            )
            .await
            .expect("add user");
        }
        let server = TestServer::spawn(app(&warden)).await;
        scenario(Setup {
            server,
            warden,
            _database: database,
        })
        .await;
    }
}

impl Setup {
    /// `Token <jwt>` from the hand-written login route.
    async fn token(&self, email: &str) -> String {
        let (status, body) = self
            .server
            .call(
                Method::POST,
                "/login",
                None,
                Some(json!({"email": email, "password": "password123"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        format!("Token {}", body.as_str().expect("token text"))
    }
}

#[tokio::test]
async fn principal_extractors_see_the_token_caller() {
    each_backend(|s| async move {
        let (_, anonymous) = s.server.call(Method::GET, "/whoami", None, None).await;
        assert_eq!(anonymous, json!("anonymous"));
        let ann = s.token("ann@example.com").await;
        let (status, me) = s
            .server
            .call(Method::GET, "/whoami", Some(&ann), None)
            .await;
        assert_eq!((status, me), (200, json!(1)), "the body is the id as text");
        // A bad token is refused, never treated as anonymous.
        let (status, _) = s
            .server
            .call(Method::GET, "/whoami", Some("Token not-a-jwt"), None)
            .await;
        assert_eq!(status, 401);
        // The built-in API takes the same token under the configured scheme.
        let (status, _) = s
            .server
            .call(
                Method::POST,
                "/api/notes",
                Some(&ann),
                Some(json!({"body": "x"})),
            )
            .await;
        assert_eq!(status, 201);
    })
    .await;
}

#[tokio::test]
async fn authorize_answers_as_the_built_in_update_would() {
    each_backend(|s| async move {
        let ann = s.token("ann@example.com").await;
        let bob = s.token("bob@example.com").await;
        let (status, note) = s
            .server
            .call(
                Method::POST,
                "/api/notes",
                Some(&ann),
                Some(json!({"body": "ann's"})),
            )
            .await;
        assert_eq!(status, 201, "{note}");
        let id = note["id"].as_i64().expect("id");
        let path = format!("/notes/{id}/publish");
        // Bob may not see the draft: 404, as GET /api/notes/<id> answers.
        let (status, _) = s.server.call(Method::POST, &path, Some(&bob), None).await;
        assert_eq!(status, 404);
        let (status, _) = s.server.call(Method::POST, &path, None, None).await;
        assert_eq!(status, 401);
        let (status, _) = s
            .server
            .call(Method::POST, "/notes/999/publish", Some(&ann), None)
            .await;
        assert_eq!(status, 404);
        let (status, published) = s.server.call(Method::POST, &path, Some(&ann), None).await;
        assert_eq!(
            (status, &published["published"]),
            (200, &json!(true)),
            "{published}"
        );
        // Now Bob sees it, but publishing (an update) is still Ann's: 403.
        let (status, problem) = s.server.call(Method::POST, &path, Some(&bob), None).await;
        assert_eq!(status, 403, "{problem}");
        assert_eq!(
            problem["type"],
            json!("https://warden.dev/problems/forbidden")
        );
    })
    .await;
}

#[tokio::test]
async fn list_scope_filters_hand_written_selects() {
    each_backend(|s| async move {
        let ann = s.token("ann@example.com").await;
        let bob = s.token("bob@example.com").await;
        for body in ["one", "two"] {
            s.server
                .call(
                    Method::POST,
                    "/api/notes",
                    Some(&ann),
                    Some(json!({"body": body})),
                )
                .await;
        }
        s.server
            .call(
                Method::POST,
                "/api/notes",
                Some(&bob),
                Some(json!({"body": "bob's"})),
            )
            .await;
        let count = |auth: Option<String>| {
            let server = &s.server;
            async move {
                server
                    .call(Method::GET, "/count", auth.as_deref(), None)
                    .await
                    .1
            }
        };
        assert_eq!(count(Some(ann.clone())).await, json!(2));
        assert_eq!(count(Some(bob.clone())).await, json!(1));
        assert_eq!(count(None).await, json!(0));
        // The same caller's built-in list agrees with the scope.
        let page = s
            .warden
            .guard(None)
            .list("notes", &warden::ListQuery::default())
            .await
            .expect("anonymous list");
        assert!(page.items.is_empty());
    })
    .await;
}

#[tokio::test]
async fn require_scopes_layer_is_401_then_403_then_through() {
    each_backend(|s| async move {
        let response = s
            .server
            .client
            .get(s.server.url("/audit"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
        let bob = s.token("bob@example.com").await;
        let response = s
            .server
            .client
            .get(s.server.url("/audit"))
            .header("authorization", &bob)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 403);
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .expect("header")
            .to_owned();
        assert!(challenge.contains("notes:audit"), "{challenge}");
        let ann = s.token("ann@example.com").await;
        let (status, body) = s.server.call(Method::GET, "/audit", Some(&ann), None).await;
        assert_eq!((status, body), (200, json!("audited")));
    })
    .await;
}

#[tokio::test]
async fn wrong_passwords_get_no_token() {
    each_backend(|s| async move {
        let (status, body) = s
            .server
            .call(
                Method::POST,
                "/login",
                None,
                Some(json!({"email": "ann@example.com", "password": "wrong"})),
            )
            .await;
        assert_eq!(status, 401, "{body}");
        assert!(
            s.warden
                .log_in("ann@example.com", "wrong", None)
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn a_config_built_in_code_is_checked_like_a_file() {
    let error = Warden::builder()
        .resource(
            Resource::new("notes")
                .field("id", Field::integer().primary())
                .field("owner_id", Field::integer())
                .rule(Action::Read, "row.ownr_id == user.id"),
        )
        .database("sqlite::memory:")
        .jwt_secret(SECRET)
        .build()
        .await
        .expect_err("an unknown field");
    let message = error.to_string();
    assert!(
        message.contains("ownr_id") && message.contains("owner_id"),
        "{message}"
    );
    let weak = Warden::builder()
        .database("sqlite::memory:")
        .jwt_secret("short")
        .build()
        .await;
    assert!(
        weak.expect_err("a weak secret")
            .to_string()
            .contains("at least")
    );
}

/// An app whose state is its own struct: the extractors find the
/// `Warden` inside it through `FromRef`.
#[derive(Clone)]
struct OwnState {
    warden: Warden,
    greeting: &'static str,
}

impl axum::extract::FromRef<OwnState> for Warden {
    fn from_ref(state: &OwnState) -> Warden {
        state.warden.clone()
    }
}

async fn greet(State(state): State<OwnState>, principal: Principal) -> String {
    format!("{} {}", state.greeting, principal.id())
}

#[tokio::test]
async fn extractors_work_with_an_apps_own_state() {
    each_backend(|s| async move {
        let own: Router = Router::new()
            .route("/greet", get(greet))
            .with_state(OwnState {
                warden: s.warden.clone(),
                greeting: "hello",
            })
            .merge(app(&s.warden));
        let server = TestServer::spawn(own).await;
        let ann = s.token("ann@example.com").await;
        let (status, body) = server.call(Method::GET, "/greet", Some(&ann), None).await;
        assert_eq!((status, body), (200, json!("hello 1")));
        let (status, problem) = server.call(Method::GET, "/greet", None, None).await;
        assert_eq!(status, 401);
        assert_eq!(
            problem["type"],
            json!("https://warden.dev/problems/unauthenticated")
        );
    })
    .await;
}
