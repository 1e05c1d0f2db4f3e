//! The HTML pages driven in Debian's headless Chromium (through
//! `/usr/bin/chromedriver`, never a browser a tool downloads) against the
//! `employees` example (seed 001), seeded on SQLite. Each step leaves a
//! screenshot in `target/ui-screenshots/`. Without Chromium installed the
//! tests print `skipped: chromium not installed` and pass; `.ci/run`
//! installs it, so CI runs them.

mod common;

use common::{Backend, PASSWORD, TestApp, example_config};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The seed's employees (examples/employees/seed.toml).
const ADMIN_READER: &str = "weijing.showalter.67000@example.com"; // admin:read
const ADMIN_WRITER: &str = "georgi.facello.10001@example.com"; // all four scopes
const PLAIN_USER: &str = "parto.bamford.10003@example.com"; // user:read user:write

/// Where the screenshots go.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots")
}

fn chromium_installed() -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    println!("skipped: chromium not installed");
    false
}

/// A chromedriver process of our own; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = format!("{}/status", driver.url);
    while reqwest::get(&status).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

/// Runs `scenario` in a fresh headless Chromium (its own profile folder)
/// against a freshly seeded employees example; the browser is closed even
/// when the scenario fails.
async fn in_browser<F, Fut>(scenario: F)
where
    F: FnOnce(Client, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let app = TestApp::spawn(&example_config("employees"), Backend::Sqlite, true).await;
    let driver = start_driver().await;
    let profile = tempfile::tempdir().expect("profile folder");
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal")
    };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    client
        .set_window_size(1280, 900)
        .await
        .expect("window size");
    let outcome = tokio::spawn(scenario(client.clone(), app.base.clone())).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(error) = outcome {
        if error.is_panic() {
            std::panic::resume_unwind(error.into_panic());
        }
        panic!("scenario did not finish: {error}");
    }
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

/// Waits until the page's path (and query, when `path` has one) is `path`.
async fn wait_for_path(client: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = client.current_url().await.expect("url");
        let here = match url.query() {
            Some(query) if path.contains('?') => format!("{}?{query}", url.path()),
            _ => url.path().to_owned(),
        };
        if here == path {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected to reach {path}, still at {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn find(client: &Client, css: &str) -> Element {
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
}

async fn text(client: &Client, css: &str) -> String {
    find(client, css).await.text().await.expect("text")
}

async fn fill(client: &Client, css: &str, value: &str) {
    let input = find(client, css).await;
    input.clear().await.expect("clear");
    input.send_keys(value).await.expect("type");
}

async fn value(client: &Client, css: &str) -> String {
    find(client, css)
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

async fn click(client: &Client, css: &str) {
    find(client, css).await.click().await.expect("click");
}

/// Fills and sends the login form the browser is on.
async fn log_in(client: &Client, login: &str) {
    fill(client, "#login", login).await;
    fill(client, "#password", PASSWORD).await;
    click(client, "#login-submit").await;
}

/// Whether the action control is a disabled button (not a link).
async fn is_disabled(client: &Client, css: &str) -> bool {
    let element = find(client, css).await;
    let tag = element.tag_name().await.expect("tag");
    let disabled = element.attr("disabled").await.expect("attr").is_some();
    tag == "button" && disabled && !element.is_enabled().await.expect("enabled")
}

async fn log_out(client: &Client) {
    click(client, "#logout").await;
    wait_for_path(client, "/auth/login").await;
    assert_eq!(text(client, "#flash").await, "You are logged out.");
}

#[tokio::test]
async fn admin_reader_is_sent_to_login_then_searches_by_partial_name_with_edit_disabled() {
    if !chromium_installed() {
        return;
    }
    in_browser(|client, base| async move {
        // A browser's GET of the JSON URL without a session: the login
        // page, which comes back here afterwards.
        client
            .goto(&format!("{base}/api/employees"))
            .await
            .expect("goto");
        wait_for_path(&client, "/auth/login").await;
        assert_eq!(text(&client, "h1").await, "Log in");
        screenshot(&client, "01-login-redirect").await;
        log_in(&client, ADMIN_READER).await;
        wait_for_path(&client, "/api/employees").await;
        assert_eq!(text(&client, "h1").await, "Employees");

        // Partial, case-insensitive search by last name.
        fill(&client, "#search", "facel").await;
        click(&client, "#search-submit").await;
        wait_for_path(&client, "/ui/employees?search=facel").await;
        let rows = client
            .find_all(Locator::Css("tbody tr"))
            .await
            .expect("rows");
        let mut ids = Vec::new();
        for row in &rows {
            ids.push(row.attr("data-id").await.expect("attr").unwrap_or_default());
        }
        assert_eq!(ids, ["10001", "10327"], "both Facellos, nobody else");
        assert!(text(&client, "#summary").await.contains("facel"));
        // admin:read may read, not edit or create: the buttons are there,
        // disabled.
        assert!(is_disabled(&client, "tr[data-id='10001'] [data-action='edit']").await);
        assert!(is_disabled(&client, "[data-action='create']").await);
        screenshot(&client, "02-admin-reader-search").await;

        // The record itself reads, with its edit button disabled too.
        click(&client, "tr[data-id='10001'] th a").await;
        wait_for_path(&client, "/ui/employees/10001").await;
        assert_eq!(text(&client, "[data-field='last_name']").await, "Facello");
        assert!(is_disabled(&client, "[data-action='edit']").await);
        log_out(&client).await;
    })
    .await;
}

#[tokio::test]
async fn admin_writer_creates_an_employee_then_sees_the_duplicate_email_error() {
    if !chromium_installed() {
        return;
    }
    in_browser(|client, base| async move {
        client
            .goto(&format!("{base}/ui/employees/new"))
            .await
            .expect("goto");
        wait_for_path(&client, "/auth/login").await;
        log_in(&client, ADMIN_WRITER).await;
        wait_for_path(&client, "/ui/employees/new").await;

        let new_employee = async |email: &str| {
            fill(&client, "#f-email", email).await;
            fill(&client, "#f-password", "correct horse battery").await;
            fill(&client, "#f-first_name", "Ada").await;
            fill(&client, "#f-last_name", "Lovelace").await;
            fill(&client, "#f-gender", "F").await;
            fill(&client, "#f-birth_date", "1815-12-10").await;
            fill(&client, "#f-hire_date", "2026-11-21").await;
            click(&client, "#save").await;
        };
        new_employee("ada.lovelace@example.com").await;
        find(&client, "#flash").await;
        assert!(
            text(&client, "#flash")
                .await
                .starts_with("Created employee ")
        );
        assert_eq!(
            text(&client, "[data-field='email']").await,
            "ada.lovelace@example.com"
        );
        screenshot(&client, "03-admin-writer-created").await;

        // The same email again: 409, shown on the email field, with what
        // was typed kept (except the password).
        client
            .goto(&format!("{base}/ui/employees/new"))
            .await
            .expect("goto");
        new_employee("ada.lovelace@example.com").await;
        let error = text(&client, "#e-email").await;
        assert!(error.contains("already taken"), "{error}");
        assert!(text(&client, "#error-summary").await.contains("Email"));
        assert_eq!(value(&client, "#f-email").await, "ada.lovelace@example.com");
        assert_eq!(value(&client, "#f-first_name").await, "Ada");
        assert_eq!(value(&client, "#f-password").await, "");
        assert_eq!(
            find(&client, "#f-email")
                .await
                .attr("aria-invalid")
                .await
                .expect("attr"),
            Some("true".to_owned())
        );
        screenshot(&client, "04-duplicate-email").await;
        log_out(&client).await;
    })
    .await;
}

#[tokio::test]
async fn plain_user_edits_own_record_is_refused_anothers_and_logs_out() {
    if !chromium_installed() {
        return;
    }
    in_browser(|client, base| async move {
        // A phone-sized window: the pages must read there too.
        client.set_window_size(390, 844).await.expect("window size");
        client.goto(&format!("{base}/ui")).await.expect("goto");
        wait_for_path(&client, "/auth/login").await;
        log_in(&client, PLAIN_USER).await;
        wait_for_path(&client, "/ui").await;
        let scopes = text(&client, "#scopes").await;
        assert!(
            scopes.contains("user:read") && scopes.contains("user:write"),
            "{scopes}"
        );
        assert!(!scopes.contains("admin"), "{scopes}");
        assert!(is_disabled(&client, "[data-action='create']").await);
        screenshot(&client, "05-plain-user-home").await;

        click(&client, "[data-action='own']").await;
        wait_for_path(&client, "/ui/employees/10003").await;
        click(&client, "[data-action='edit']").await;
        wait_for_path(&client, "/ui/employees/10003/edit").await;
        assert_eq!(value(&client, "#f-first_name").await, "Parto");
        fill(&client, "#f-first_name", "Parto J.").await;
        click(&client, "#save").await;
        wait_for_path(&client, "/ui/employees/10003").await;
        assert_eq!(text(&client, "#flash").await, "Saved employee 10003.");
        assert_eq!(text(&client, "[data-field='first_name']").await, "Parto J.");
        screenshot(&client, "06-plain-user-saved-own").await;

        // Another employee's edit page: refused, and nothing of them shown.
        client
            .goto(&format!("{base}/ui/employees/10001/edit"))
            .await
            .expect("goto");
        assert_eq!(text(&client, "#error-title").await, "Forbidden");
        let source = client.source().await.expect("source");
        assert!(!source.contains("Facello"), "nothing of the other row");
        assert!(
            client
                .find(Locator::Css("form input[name='first_name']"))
                .await
                .is_err()
        );
        screenshot(&client, "07-plain-user-refused-other").await;

        client.goto(&format!("{base}/ui")).await.expect("goto");
        log_out(&client).await;
        screenshot(&client, "08-logged-out").await;
        // The session is gone: pages send the browser to log in again.
        client.goto(&format!("{base}/ui")).await.expect("goto");
        wait_for_path(&client, "/auth/login").await;
    })
    .await;
}

/// Issue 19: a login page reached with a hostile `next` (here a tab
/// between two slashes, which the browser drops before it reads
/// `//evil.example` as a host; and its variants) must leave the browser
/// on this site after the login.
#[tokio::test]
async fn a_hostile_next_leaves_the_browser_on_this_site_after_login() {
    if !chromium_installed() {
        return;
    }
    in_browser(|client, base| async move {
        let here = url::Url::parse(&base).expect("base url");
        for (i, next) in [
            "%2F%09%2Fevil.example",
            "%09%2F%2Fevil.example",
            "%2F%5Cevil.example",
            "%2F.%2F%2Fevil.example",
            "%2F%0A%2Fevil.example",
        ]
        .into_iter()
        .enumerate()
        {
            client
                .goto(&format!("{base}/auth/login?next={next}"))
                .await
                .expect("goto");
            log_in(&client, PLAIN_USER).await;
            wait_for_path(&client, "/ui").await;
            let url = client.current_url().await.expect("url");
            assert_eq!(
                url.origin(),
                here.origin(),
                "next={next} led the browser to {url}"
            );
            screenshot(&client, &format!("09-hostile-next-{i}")).await;
        }
        log_out(&client).await;
    })
    .await;
}

/// The pages' Content-Security-Policy, as Chromium enforces it: the one
/// stylesheet applies (so the policy lets through all the pages need),
/// and a script injected into a page does not run (so an injection that
/// escaped the templates' escaping could not either).
#[tokio::test]
async fn pages_are_styled_and_run_no_injected_script_under_their_policy() {
    if !chromium_installed() {
        return;
    }
    in_browser(|client, base| async move {
        client
            .goto(&format!("{base}/auth/login"))
            .await
            .expect("goto");
        find(&client, "#login").await;
        let margin = client
            .execute("return getComputedStyle(document.body).margin;", vec![])
            .await
            .expect("style");
        assert_eq!(margin, json!("0px"), "style.css applies (its body margin)");
        let ran = client
            .execute(
                "const s = document.createElement('script');
                 s.textContent = 'window.injected = true;';
                 document.body.appendChild(s);
                 return window.injected === true;",
                vec![],
            )
            .await
            .expect("inject");
        assert_eq!(ran, json!(false), "an inline script ran on the page");
    })
    .await;
}
