//! The authorization matrix (OWASP API1 broken object level and API5
//! broken function level authorization). For every example, seeded on
//! SQLite (and PostgreSQL when `WARDEN_TEST_POSTGRES` is set), every seeded
//! user and an anonymous caller, every resource and every row: the status
//! of `GET`, `PATCH` (an empty change) and `DELETE` is the one the rule
//! evaluator predicts, so is whether `POST` is refused before its body is
//! read, and every list (all its pages) holds exactly the
//! ids the evaluator's list rule admits. The oracle is computed here from
//! the config: each rule text checked for in-memory use and evaluated by
//! `warden_policy`'s reference evaluator on the rows read back from the
//! database (all of them, so relations and `exists` see real data), with
//! the caller's principal as the engine loads it. The mapping from a
//! decision to a status is the documented one (README, "What each answer
//! means"): an update or delete its own rule admits is done whatever the
//! read rule says, and its answer shows what a read would. Every answer is also searched for stored password hashes and
//! `hidden` values, and each `read = "..."` field is present exactly when
//! its own rule admits the caller, and whenever a caller may update a
//! row, writing any protected field or a name that is no field is refused
//! or ignored as configured, the stored value unchanged (OWASP API3).

mod common;

use common::{PASSWORD, TestApp, backends, example_config};
use reqwest::Method;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use warden::config::{Config, DenyStatus, FieldDef, FieldKind, ReadonlyInput, ResourceDef};
use warden::rows::output::policy_row;
use warden::store::select_all;
use warden_policy::{Action, CheckOptions, Dataset, Env, Principal, Residual, Row, Rule, Value};

const EXAMPLES: [&str; 5] = ["posts", "employees", "teas", "documents", "articles"];

/// One caller of the matrix: a token and the principal the rules see.
struct Caller {
    label: String,
    token: Option<String>,
    principal: Option<Principal>,
}

/// Rules of one resource, checked for the in-memory evaluator.
struct Oracle {
    actions: BTreeMap<&'static str, Rule>,
    fields: Vec<(String, Rule)>,
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::List => "list",
        Action::Read => "read",
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
    }
}

fn oracle(app: &TestApp, resource: &ResourceDef) -> Oracle {
    let set = app.app.policy().rule_set();
    let options = CheckOptions {
        in_memory: true,
        sql_functions: false,
    };
    let mut actions = BTreeMap::new();
    for action in [
        Action::List,
        Action::Read,
        Action::Create,
        Action::Update,
        Action::Delete,
    ] {
        if let Some(text) = resource.rules.get(action) {
            let name = format!("resources.{}.rules.{}", resource.name, action_name(action));
            let rule = set
                .check(&resource.name, action, &name, &text.text, options)
                .unwrap_or_else(|e| panic!("{name} cannot be evaluated in memory: {e:?}"));
            actions.insert(action_name(action), rule);
        }
    }
    let fields = resource
        .fields
        .values()
        .filter_map(|field| {
            let text = field.read.as_ref()?;
            let name = format!("resources.{}.fields.{}.read", resource.name, field.name);
            let rule = set
                .check(&resource.name, Action::Read, &name, &text.text, options)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            Some((field.name.clone(), rule))
        })
        .collect();
    Oracle { actions, fields }
}

/// Every row of every resource, as stored now.
async fn snapshot(app: &TestApp) -> (Dataset, BTreeMap<String, Vec<warden::store::Row>>) {
    let mut data = Dataset::new();
    let mut raw = BTreeMap::new();
    for resource in app.app.config().resources.values() {
        let rows = app
            .app
            .store()
            .fetch_rows(resource, &select_all(resource))
            .await
            .expect("read rows");
        for row in &rows {
            data.insert(&resource.name, policy_row(resource, row));
        }
        raw.insert(resource.name.clone(), rows);
    }
    (data, raw)
}

fn key_text(value: &Value) -> String {
    match value {
        Value::Text(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Password hashes and `hidden` values: no answer may contain one.
fn secrets(config: &Config, raw: &BTreeMap<String, Vec<warden::store::Row>>) -> BTreeSet<String> {
    let mut never = BTreeSet::new();
    for resource in config.resources.values() {
        for row in &raw[&resource.name] {
            for field in resource.fields.values() {
                if !(field.hidden || field.kind == FieldKind::Password) {
                    continue;
                }
                if let Some(Value::Text(text)) = row.get(&field.name)
                    && text.chars().count() >= 6
                {
                    never.insert(text.clone());
                }
            }
        }
    }
    never
}

/// Anonymous, then each seeded user who can log in, with the principal the
/// engine builds for their token.
async fn callers(app: &TestApp) -> Vec<Caller> {
    let config = app.app.config();
    let auth = config.auth.as_ref().expect("[auth]");
    let users = config.users_resource().expect("users resource");
    let rows = app
        .app
        .store()
        .fetch_rows(users, &select_all(users))
        .await
        .expect("users");
    let mut all = vec![Caller {
        label: "anonymous".to_owned(),
        token: None,
        principal: None,
    }];
    for login in common::seeded_logins(config) {
        let response = app
            .client
            .post(app.url("/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", login.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .expect("token request");
        if response.status() != 200 {
            eprintln!(
                "{login} cannot log in ({}); not in the matrix",
                response.status()
            );
            continue;
        }
        let body: Json = response.json().await.expect("token json");
        let token = body["access_token"].as_str().expect("token").to_owned();
        let row = rows
            .iter()
            .find(|r| r.get(&auth.login) == Some(&Value::Text(login.clone())))
            .expect("seeded user row");
        let id = key_text(&row[&users.primary_key]);
        let user = warden::auth::caller::load_user(config, app.app.store(), &id, None)
            .await
            .expect("load user")
            .expect("active user");
        all.push(Caller {
            label: format!("user {id} ({login})"),
            token: Some(token),
            principal: Some(user.principal),
        });
    }
    assert!(all.len() >= 3, "too few callers: {}", all.len());
    all
}

/// Whether the caller holds every scope `action` requires.
fn holds_scopes(resource: &ResourceDef, action: Action, caller: &Caller) -> bool {
    let required = resource.require_scopes.get(action);
    required.is_empty()
        || caller
            .principal
            .as_ref()
            .is_some_and(|p| required.iter().all(|s| p.scopes.contains(s)))
}

/// What the rule says for this caller on this row.
fn allows(rule: Option<&Rule>, caller: &Caller, row: &Row, data: &Dataset) -> bool {
    rule.is_some_and(|rule| {
        let env = Env::new(caller.principal.as_ref(), Some(row))
            .with_new(row)
            .with_data(data);
        rule.evaluate(&env)
    })
}

/// The rule denies this caller every row, whatever the row.
fn allows_nothing(rule: Option<&Rule>, caller: &Caller) -> bool {
    rule.is_none_or(|rule| {
        matches!(
            rule.specialize(caller.principal.as_ref()),
            Residual::Always(false)
        )
    })
}

/// 401 when the caller is anonymous and the rule reads `user`, else
/// `otherwise`.
fn denied(rule: Option<&Rule>, caller: &Caller, otherwise: u16) -> u16 {
    if caller.principal.is_none() && rule.is_some_and(Rule::depends_on_user) {
        401
    } else {
        otherwise
    }
}

fn scope_denied(caller: &Caller) -> u16 {
    if caller.principal.is_none() { 401 } else { 403 }
}

fn deny_status(resource: &ResourceDef) -> u16 {
    match resource.deny_status {
        DenyStatus::NotFound => 404,
        DenyStatus::Forbidden => 403,
    }
}

/// The status of `GET /api/<resource>/<id>` for a row that exists.
fn expect_read(
    resource: &ResourceDef,
    oracle: &Oracle,
    caller: &Caller,
    row: &Row,
    data: &Dataset,
) -> u16 {
    if !holds_scopes(resource, Action::Read, caller) {
        return scope_denied(caller);
    }
    let read = oracle.actions.get("read");
    if allows(read, caller, row, data) {
        200
    } else {
        denied(read, caller, deny_status(resource))
    }
}

/// The status of an update or delete of a row that exists (`success` when
/// allowed): the action's rule decides; when it refuses, the read rule
/// decides only the answer (403 for a row the caller may read, else as a
/// read of it would be refused).
fn expect_write(
    resource: &ResourceDef,
    oracle: &Oracle,
    action: Action,
    caller: &Caller,
    row: &Row,
    data: &Dataset,
    success: u16,
) -> u16 {
    if !holds_scopes(resource, action, caller) {
        return scope_denied(caller);
    }
    let rule = oracle.actions.get(action_name(action));
    if allows(rule, caller, row, data) {
        return success;
    }
    let read = oracle.actions.get("read");
    if allows(read, caller, row, data) {
        denied(rule, caller, 403)
    } else {
        denied(read, caller, deny_status(resource))
    }
}

/// What one scenario saw, for the closing summary.
#[derive(Default)]
struct Tally {
    requests: usize,
    allowed: usize,
    denied: usize,
}

struct Matrix<'a> {
    app: &'a TestApp,
    example: &'a str,
    never: BTreeSet<String>,
    tally: Tally,
}

impl Matrix<'_> {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        caller: &Caller,
        body: Option<Json>,
    ) -> (u16, Json, String) {
        let mut request = self.app.client.request(method.clone(), self.app.url(path));
        if let Some(token) = &caller.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        for secret in &self.never {
            assert!(
                !text.contains(secret.as_str()),
                "{} {method} {path} as {}: the answer contains a hidden value: {text}",
                self.example,
                caller.label
            );
        }
        self.tally.requests += 1;
        if status < 300 {
            self.tally.allowed += 1;
        } else {
            self.tally.denied += 1;
        }
        let json = serde_json::from_str(&text).unwrap_or(Json::Null);
        (status, json, text)
    }

    /// Every page of the list, with every relation expanded.
    async fn list_ids(
        &mut self,
        resource: &ResourceDef,
        caller: &Caller,
    ) -> Result<(BTreeSet<String>, Vec<Json>), u16> {
        let expand: Vec<&str> = resource.relations.keys().map(String::as_str).collect();
        let mut ids = BTreeSet::new();
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut params = vec![("limit", "2".to_owned())];
            if !expand.is_empty() {
                params.push(("expand", expand.join(",")));
            }
            if let Some(cursor) = &cursor {
                params.push(("cursor", cursor.clone()));
            }
            let query = serde_urlencoded::to_string(&params).expect("query");
            let path = format!("/api/{}?{query}", resource.name);
            let (status, body, _) = self.call(Method::GET, &path, caller, None).await;
            if status != 200 {
                return Err(status);
            }
            for item in body["items"].as_array().expect("items") {
                let id = match &item[&resource.primary_key] {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert!(ids.insert(id), "{path}: an id twice across pages");
                items.push(item.clone());
            }
            match body["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok((ids, items)),
            }
        }
    }
}

/// Field-level visibility of one item the caller may read.
fn check_fields(
    resource: &ResourceDef,
    oracle: &Oracle,
    caller: &Caller,
    row: &Row,
    data: &Dataset,
    item: &Json,
    context: &str,
) {
    for field in resource.fields.values() {
        let shown = item.get(&field.name).is_some();
        let expected = if field.hidden || field.kind == FieldKind::Password {
            false
        } else if let Some((_, rule)) = oracle.fields.iter().find(|(f, _)| *f == field.name) {
            allows(Some(rule), caller, row, data)
        } else {
            true
        };
        assert_eq!(
            shown, expected,
            "{context}: field {} shown={shown}, the rules say {expected}: {item}",
            field.name
        );
    }
}

async fn read_and_list_phase(matrix: &mut Matrix<'_>, callers: &[Caller]) {
    let app = matrix.app;
    let config = app.app.config();
    let (data, raw) = snapshot(app).await;
    for resource in config.resources.values() {
        let oracle = oracle(app, resource);
        let rows: Vec<Row> = raw[&resource.name]
            .iter()
            .map(|r| policy_row(resource, r))
            .collect();
        for caller in callers {
            let context = format!("{} {} as {}", matrix.example, resource.name, caller.label);
            // The list.
            let list = oracle.actions.get("list");
            let expected_list = if !holds_scopes(resource, Action::List, caller) {
                Err(scope_denied(caller))
            } else if allows_nothing(list, caller) {
                Err(denied(list, caller, 403))
            } else {
                Ok(rows
                    .iter()
                    .filter(|row| allows(list, caller, row, &data))
                    .map(|row| key_text(&row[&resource.primary_key]))
                    .collect::<BTreeSet<String>>())
            };
            match (matrix.list_ids(resource, caller).await, expected_list) {
                (Ok((ids, items)), Ok(expected)) => {
                    assert_eq!(
                        ids, expected,
                        "{context}: list ids differ from the evaluator's"
                    );
                    for item in &items {
                        let id = match &item[&resource.primary_key] {
                            Json::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        let row = rows
                            .iter()
                            .find(|r| key_text(&r[&resource.primary_key]) == id)
                            .expect("listed row exists");
                        check_fields(
                            resource,
                            &oracle,
                            caller,
                            row,
                            &data,
                            item,
                            &format!("{context}: list item {id}"),
                        );
                    }
                }
                (Err(status), Err(expected)) => {
                    assert_eq!(status, expected, "{context}: list status");
                }
                (got, want) => panic!(
                    "{context}: list gave {:?}, the evaluator says {want:?}",
                    got.map(|(ids, _)| ids)
                ),
            }
            // Create, as a function: refused before the body is read when
            // the caller lacks the scopes or the rule admits no row for
            // them; otherwise the body is read, and this one (an unknown
            // field) is refused without writing anything.
            let create = oracle.actions.get("create");
            let want = if !holds_scopes(resource, Action::Create, caller) {
                scope_denied(caller)
            } else if allows_nothing(create, caller) {
                denied(create, caller, 403)
            } else {
                400
            };
            let path = format!("/api/{}", resource.name);
            let (status, body, _) = matrix
                .call(
                    Method::POST,
                    &path,
                    caller,
                    Some(json!({"w_not_a_field": 1})),
                )
                .await;
            assert_eq!(status, want, "{context}: POST {path}: {body}");
            if status == 400 {
                assert_eq!(
                    body["type"], "https://warden.dev/problems/unknown-fields",
                    "{context}"
                );
            }
            // Each row: read and an empty update.
            for row in &rows {
                let id = key_text(&row[&resource.primary_key]);
                let path = format!("/api/{}/{}", resource.name, percent(&id));
                let want = expect_read(resource, &oracle, caller, row, &data);
                let (status, body, _) = matrix.call(Method::GET, &path, caller, None).await;
                assert_eq!(status, want, "{context}: GET {path}: {body}");
                if status == 200 {
                    check_fields(
                        resource,
                        &oracle,
                        caller,
                        row,
                        &data,
                        &body,
                        &format!("{context}: GET {path}"),
                    );
                }
                let want = expect_write(resource, &oracle, Action::Update, caller, row, &data, 200);
                let (status, body, _) = matrix
                    .call(Method::PATCH, &path, caller, Some(json!({})))
                    .await;
                assert_eq!(status, want, "{context}: PATCH {path} {{}}: {body}");
                if status == 200 {
                    // The answer passes the gates of a read: a writer who
                    // may not read the row is shown its key alone.
                    let what = format!("{context}: PATCH {path} {{}}");
                    if expect_read(resource, &oracle, caller, row, &data) == 200 {
                        check_fields(resource, &oracle, caller, row, &data, &body, &what);
                    } else {
                        assert_eq!(
                            common::keys(&body),
                            std::slice::from_ref(&resource.primary_key),
                            "{what}: a writer who may not read the row: {body}"
                        );
                    }
                    protected_writes(matrix, resource, caller, &path, &context).await;
                }
            }
        }
    }
}

/// A value of the field's type that differs from `stored`.
fn other_value(field: &FieldDef, stored: Option<&Value>) -> Json {
    match field.kind {
        FieldKind::Integer => json!(
            stored
                .and_then(|v| match v {
                    Value::Int(i) => Some(i + 1000),
                    _ => None,
                })
                .unwrap_or(999_999)
        ),
        FieldKind::Float => json!(1234.5),
        FieldKind::Bool => json!(!matches!(stored, Some(Value::Bool(true)))),
        FieldKind::Timestamp => json!("2001-02-03T04:05:06Z"),
        FieldKind::Json => json!({"tampered": true}),
        _ => json!("tampered-value"),
    }
}

/// OWASP API3 (mass assignment): a caller who may update the row tries to
/// write each field the config protects from a PATCH (the key, `readonly`
/// and `owner` fields such as timestamps and `is_superuser`, `immutable`
/// fields) and names that are no field (`scopes`, `roles`, an unknown
/// one). Each is refused with 400 naming it, or with `readonly_input =
/// "ignore"` accepted and dropped; the stored value never changes.
async fn protected_writes(
    matrix: &mut Matrix<'_>,
    resource: &ResourceDef,
    caller: &Caller,
    path: &str,
    context: &str,
) {
    let app = matrix.app;
    let stored = |rows: Vec<warden::store::Row>, key: &str| {
        rows.into_iter()
            .find(|r| r.get(&resource.primary_key).map(key_text).as_deref() == Some(key))
    };
    let key = path.rsplit('/').next().unwrap_or_default().to_owned();
    let key = percent_encoding::percent_decode_str(&key)
        .decode_utf8_lossy()
        .into_owned();
    let before = stored(
        snapshot(app)
            .await
            .1
            .remove(&resource.name)
            .unwrap_or_default(),
        &key,
    )
    .expect("the row exists");
    let mut attempts: Vec<(String, Json, bool)> = resource
        .fields
        .values()
        .filter(|f| f.primary || f.readonly || f.owner || f.immutable)
        .map(|f| (f.name.clone(), other_value(f, before.get(&f.name)), true))
        .collect();
    for name in ["scopes", "roles", "is_superuser", "w_not_a_field"] {
        if resource.field(name).is_none() {
            attempts.push((name.to_owned(), json!(["admin:write"]), false));
        }
    }
    assert!(!attempts.is_empty(), "{context}: nothing to try");
    for (name, value, is_field) in attempts {
        let (status, body, _) = matrix
            .call(Method::PATCH, path, caller, Some(json!({ &name: value })))
            .await;
        let what = format!("{context}: PATCH {path} {{{name}: {value}}}");
        if !is_field {
            assert_eq!(status, 400, "{what}: {body}");
            assert_eq!(
                body["type"], "https://warden.dev/problems/unknown-fields",
                "{what}"
            );
        } else if resource.readonly_input == ReadonlyInput::Ignore {
            assert_eq!(status, 200, "{what}: ignored, so accepted: {body}");
        } else {
            assert_eq!(status, 400, "{what}: {body}");
            assert_eq!(
                body["type"], "https://warden.dev/problems/readonly-fields",
                "{what}"
            );
            assert_eq!(body["fields"], json!([name]), "{what}");
        }
        if is_field {
            let after = stored(
                snapshot(app)
                    .await
                    .1
                    .remove(&resource.name)
                    .unwrap_or_default(),
                &key,
            )
            .expect("the row is still there");
            assert_eq!(
                after.get(&name),
                before.get(&name),
                "{what}: the stored value changed"
            );
        }
    }
}

/// Deletes: callers the evaluator refuses go first; the first it allows
/// deletes the row. The oracle is recomputed from the database after every
/// delete (cascades and `exists` change what others may do).
async fn delete_phase(matrix: &mut Matrix<'_>, callers: &[Caller]) {
    let app = matrix.app;
    let config = app.app.config();
    let names: Vec<String> = config.resources.keys().cloned().collect();
    for name in names.iter().rev() {
        let resource = &config.resources[name];
        let oracle = oracle(app, resource);
        let keys: Vec<String> = snapshot(app).await.1[name]
            .iter()
            .map(|r| key_text(&r[&resource.primary_key]))
            .collect();
        for id in keys {
            let path = format!("/api/{name}/{}", percent(&id));
            let (data, raw) = snapshot(app).await;
            let Some(stored) = raw[name]
                .iter()
                .find(|r| key_text(&r[&resource.primary_key]) == id)
            else {
                continue;
            };
            let row = policy_row(resource, stored);
            // A caller whose own account was deleted has no valid token left.
            let users = config.users_resource().expect("users resource");
            let live: BTreeSet<String> = raw[&users.name]
                .iter()
                .map(|r| key_text(&r[&users.primary_key]))
                .collect();
            let mut order: Vec<(&Caller, u16)> = callers
                .iter()
                .filter(|c| {
                    c.principal.as_ref().is_none_or(|p| {
                        p.attributes
                            .get("id")
                            .is_some_and(|id| live.contains(&key_text(id)))
                    })
                })
                .map(|c| {
                    (
                        c,
                        expect_write(resource, &oracle, Action::Delete, c, &row, &data, 204),
                    )
                })
                .collect();
            order.sort_by_key(|(_, want)| *want == 204);
            for (caller, want) in order {
                let (status, body, _) = matrix.call(Method::DELETE, &path, caller, None).await;
                let context = format!("{} DELETE {path} as {}", matrix.example, caller.label);
                if want == 204 && status == 422 {
                    // Allowed, but still referenced: the database refuses.
                    assert_eq!(
                        body["type"], "https://warden.dev/problems/invalid-reference",
                        "{context}"
                    );
                    continue;
                }
                assert_eq!(status, want, "{context}: {body}");
                if status == 204 {
                    break;
                }
            }
        }
    }
}

fn percent(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn run(config: PathBuf) {
    for backend in backends() {
        let app = TestApp::spawn(&config, backend, true).await;
        let example = config
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (_, raw) = snapshot(&app).await;
        let never = secrets(app.app.config(), &raw);
        assert!(
            !never.is_empty(),
            "{example}: no password hash found to look for"
        );
        let callers = callers(&app).await;
        let mut matrix = Matrix {
            app: &app,
            example: &example,
            never,
            tally: Tally::default(),
        };
        // The document and who-am-I, as everyone.
        for caller in &callers {
            for path in ["/openapi.json", "/auth/me"] {
                let (status, body, _) = matrix.call(Method::GET, path, caller, None).await;
                let want = if path == "/auth/me" && caller.token.is_none() {
                    401
                } else {
                    200
                };
                assert_eq!(
                    status, want,
                    "{example} GET {path} as {}: {body}",
                    caller.label
                );
            }
        }
        read_and_list_phase(&mut matrix, &callers).await;
        delete_phase(&mut matrix, &callers).await;
        let Tally {
            requests,
            allowed,
            denied,
        } = matrix.tally;
        eprintln!(
            "{example} on {:?}: {} callers, {requests} requests ({allowed} allowed, {denied} denied) matched the evaluator",
            app.backend,
            callers.len()
        );
        assert!(
            allowed > 0 && denied > 0,
            "{example}: a matrix with one outcome tests nothing"
        );
    }
}

#[tokio::test]
async fn every_status_and_list_matches_the_rule_evaluator_in_posts() {
    run(example_config(EXAMPLES[0])).await;
}

#[tokio::test]
async fn every_status_and_list_matches_the_rule_evaluator_in_employees() {
    run(example_config(EXAMPLES[1])).await;
}

#[tokio::test]
async fn every_status_and_list_matches_the_rule_evaluator_in_teas() {
    run(example_config(EXAMPLES[2])).await;
}

#[tokio::test]
async fn every_status_and_list_matches_the_rule_evaluator_in_documents() {
    run(example_config(EXAMPLES[3])).await;
}

#[tokio::test]
async fn every_status_and_list_matches_the_rule_evaluator_in_articles() {
    run(example_config(EXAMPLES[4])).await;
}

#[tokio::test]
async fn every_status_and_list_matches_the_rule_evaluator_in_the_kitchen_fixture() {
    run(common::fixture_config("kitchen")).await;
}

#[tokio::test]
async fn every_status_and_list_matches_the_rule_evaluator_in_the_ui_employees_fixture() {
    run(common::fixture_config("ui_employees")).await;
}

#[tokio::test]
async fn every_status_and_list_matches_the_rule_evaluator_in_the_shop_fixture() {
    run(common::fixture_config("shop")).await;
}
