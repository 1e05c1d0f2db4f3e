//! No page shows what the caller may not see. For every example (and the
//! UI fixture), seeded on SQLite (and PostgreSQL when
//! `WARDEN_TEST_POSTGRES` is set), every page — home, login, each
//! resource's list (every page of it) and new form, each row's view, edit
//! and delete pages, and the HTML answers of `GET /api/...` — is rendered
//! as each seeded user and anonymously, and grepped for the secrets that
//! user must not see: every stored password hash, every `hidden = true`
//! field's value, and every value of a per-row-protected field that the
//! JSON API withholds from that user.

mod common;

use common::{PASSWORD, TestApp, backends, example_config, fixture_config};
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use warden::config::FieldKind;
use warden::store::select_all;
use warden_policy::Value;

/// Every example config with seed data beside it, and the UI fixture.
fn configs() -> Vec<PathBuf> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&examples)
        .expect("examples folder")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let config = example_config(&name);
            (config.exists() && config.with_file_name("seed.toml").exists()).then_some(config)
        })
        .collect();
    all.sort();
    assert!(all.len() >= 5, "examples found: {all:?}");
    all.push(fixture_config("ui_employees"));
    all
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Text(text) => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(x) => Some(x.to_string()),
        _ => None,
    }
}

/// A value distinctive enough that finding it in a page means it leaked.
fn distinctive(text: &str) -> bool {
    text.chars().count() >= 6
}

/// What the store holds that a page might leak.
struct Stored {
    /// Password hashes and `hidden = true` values: nobody sees these.
    never: BTreeSet<String>,
    /// Values of fields with a per-row read rule, by (resource, field).
    per_row: Vec<(String, String, String)>,
    /// Every row key, by resource.
    keys: Vec<(String, Vec<String>)>,
}

async fn stored(app: &TestApp) -> Stored {
    let config = app.app.config();
    let mut never = BTreeSet::new();
    let mut per_row = Vec::new();
    let mut keys = Vec::new();
    for resource in config.resources.values() {
        let rows = app
            .app
            .store()
            .fetch_rows(resource, &select_all(resource))
            .await
            .expect("rows");
        let mut ids = Vec::new();
        for row in &rows {
            if let Some(key) = row.get(&resource.primary_key).and_then(text_of) {
                ids.push(key);
            }
            for field in resource.fields.values() {
                let Some(value) = row.get(&field.name).and_then(text_of) else {
                    continue;
                };
                if !distinctive(&value) {
                    continue;
                }
                if field.kind == FieldKind::Password {
                    // The whole PHC string, and its digest alone.
                    if let Some(digest) = value.rsplit('$').next() {
                        never.insert(digest.to_owned());
                    }
                    never.insert(value);
                } else if field.hidden {
                    never.insert(value);
                } else if field.read.is_some() {
                    per_row.push((resource.name.clone(), field.name.clone(), value));
                }
            }
        }
        keys.push((resource.name.clone(), ids));
    }
    never.insert(PASSWORD.to_owned());
    Stored {
        never,
        per_row,
        keys,
    }
}

/// A browser-like client: cookies kept, HTML preferred.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .expect("client")
}

async fn page(client: &reqwest::Client, url: &str) -> String {
    client
        .get(url)
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("page text")
}

/// What the JSON API shows this client of the per-row-protected values,
/// in single reads and in lists.
async fn api_shows(app: &TestApp, token: Option<&str>, stored: &Stored) -> BTreeSet<String> {
    let mut answers: Vec<(&str, Json)> = Vec::new();
    for (resource, ids) in &stored.keys {
        for id in ids {
            let path = format!("/api/{resource}/{id}");
            let (status, body) = app.call(reqwest::Method::GET, &path, token, None).await;
            if status == 200 {
                answers.push((resource, body));
            }
        }
        let mut path = Some(format!("/api/{resource}"));
        while let Some(current) = path.take() {
            let (status, body) = app.call(reqwest::Method::GET, &current, token, None).await;
            if status != 200 {
                break;
            }
            path = body["next"].as_str().map(|cursor| {
                common::with_query(&format!("/api/{resource}"), &[("cursor", cursor)])
            });
            for item in body["items"].as_array().into_iter().flatten() {
                answers.push((resource, item.clone()));
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (resource, body) in &answers {
        for (r, field, value) in &stored.per_row {
            if r == resource && body.get(field).and_then(Json::as_str) == Some(value) {
                seen.insert(value.clone());
            }
        }
    }
    seen
}

/// Every page a user can ask for, as the pages of `/ui` and `/api` link
/// and name them.
async fn every_page(
    app: &TestApp,
    client: &reqwest::Client,
    stored: &Stored,
) -> Vec<(String, String)> {
    let mut pages = Vec::new();
    let mut urls = vec!["/ui".to_owned(), "/auth/login".to_owned()];
    for (resource, ids) in &stored.keys {
        urls.push(format!("/ui/{resource}/new"));
        urls.push(format!("/api/{resource}"));
        for id in ids {
            for suffix in ["", "/edit", "/delete"] {
                urls.push(format!("/ui/{resource}/{id}{suffix}"));
            }
            urls.push(format!("/api/{resource}/{id}"));
        }
        // The list, page after page.
        let mut next = Some(format!("/ui/{resource}"));
        let mut seen = 0;
        while let Some(url) = next.take() {
            let html = page(client, &app.url(&url)).await;
            next = html
                .split("id=\"next-page\"")
                .next()
                .and_then(|before| before.rsplit("href=\"").next())
                .filter(|_| html.contains("id=\"next-page\""))
                .map(|href| {
                    href.split('"')
                        .next()
                        .unwrap_or("")
                        .replace("&#x2f;", "/")
                        .replace("&amp;", "&")
                });
            pages.push((url, html));
            seen += 1;
            assert!(seen < 100, "{resource}: the list never ends");
        }
    }
    for url in urls {
        let html = page(client, &app.url(&url)).await;
        pages.push((url, html));
    }
    pages
}

/// `text` as minijinja escapes it in HTML.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

fn assert_no_secret(who: &str, pages: &[(String, String)], secrets: &BTreeSet<String>) {
    for (url, html) in pages {
        for secret in secrets {
            assert!(
                !html.contains(secret.as_str()) && !html.contains(&escaped(secret)),
                "{who}: {url} shows `{secret}`"
            );
        }
    }
}

#[tokio::test]
async fn no_page_of_any_example_shows_a_hidden_value() {
    // How many (user, per-row value) pairs were withheld and looked for.
    let mut withheld = 0;
    for (path, backend) in configs()
        .into_iter()
        .flat_map(|path| backends().into_iter().map(move |b| (path.clone(), b)))
    {
        let app = TestApp::spawn(&path, backend.clone(), true).await;
        let stored = stored(&app).await;
        let config = app.app.config().clone();
        let name = format!("{} on {backend:?}", path.display());
        assert!(
            !stored.never.is_empty(),
            "{name}: nothing secret to look for"
        );

        // Anonymous: sees no per-row-protected value the API withholds.
        let shown = api_shows(&app, None, &stored).await;
        let mut secrets = stored.never.clone();
        secrets.extend(
            stored
                .per_row
                .iter()
                .map(|(_, _, v)| v.clone())
                .filter(|v| !shown.contains(v)),
        );
        let pages = every_page(&app, &browser(), &stored).await;
        assert_no_secret(&format!("{name} anonymous"), &pages, &secrets);

        let logins = common::seeded_logins(&config);
        assert!(
            config.auth.is_none() || !logins.is_empty(),
            "{name}: no seeded users"
        );
        for login in logins {
            let token = app.login(&login).await;
            let shown = api_shows(&app, Some(&token), &stored).await;
            let mut secrets = stored.never.clone();
            secrets.extend(
                stored
                    .per_row
                    .iter()
                    .map(|(_, _, v)| v.clone())
                    .filter(|v| !shown.contains(v)),
            );
            withheld += secrets.len() - stored.never.len();
            let client = browser();
            let response = client
                .post(app.url("/auth/login"))
                .json(&serde_json::json!({ "login": login, "password": PASSWORD }))
                .send()
                .await
                .expect("login");
            assert_eq!(response.status(), 200, "{name}: cookie login as {login}");
            let pages = every_page(&app, &client, &stored).await;
            // The pages really are this user's: home names them.
            let home = pages
                .iter()
                .find(|(url, _)| url == "/ui")
                .map(|(_, html)| html.as_str())
                .unwrap_or_default();
            assert!(home.contains(&escaped(&login)), "{name}: home of {login}");
            assert_no_secret(&format!("{name} as {login}"), &pages, &secrets);
        }
    }
    assert!(withheld > 0, "no per-row-protected value was ever withheld");
}
