//! Every path that reads a resource passes the same gates in the same
//! order: the scopes the action requires, then the row rule, then the
//! field rules. On the `scoped` fixture, salaries and bonuses admit every
//! row by rule and are kept from callers only by `require_scopes`; each
//! read path (one row, a list, to-one and to-many expansions from a read
//! and from a list, the HTML pages, the library's `Guard`, a write's
//! answer, `warden explain`) is tried anonymously, without the scope, and
//! with it. On SQLite and PostgreSQL.

mod common;

use common::{Backend, PASSWORD, TestApp, TestDatabase, backends, fixture_config, keys};
use reqwest::Method;
use serde_json::{Value as Json, json};
use warden::{Action, Warden};

/// Who calls: `None` is anonymous.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    /// No scope at all.
    Plain,
    /// `hr:write` only: may change salaries, not read them.
    Writer,
    /// `hr:read`.
    Reader,
    /// `hr:read hr:write hr:admin`: also sees the `note` field.
    Admin,
}

const EVERYONE: [Who; 5] = [
    Who::Anonymous,
    Who::Plain,
    Who::Writer,
    Who::Reader,
    Who::Admin,
];

impl Who {
    fn login(self) -> Option<&'static str> {
        match self {
            Who::Anonymous => None,
            Who::Plain => Some("plain@example.com"),
            Who::Writer => Some("writer@example.com"),
            Who::Reader => Some("hr@example.com"),
            Who::Admin => Some("admin@example.com"),
        }
    }

    fn reads_salaries(self) -> bool {
        matches!(self, Who::Reader | Who::Admin)
    }

    /// The status of a direct read or list of salaries: scopes first.
    fn direct_status(self) -> u16 {
        match self {
            Who::Anonymous => 401,
            Who::Plain | Who::Writer => 403,
            Who::Reader | Who::Admin => 200,
        }
    }
}

/// The salary rows as each caller may see them (`note` only for hr:admin).
fn salary(who: Who, id: i64) -> Json {
    let (staff_id, amount, note) = match id {
        10 => (1, 5000, Json::from("raise due")),
        11 => (2, 4000, Json::Null),
        12 => (1, 4500, Json::Null),
        _ => unreachable!("no salary {id}"),
    };
    let mut row = json!({"id": id, "staff_id": staff_id, "amount": amount});
    if who == Who::Admin {
        row["note"] = note;
    }
    row
}

struct Callers {
    tokens: Vec<(Who, Option<String>)>,
}

impl Callers {
    async fn log_in(app: &TestApp) -> Callers {
        let mut tokens = Vec::new();
        for who in EVERYONE {
            let token = match who.login() {
                Some(login) => Some(app.login(login).await),
                None => None,
            };
            tokens.push((who, token));
        }
        Callers { tokens }
    }

    fn token(&self, who: Who) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, t)| t.as_deref())
    }
}

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn(&fixture_config("scoped"), backend, true).await
}

#[tokio::test]
async fn every_read_path_checks_the_scopes_first() {
    for backend in backends() {
        let app = spawn(backend).await;
        let callers = Callers::log_in(&app).await;
        for who in EVERYONE {
            let token = callers.token(who);
            let context = format!("{:?} as {who:?}", app.backend);
            let sees = who.reads_salaries();

            // The resource itself: one row and the list.
            let (status, body) = app.call(Method::GET, "/api/salaries/10", token, None).await;
            assert_eq!(status, who.direct_status(), "{context}: read: {body}");
            if sees {
                assert_eq!(body, salary(who, 10), "{context}: read");
            }
            let (status, body) = app.call(Method::GET, "/api/salaries", token, None).await;
            assert_eq!(status, who.direct_status(), "{context}: list: {body}");
            if sees {
                assert_eq!(
                    body["items"],
                    json!([salary(who, 10), salary(who, 11), salary(who, 12)]),
                    "{context}: list"
                );
            }

            // To-one from a read and from a list: null without the scope,
            // as when the rule hides the row (salaries deny with 404).
            let (status, staff) = app
                .call(Method::GET, "/api/staff/1?expand=salary", token, None)
                .await;
            assert_eq!(status, 200, "{context}: to-one from a read: {staff}");
            let want = if sees { salary(who, 10) } else { Json::Null };
            assert_eq!(staff["salary"], want, "{context}: to-one from a read");
            let items = app.list_items("/api/staff?expand=salary", token).await;
            let want: Vec<Json> = if sees {
                vec![salary(who, 10), salary(who, 11)]
            } else {
                vec![Json::Null, Json::Null]
            };
            let got: Vec<Json> = items.iter().map(|i| i["salary"].clone()).collect();
            assert_eq!(got, want, "{context}: to-one from a list");

            // To-many from a read and from a list: silently filtered.
            let (status, staff) = app
                .call(Method::GET, "/api/staff/1?expand=history", token, None)
                .await;
            assert_eq!(status, 200, "{context}: to-many from a read: {staff}");
            let want = if sees {
                json!([salary(who, 10), salary(who, 12)])
            } else {
                json!([])
            };
            assert_eq!(staff["history"], want, "{context}: to-many from a read");
            let items = app.list_items("/api/staff?expand=history", token).await;
            let want: Vec<Json> = if sees {
                vec![
                    json!([salary(who, 10), salary(who, 12)]),
                    json!([salary(who, 11)]),
                ]
            } else {
                vec![json!([]), json!([])]
            };
            let got: Vec<Json> = items.iter().map(|i| i["history"].clone()).collect();
            assert_eq!(got, want, "{context}: to-many from a list");

            // Bonuses deny with 403: one row asked for, with a bonus the
            // caller may not see, is refused as if the rule hid it; in a
            // list it is null.
            let (status, staff) = app
                .call(Method::GET, "/api/staff/1?expand=bonus", token, None)
                .await;
            if sees {
                assert_eq!(status, 200, "{context}: bonus: {staff}");
                assert_eq!(staff["bonus"], json!({"id": 20, "amount": 300}));
            } else {
                assert_eq!(status, 403, "{context}: bonus: {staff}");
                assert!(!staff.to_string().contains("300"), "{context}: {staff}");
            }
            let items = app.list_items("/api/staff?expand=bonus", token).await;
            assert_eq!(
                items[0]["bonus"],
                if sees {
                    json!({"id": 20, "amount": 300})
                } else {
                    Json::Null
                },
                "{context}: bonus from a list"
            );

            // The HTML pages: the login page for anonymous callers, a 403
            // page without the scope, the rows with it.
            for path in ["/ui/salaries", "/ui/salaries/10", "/api/salaries/10"] {
                let page = html(&app, path, token).await;
                match who.direct_status() {
                    401 => assert_eq!(
                        (page.status, page.location.starts_with("/auth/login?")),
                        (303, true),
                        "{context}: {path}"
                    ),
                    403 => assert_eq!(page.status, 403, "{context}: {path}"),
                    _ => assert_eq!(page.status, 200, "{context}: {path}"),
                }
                assert_eq!(
                    page.body.contains("5000"),
                    sees,
                    "{context}: {path}: {}",
                    page.body
                );
            }
        }
    }
}

struct Page {
    status: u16,
    location: String,
    body: String,
}

async fn html(app: &TestApp, path: &str, token: Option<&str>) -> Page {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut request = client
        .get(app.url(path))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("page");
    Page {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        body: response.text().await.expect("text"),
    }
}

#[tokio::test]
async fn a_writer_without_the_read_scope_is_answered_only_the_key() {
    for backend in backends() {
        let app = spawn(backend).await;
        let callers = Callers::log_in(&app).await;
        let context = format!("{:?}", app.backend);
        // hr:write alone: the update is made, its answer shows nothing a
        // read would refuse.
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/salaries/10",
                callers.token(Who::Writer),
                Some(json!({"amount": 5100})),
            )
            .await;
        assert_eq!(status, 200, "{context}: {body}");
        assert_eq!(body, json!({"id": 10}), "{context}: only the key");
        // With the read scopes too, the row as a read shows it.
        let (status, body) = app
            .call(
                Method::PATCH,
                "/api/salaries/10",
                callers.token(Who::Admin),
                Some(json!({"amount": 5200})),
            )
            .await;
        assert_eq!(status, 200, "{context}: {body}");
        assert_eq!(body["amount"], 5200, "{context}: {body}");
        assert_eq!(body["note"], "raise due", "{context}: {body}");
    }
}

/// The library's `Guard`: the same answers as the HTTP API.
#[tokio::test]
async fn the_library_guard_checks_the_scopes_first() {
    let config = fixture_config("scoped");
    for backend in backends() {
        let database = TestDatabase::create(&backend).await;
        let warden = Warden::from_file(&config)
            .database(&database.url)
            .jwt_secret("read-paths-test-secret-read-paths-test-secret")
            .seed(config.with_file_name("seed.toml"))
            .build()
            .await
            .expect("warden");
        let context = format!("{backend:?}");
        for who in EVERYONE {
            let principal = match who.login() {
                Some(login) => Some(warden.log_in(login, PASSWORD, None).await.expect("login")),
                None => None,
            };
            let guard = warden.guard(principal.as_ref());
            let status = |result: Result<(), warden::Error>| match result {
                Ok(()) => 200,
                Err(error) => error.status().as_u16(),
            };
            let want = who.direct_status();
            let read = guard.read("salaries", "10").await;
            if let Ok(item) = &read {
                assert_eq!(Json::Object(item.json.clone()), salary(who, 10));
            }
            assert_eq!(status(read.map(drop)), want, "{context} {who:?}: read");
            let list = guard.list("salaries", &warden::ListQuery::default()).await;
            assert_eq!(status(list.map(drop)), want, "{context} {who:?}: list");
            let scope = guard.list_scope("salaries");
            assert_eq!(status(scope.map(drop)), want, "{context} {who:?}: scope");
            let authorized = guard.authorize(Action::Read, "salaries", "10").await;
            assert_eq!(
                status(authorized.map(drop)),
                want,
                "{context} {who:?}: authorize read"
            );
            // Allowed to update but not to read: the row is not shown.
            if who == Who::Writer {
                let item = guard
                    .authorize(Action::Update, "salaries", "10")
                    .await
                    .expect("hr:write may update");
                assert_eq!(keys(&Json::Object(item.json)), ["id"], "{context}");
            }
        }
        drop(warden);
        drop(database);
    }
}

/// `warden explain` tells the scopes first, then the rule, then the
/// field rules.
#[tokio::test]
async fn explain_tells_the_scopes_then_the_rule_then_the_fields() {
    for backend in backends() {
        let app = spawn(backend).await;
        let explain = async |who: &str, action: Action, target: &str| {
            let a = &app.app;
            warden::explain::explain(a.config(), a.store(), a.policy(), who, action, target)
                .await
                .expect("explain")
        };
        let anonymous = explain("anonymous", Action::Read, "salaries/10").await;
        assert!(
            anonymous.contains("scopes: read needs hr:read: missing hr:read")
                && anonymous.contains("denied by resources.salaries.require_scopes.read (401)"),
            "{anonymous}"
        );
        assert!(!anonymous.contains("allowed"), "no rule runs: {anonymous}");
        let plain = explain("1", Action::List, "salaries").await;
        assert!(
            plain.contains(
                "denied by resources.salaries.require_scopes.list (403 insufficient_scope)"
            ),
            "{plain}"
        );
        let reader = explain("2", Action::Read, "salaries/10").await;
        let order: Vec<usize> = [
            "scopes: read needs hr:read: held",
            "allowed by resources.salaries.rules.read",
            "field note: withheld",
        ]
        .iter()
        .map(|line| {
            reader
                .find(line)
                .unwrap_or_else(|| panic!("no `{line}` in {reader}"))
        })
        .collect();
        assert!(order.is_sorted(), "gates out of order: {reader}");
        let admin = explain("4", Action::Read, "salaries/10").await;
        assert!(admin.contains("field note: shown"), "{admin}");
    }
}
