//! Seed 004 (Python jsonapi "protected models") replayed against the
//! `articles` example: access to an article is a function of (article id,
//! user id) — superuser, or author, or a row in `article_read_access`; no
//! user sees nothing; one article (or the to-one relation of another row)
//! not accessible is 403; collections and to-many relations are silently
//! filtered.
//!
//! Every scenario runs on `warden.toml` (the policy in the rule language)
//! on SQLite and PostgreSQL, and on PostgreSQL also on
//! `warden.postgres.toml`, where the seed's own plpgsql function
//! `check_article_access` decides inside the query; the last test replays
//! one transcript on all of them and requires identical answers.

mod common;

use common::{Backend, TestApp, backends, field_values, on_each_backend};
use reqwest::Method;
use serde_json::{Value as Json, json};
use std::future::Future;
use std::path::PathBuf;

fn postgres_config() -> PathBuf {
    common::example_config("articles").with_file_name("warden.postgres.toml")
}

/// The PostgreSQL admin URL, when PostgreSQL cases run.
fn postgres() -> Option<String> {
    backends().into_iter().find_map(|b| match b {
        Backend::Postgres(url) => Some(url),
        Backend::Sqlite => None,
    })
}

/// `scenario` on warden.toml (SQLite, PostgreSQL) and on
/// warden.postgres.toml (PostgreSQL, the plpgsql function).
async fn on_each_policy<F, Fut>(scenario: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend("articles", &scenario).await;
    if let Some(url) = postgres() {
        let app = TestApp::spawn(&postgres_config(), Backend::Postgres(url), true).await;
        scenario(app).await;
    }
}

/// Who is calling: the seed's users, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// Author of articles 1 and 2.
    Alice,
    /// Author of article 3.
    Bob,
    /// May read article 1 through article_read_access.
    Carol,
    /// Superuser.
    Root,
}

/// Tokens of the seed's users, logged in once per app.
struct Callers {
    alice: String,
    bob: String,
    carol: String,
    root: String,
}

impl Callers {
    async fn log_in(app: &TestApp) -> Self {
        Self {
            alice: app.login("alice").await,
            bob: app.login("bob").await,
            carol: app.login("carol").await,
            root: app.login("root").await,
        }
    }

    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Alice => Some(&self.alice),
            Who::Bob => Some(&self.bob),
            Who::Carol => Some(&self.carol),
            Who::Root => Some(&self.root),
        }
    }
}

async fn ids(app: &TestApp, callers: &Callers, who: Who, path: &str) -> Vec<Json> {
    field_values(&app.list_items(path, callers.token(who)).await, "id")
}

async fn status(app: &TestApp, callers: &Callers, who: Who, method: Method, path: &str) -> u16 {
    app.call(method, path, callers.token(who), None).await.0
}

#[tokio::test]
async fn no_user_no_article_anonymous_gets_401() {
    on_each_policy(|app| async move {
        for path in ["/api/articles", "/api/articles/1", "/api/articles/3"] {
            let (status, body) = app.call(Method::GET, path, None, None).await;
            common::assert_problem(status, &body, 401, "unauthenticated", path);
        }
    })
    .await;
}

#[tokio::test]
async fn lists_are_silently_filtered_to_what_each_user_may_read() {
    on_each_policy(|app| async move {
        let c = Callers::log_in(&app).await;
        let path = "/api/articles";
        assert_eq!(ids(&app, &c, Who::Alice, path).await, [json!(1), json!(2)]);
        assert_eq!(ids(&app, &c, Who::Bob, path).await, [json!(3)]);
        assert_eq!(ids(&app, &c, Who::Carol, path).await, [json!(1)]);
        assert_eq!(
            ids(&app, &c, Who::Root, path).await,
            [json!(1), json!(2), json!(3)],
            "{:?}",
            app.backend
        );
    })
    .await;
}

#[tokio::test]
async fn carol_reads_article_1_through_the_acl_but_gets_403_on_article_2() {
    on_each_policy(|app| async move {
        let c = Callers::log_in(&app).await;
        let (code, article) = app
            .call(Method::GET, "/api/articles/1", c.token(Who::Carol), None)
            .await;
        assert_eq!(code, 200, "{:?}: {article}", app.backend);
        assert_eq!(article["title"], "Protecting models");
        let (code, body) = app
            .call(Method::GET, "/api/articles/2", c.token(Who::Carol), None)
            .await;
        common::assert_problem(code, &body, 403, "forbidden", "carol, article 2");
        // An article that does not exist is still 404.
        let (code, body) = app
            .call(Method::GET, "/api/articles/999", c.token(Who::Carol), None)
            .await;
        common::assert_problem(code, &body, 404, "not-found", "article 999");
    })
    .await;
}

#[tokio::test]
async fn authors_read_their_own_and_superusers_read_all() {
    on_each_policy(|app| async move {
        let c = Callers::log_in(&app).await;
        for (who, id, want) in [
            (Who::Alice, 1, 200),
            (Who::Alice, 2, 200),
            (Who::Alice, 3, 403),
            (Who::Bob, 1, 403),
            (Who::Bob, 3, 200),
            (Who::Root, 1, 200),
            (Who::Root, 2, 200),
            (Who::Root, 3, 200),
        ] {
            let path = format!("/api/articles/{id}");
            let got = status(&app, &c, who, Method::GET, &path).await;
            assert_eq!(got, want, "{:?}: {who:?} GET {path}", app.backend);
        }
    })
    .await;
}

#[tokio::test]
async fn a_to_many_relation_is_silently_filtered() {
    on_each_policy(|app| async move {
        let c = Callers::log_in(&app).await;
        // alice's articles as each caller may see them.
        for (who, want) in [
            (Who::Carol, vec![json!(1)]),
            (Who::Bob, vec![]),
            (Who::Alice, vec![json!(1), json!(2)]),
            (Who::Root, vec![json!(1), json!(2)]),
        ] {
            let (code, user) = app
                .call(
                    Method::GET,
                    "/api/users/1?expand=articles",
                    c.token(who),
                    None,
                )
                .await;
            assert_eq!(code, 200, "{user}");
            let articles = user["articles"].as_array().expect("articles");
            assert_eq!(
                field_values(articles, "id"),
                want,
                "{:?} {who:?}",
                app.backend
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_to_one_relation_to_an_article_you_may_not_read_is_403() {
    on_each_policy(|app| async move {
        let c = Callers::log_in(&app).await;
        // Comment 2 is on bob's article 3, which carol may not read.
        let (code, body) = app
            .call(
                Method::GET,
                "/api/comments/2?expand=article",
                c.token(Who::Carol),
                None,
            )
            .await;
        common::assert_problem(code, &body, 403, "forbidden", "comment 2's article");
        // Comment 1 is on article 1, which she may.
        let (code, comment) = app
            .call(
                Method::GET,
                "/api/comments/1?expand=article",
                c.token(Who::Carol),
                None,
            )
            .await;
        assert_eq!(code, 200, "{:?}: {comment}", app.backend);
        assert_eq!(comment["article"]["id"], 1);
        // In a list, the article she may not read is left out (null).
        let items = app
            .list_items("/api/comments?expand=article", c.token(Who::Carol))
            .await;
        assert_eq!(items[0]["article"]["id"], 1);
        assert_eq!(items[1]["article"], Json::Null, "{items:?}");
        // The author of the article sees it.
        let (code, _) = app
            .call(
                Method::GET,
                "/api/comments/2?expand=article",
                c.token(Who::Bob),
                None,
            )
            .await;
        assert_eq!(code, 200);
    })
    .await;
}

#[tokio::test]
async fn read_access_is_not_write_access() {
    on_each_policy(|app| async move {
        let c = Callers::log_in(&app).await;
        let (code, body) = app
            .call(
                Method::PATCH,
                "/api/articles/1",
                c.token(Who::Carol),
                Some(json!({"title": "Carol's now"})),
            )
            .await;
        common::assert_problem(code, &body, 403, "forbidden", "carol edits article 1");
        let (code, body) = app
            .call(Method::DELETE, "/api/articles/1", c.token(Who::Carol), None)
            .await;
        common::assert_problem(code, &body, 403, "forbidden", "carol deletes article 1");
        // Nor may a reader hand out access.
        let (code, body) = app
            .call(
                Method::POST,
                "/api/article_read_access",
                c.token(Who::Carol),
                Some(json!({"article_id": 1, "user_id": 2})),
            )
            .await;
        common::assert_problem(code, &body, 403, "forbidden", "carol grants");
        let (code, article) = app
            .call(
                Method::PATCH,
                "/api/articles/1",
                c.token(Who::Alice),
                Some(json!({"title": "Protecting models, revised"})),
            )
            .await;
        assert_eq!(code, 200, "{:?}: {article}", app.backend);
    })
    .await;
}

/// alice grants carol article 2, then takes it back.
async fn grant_and_revoke(app: TestApp) {
    let c = Callers::log_in(&app).await;
    let (code, grant) = app
        .call(
            Method::POST,
            "/api/article_read_access",
            c.token(Who::Alice),
            Some(json!({"article_id": 2, "user_id": 3})),
        )
        .await;
    assert_eq!(code, 201, "{:?}: {grant}", app.backend);
    let grant_path = format!("/api/article_read_access/{}", grant["id"]);
    assert_eq!(
        status(&app, &c, Who::Carol, Method::GET, "/api/articles/2").await,
        200
    );
    assert_eq!(
        ids(&app, &c, Who::Carol, "/api/articles").await,
        [json!(1), json!(2)]
    );
    // The same grant twice is a conflict.
    let (code, body) = app
        .call(
            Method::POST,
            "/api/article_read_access",
            c.token(Who::Alice),
            Some(json!({"article_id": 2, "user_id": 3})),
        )
        .await;
    common::assert_problem(code, &body, 409, "conflict", "second grant");
    // Revoked: back to 403.
    assert_eq!(
        status(&app, &c, Who::Alice, Method::DELETE, &grant_path).await,
        204
    );
    assert_eq!(
        status(&app, &c, Who::Carol, Method::GET, "/api/articles/2").await,
        403
    );
}

/// Creates whose rule needs a lookup (`row.article.author_id`,
/// `exists`) on SQLite.
#[tokio::test]
async fn the_author_grants_and_revokes_read_access() {
    let app = TestApp::spawn(&common::example_config("articles"), Backend::Sqlite, true).await;
    grant_and_revoke(app).await;
}

/// The same on PostgreSQL, with both configs.
#[tokio::test]
async fn the_author_grants_and_revokes_read_access_on_postgresql() {
    let Some(url) = postgres() else {
        return;
    };
    for config in [common::example_config("articles"), postgres_config()] {
        let app = TestApp::spawn(&config, Backend::Postgres(url.clone()), true).await;
        grant_and_revoke(app).await;
    }
}

#[tokio::test]
async fn a_superuser_deletes_any_article() {
    on_each_policy(|app| async move {
        let c = Callers::log_in(&app).await;
        assert_eq!(
            status(&app, &c, Who::Root, Method::DELETE, "/api/articles/3").await,
            204
        );
        assert_eq!(
            ids(&app, &c, Who::Bob, "/api/articles").await,
            [] as [Json; 0]
        );
    })
    .await;
}

/// One step of the transcript: who, what, and an optional body.
type Step = (Who, Method, &'static str, Option<Json>);

/// Reads, refused writes and deletes: everything of the scenario but the
/// creates whose rule needs a lookup.
fn reads_and_refusals() -> Vec<Step> {
    use Method as M;
    use Who::*;
    vec![
        (Anonymous, M::GET, "/api/articles", None),
        (Anonymous, M::GET, "/api/articles/1", None),
        (Alice, M::GET, "/api/articles", None),
        (Bob, M::GET, "/api/articles", None),
        (Carol, M::GET, "/api/articles", None),
        (Root, M::GET, "/api/articles", None),
        (Carol, M::GET, "/api/articles/1", None),
        (Carol, M::GET, "/api/articles/2", None),
        (Bob, M::GET, "/api/articles/1", None),
        (Carol, M::GET, "/api/articles/999", None),
        (Carol, M::GET, "/api/articles/2?expand=author", None),
        (
            Carol,
            M::GET,
            "/api/articles/1?expand=author,comments",
            None,
        ),
        (Carol, M::GET, "/api/users/1?expand=articles", None),
        (Bob, M::GET, "/api/users/1?expand=articles", None),
        (Root, M::GET, "/api/users/1?expand=articles", None),
        (Carol, M::GET, "/api/comments/2?expand=article", None),
        (Carol, M::GET, "/api/comments/1?expand=article", None),
        (Carol, M::GET, "/api/comments?expand=article", None),
        (Carol, M::GET, "/api/articles?search=models", None),
        (
            Carol,
            M::GET,
            "/api/articles?filter=row.author_id == 1",
            None,
        ),
        (
            Carol,
            M::PATCH,
            "/api/articles/1",
            Some(json!({"title": "Carol's now"})),
        ),
        (
            Bob,
            M::POST,
            "/api/article_read_access",
            Some(json!({"article_id": 1, "user_id": 2})),
        ),
        (
            Carol,
            M::POST,
            "/api/comments",
            Some(json!({"article_id": 2, "body": "Let me in."})),
        ),
        (Alice, M::GET, "/api/article_read_access", None),
        (Carol, M::GET, "/api/article_read_access", None),
        (Bob, M::GET, "/api/article_read_access", None),
        (
            Alice,
            M::PATCH,
            "/api/articles/1",
            Some(json!({"title": "Protecting models, revised"})),
        ),
        (Carol, M::GET, "/api/articles/1", None),
        (Root, M::DELETE, "/api/articles/3", None),
        (Bob, M::GET, "/api/articles", None),
        (
            Anonymous,
            M::POST,
            "/api/articles",
            Some(json!({"title": "t", "body": "b"})),
        ),
    ]
}

/// alice grants carol article 2, carol reads and comments on it, alice
/// revokes the grant.
fn grant_steps() -> Vec<Step> {
    use Method as M;
    use Who::*;
    vec![
        (
            Alice,
            M::POST,
            "/api/article_read_access",
            Some(json!({"article_id": 2, "user_id": 3})),
        ),
        (Carol, M::GET, "/api/articles/2", None),
        (Carol, M::GET, "/api/articles", None),
        (
            Carol,
            M::POST,
            "/api/comments",
            Some(json!({"article_id": 2, "body": "Thanks."})),
        ),
        (Carol, M::GET, "/api/articles/2?expand=comments", None),
        (Alice, M::GET, "/api/article_read_access", None),
        (Alice, M::DELETE, "/api/article_read_access/2", None),
        (Carol, M::GET, "/api/articles/2", None),
        (Carol, M::GET, "/api/comments/3?expand=article", None),
    ]
}

/// Replays `steps`: each step's status and body.
async fn transcript(app: &TestApp, steps: Vec<Step>) -> Vec<(String, u16, Json)> {
    let c = Callers::log_in(app).await;
    let mut answers = Vec::new();
    for (who, method, path, body) in steps {
        let label = format!("{who:?} {method} {path}");
        let url = path.replace(' ', "%20");
        let (code, answer) = app.call(method, &url, c.token(who), body).await;
        answers.push((label, code, answer));
    }
    answers
}

/// The transcript on SQLite, then on PostgreSQL with the rules and with
/// the plpgsql function: identical answers, step by step. Returns the
/// statuses.
async fn same_answers_everywhere(steps: fn() -> Vec<Step>) -> Option<Vec<u16>> {
    let url = postgres()?;
    let rules = common::example_config("articles");
    let sqlite = TestApp::spawn(&rules, Backend::Sqlite, true).await;
    let expected = transcript(&sqlite, steps()).await;
    for (name, config) in [("the rules", rules.clone()), ("plpgsql", postgres_config())] {
        let app = TestApp::spawn(&config, Backend::Postgres(url.clone()), true).await;
        let got = transcript(&app, steps()).await;
        for (want, got) in expected.iter().zip(&got) {
            assert_eq!(
                want, got,
                "PostgreSQL with {name} differs from SQLite at {}",
                want.0
            );
        }
        assert_eq!(expected.len(), got.len());
    }
    Some(expected.iter().map(|(_, code, _)| *code).collect())
}

#[tokio::test]
async fn the_plpgsql_function_gives_the_same_answers_as_the_rule_language() {
    let Some(statuses) = same_answers_everywhere(reads_and_refusals).await else {
        return;
    };
    assert_eq!(
        statuses,
        [
            401, 401, 200, 200, 200, 200, 200, 403, 403, 404, 403, 200, 200, 200, 200, 403, 200,
            200, 200, 200, 403, 403, 403, 200, 200, 200, 200, 200, 204, 200, 401
        ]
    );
}

#[tokio::test]
async fn the_plpgsql_function_gives_the_same_answers_for_grants_and_comments() {
    fn steps() -> Vec<Step> {
        let mut all = reads_and_refusals();
        all.extend(grant_steps());
        all
    }
    let Some(statuses) = same_answers_everywhere(steps).await else {
        return;
    };
    assert_eq!(
        statuses[statuses.len() - 9..],
        [201, 200, 200, 201, 200, 200, 204, 403, 403]
    );
}

/// The grant steps on SQLite alone (PostgreSQL: see the ignored test).
#[tokio::test]
async fn grant_steps_on_sqlite() {
    let app = TestApp::spawn(&common::example_config("articles"), Backend::Sqlite, true).await;
    let answers = transcript(&app, grant_steps()).await;
    let statuses: Vec<u16> = answers.iter().map(|(_, code, _)| *code).collect();
    assert_eq!(
        statuses,
        [201, 200, 200, 201, 200, 200, 204, 403, 403],
        "{answers:#?}"
    );
}
