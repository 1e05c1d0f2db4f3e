//! The HTML pages over plain HTTP, on the `ui_employees` fixture (seed 001
//! shaped, with a delete rule and a page size of 5): content negotiation,
//! the login round trip, pages of a list, the delete confirmation step,
//! CSRF on page forms, and disabled actions.

mod common;

use common::{PASSWORD, TestApp, fixture_config, on_each_backend_config, with_query};
use reqwest::redirect::Policy;

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,*/*;q=0.8";
const ADMIN_WRITER: &str = "georgi.facello@example.com"; // 10002
const ADMIN_READER: &str = "weijing.showalter@example.com"; // 10001

/// A cookie-keeping client that does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String, String) {
    let response = client
        .get(app.url(path))
        .header("accept", BROWSER_ACCEPT)
        .send()
        .await
        .expect("get");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, location, response.text().await.expect("text"))
}

async fn post_form(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let response = client
        .post(app.url(path))
        .header("accept", BROWSER_ACCEPT)
        .form(form)
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, location, response.text().await.expect("text"))
}

/// Logs in through the login form; answers the client.
async fn logged_in(app: &TestApp, login: &str) -> reqwest::Client {
    let client = browser();
    let (status, location, _) = post_form(
        &client,
        app,
        "/auth/login",
        &[("login", login), ("password", PASSWORD), ("next", "/ui")],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/ui"),
        "login as {login}"
    );
    client
}

/// The CSRF token a page's forms carry.
fn csrf(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf_token field")
        .to_owned()
}

#[tokio::test]
async fn browsers_are_sent_to_login_and_back_json_clients_get_401() {
    on_each_backend_config(&fixture_config("ui_employees"), |app| async move {
        let client = browser();
        let (status, location, _) = get(&client, &app, "/api/employees?search=fac").await;
        assert_eq!(status, 303);
        assert_eq!(
            location,
            "/auth/login?next=%2Fapi%2Femployees%3Fsearch%3Dfac"
        );

        let json = app
            .raw(reqwest::Method::GET, "/api/employees", None, &[], None)
            .await;
        json.assert_problem(401, "unauthenticated", "a JSON client");
        let json = app
            .raw(
                reqwest::Method::GET,
                "/api/employees",
                None,
                &[("accept", "application/json, text/html")],
                None,
            )
            .await;
        json.assert_problem(401, "unauthenticated", "JSON ranked first");

        let (status, location, _) = post_form(
            &client,
            &app,
            "/auth/login",
            &[
                ("login", ADMIN_READER),
                ("password", PASSWORD),
                ("next", "/api/employees?search=fac"),
            ],
        )
        .await;
        assert_eq!(
            (status, location.as_str()),
            (303, "/api/employees?search=fac")
        );
        let (status, _, html) = get(&client, &app, "/api/employees?search=fac").await;
        assert_eq!(status, 200);
        assert!(html.contains("data-id=\"10002\""), "Facello found: {html}");
        assert!(!html.contains("data-id=\"10001\""), "only matches");

        // A wrong password shows the login page again, with the reason.
        let (status, _, html) = post_form(
            &browser(),
            &app,
            "/auth/login",
            &[("login", ADMIN_READER), ("password", "wrong-password")],
        )
        .await;
        assert_eq!(status, 401);
        assert!(html.contains("id=\"login-error\""), "{html}");
    })
    .await;
}

#[tokio::test]
async fn a_list_pages_with_cursors_and_sorts_by_a_column() {
    on_each_backend_config(&fixture_config("ui_employees"), |app| async move {
        let client = logged_in(&app, ADMIN_READER).await;
        let (status, _, first) = get(&client, &app, "/ui/employees?sort=-last_name").await;
        assert_eq!(status, 200);
        assert_eq!(first.matches("<tr data-id=").count(), 5, "page size 5");
        // Zielinski, Showalter, Samarati, Preusig, Maliniak; then the rest.
        let order: Vec<&str> = first
            .split("<tr data-id=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        assert_eq!(order, ["10007", "10001", "10004", "10006", "10005"]);
        assert!(first.contains("aria-sort=\"descending\""));
        let next = first
            .split("id=\"next-page\"")
            .next()
            .and_then(|before| before.rsplit("href=\"").next())
            .map(|href| {
                href.split('"')
                    .next()
                    .unwrap_or("")
                    .replace("&#x2f;", "/")
                    .replace("&amp;", "&")
            })
            .expect("a next page link");
        let (status, _, second) = get(&client, &app, &next).await;
        assert_eq!(status, 200);
        let rest: Vec<&str> = second
            .split("<tr data-id=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        assert_eq!(rest, ["10002", "10003"]);
        assert!(!second.contains("id=\"next-page\""));
        assert!(second.contains("id=\"first-page\""));
    })
    .await;
}

#[tokio::test]
async fn delete_asks_first_then_deletes_with_the_session_token() {
    on_each_backend_config(&fixture_config("ui_employees"), |app| async move {
        let client = logged_in(&app, ADMIN_WRITER).await;
        let (status, _, page) = get(&client, &app, "/ui/employees/10007/delete").await;
        assert_eq!(status, 200);
        assert!(page.contains("Delete employee 10007?"), "{page}");
        let token = csrf(&page);

        // Without the token the write is refused and nothing is deleted.
        let (status, _, _) = post_form(&client, &app, "/ui/employees/10007/delete", &[]).await;
        assert_eq!(status, 403);
        let (status, _, _) = get(&client, &app, "/ui/employees/10007").await;
        assert_eq!(status, 200, "still there");

        let (status, location, _) = post_form(
            &client,
            &app,
            "/ui/employees/10007/delete",
            &[("csrf_token", &token)],
        )
        .await;
        assert_eq!((status, location.as_str()), (303, "/ui/employees"));
        let (_, _, list) = get(&client, &app, "/ui/employees").await;
        assert!(
            list.contains("Deleted employee 10007."),
            "the flash message"
        );
        let (status, _, _) = get(&client, &app, "/ui/employees/10007").await;
        assert_eq!(status, 404);
        // The message shows once.
        let (_, _, again) = get(&client, &app, "/ui/employees").await;
        assert!(!again.contains("Deleted employee 10007."));
    })
    .await;
}

#[tokio::test]
async fn the_own_account_form_asks_for_the_current_password_to_change_it() {
    on_each_backend_config(&fixture_config("ui_employees"), |app| async move {
        const EMPLOYEE: &str = "parto.bamford@example.com"; // 10003, user:write
        let client = logged_in(&app, EMPLOYEE).await;
        let (status, _, page) = get(&client, &app, "/ui/employees/10003/edit").await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("name=\"current_password\" value=\"\" autocomplete=\"current-password\""),
            "{page}"
        );
        // Someone else's record (an administrator's form) does not ask.
        let admin = logged_in(&app, ADMIN_WRITER).await;
        let (_, _, other) = get(&admin, &app, "/ui/employees/10007/edit").await;
        assert!(!other.contains("current_password"), "{other}");

        let token = csrf(&page);
        let form = |current: &'static str| {
            [
                ("csrf_token", token.clone()),
                ("first_name", "Parto".to_owned()),
                ("last_name", "Bamford".to_owned()),
                ("password", "a-new-password-9".to_owned()),
                ("current_password", current.to_owned()),
            ]
        };
        let send = |pairs: [(&'static str, String); 5]| {
            let client = &client;
            let app = &app;
            async move {
                let pairs: Vec<(&str, &str)> =
                    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post_form(client, app, "/ui/employees/10003/edit", &pairs).await
            }
        };
        let (status, _, refused) = send(form("")).await;
        assert_eq!(status, 400, "{refused}");
        assert!(
            refused.contains("id=\"e-current_password\">give your current password to change it"),
            "the reason beside the field: {refused}"
        );
        let (status, _, refused) = send(form("not-my-password")).await;
        assert_eq!(status, 400, "{refused}");
        assert!(
            refused.contains("is not your current password"),
            "{refused}"
        );

        let (status, location, _) = send(form(PASSWORD)).await;
        assert_eq!((status, location.as_str()), (303, "/ui/employees/10003"));
        let (status, _, _) = get(&client, &app, "/ui/employees/10003").await;
        assert_eq!(status, 200, "the session that changed it stays");
        let relogin = post_form(
            &browser(),
            &app,
            "/auth/login",
            &[
                ("login", EMPLOYEE),
                ("password", "a-new-password-9"),
                ("next", "/ui"),
            ],
        )
        .await;
        assert_eq!(relogin.0, 303, "the new password logs in");
    })
    .await;
}

#[tokio::test]
async fn actions_the_rules_refuse_are_disabled_and_their_pages_refused() {
    on_each_backend_config(&fixture_config("ui_employees"), |app| async move {
        // The delete rule refuses one's own record, even to admin:write.
        let client = logged_in(&app, ADMIN_WRITER).await;
        let (_, _, own) = get(&client, &app, "/ui/employees/10002").await;
        assert!(
            own.contains("data-action=\"delete\" disabled"),
            "own delete disabled: {own}"
        );
        assert!(own.contains("<a class=\"button\" href=\"&#x2f;ui&#x2f;employees&#x2f;10002&#x2f;edit\" data-action=\"edit\">"));
        let (status, _, _) = get(&client, &app, "/ui/employees/10002/delete").await;
        assert_eq!(status, 403);

        // admin:read alone: every edit, delete and create is disabled.
        let reader = logged_in(&app, ADMIN_READER).await;
        let (_, _, list) = get(&reader, &app, "/ui/employees").await;
        assert_eq!(list.matches("data-action=\"edit\" disabled").count(), 5);
        assert_eq!(list.matches("data-action=\"delete\" disabled").count(), 5);
        assert!(list.contains("data-action=\"create\" disabled"));
        let (status, _, _) = get(&reader, &app, "/ui/employees/new").await;
        assert_eq!(status, 403);
        let (status, _, _) = get(&reader, &app, "/ui/employees/10003/edit").await;
        assert_eq!(status, 403);
    })
    .await;
}

/// A `next` a browser would read as another origin once it drops tabs
/// and newlines or reads `\` as `/` (issue 19: `/<TAB>/evil.example` was
/// sent back as `Location: /\t/evil.example`, which a browser follows to
/// `//evil.example`) is never the place a login sends it, neither posted
/// nor through the login page's form. `ui_browser.rs` has the same in
/// Chromium.
#[tokio::test]
async fn a_hostile_next_never_leads_off_the_site_after_login() {
    on_each_backend_config(&fixture_config("ui_employees"), |app| async move {
        for hostile in [
            "/\t/evil.example",
            "/\n/evil.example",
            "\t//evil.example",
            "/\\evil.example",
            "/.//evil.example",
            " //evil.example",
            "https://evil.example/",
        ] {
            let (status, location, _) = post_form(
                &browser(),
                &app,
                "/auth/login",
                &[
                    ("login", ADMIN_READER),
                    ("password", PASSWORD),
                    ("next", hostile),
                ],
            )
            .await;
            assert_eq!(
                (status, location.as_str()),
                (303, "/"),
                "{:?}: next={hostile:?}",
                app.backend
            );
            let page = with_query("/auth/login", &[("next", hostile)]);
            let (status, _, html) = get(&browser(), &app, &page).await;
            assert_eq!(status, 200);
            // minijinja writes `/` as `&#x2f;` in attributes.
            assert!(
                html.replace("&#x2f;", "/")
                    .contains(r#"name="next" value="/ui""#)
                    && !html.contains("evil"),
                "{:?}: the form carries the safe default for {hostile:?}: {html}",
                app.backend
            );
        }
        // A path on the site still comes back, normalised.
        let (_, location, _) = post_form(
            &browser(),
            &app,
            "/auth/login",
            &[
                ("login", ADMIN_READER),
                ("password", PASSWORD),
                ("next", "/ui/employees?search=fa c"),
            ],
        )
        .await;
        assert_eq!(location, "/ui/employees?search=fa%20c");
    })
    .await;
}
