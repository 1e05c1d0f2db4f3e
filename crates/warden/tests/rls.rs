//! Row-level security exported from the rules (`warden export-rls`) holds
//! a direct PostgreSQL client to what the API shows: for each caller, the
//! rows a plain `SELECT` returns under the policies are the rows the API
//! lists. PostgreSQL only.

mod common;

use common::{Backend, TestApp};
use reqwest::Method;
use sqlx::{Connection, Executor, Row};
use std::collections::BTreeSet;
use std::path::Path;

#[tokio::test]
async fn direct_sql_client_sees_exactly_the_rows_the_api_lists() {
    let Ok(admin_url) = std::env::var("WARDEN_TEST_POSTGRES") else {
        eprintln!("skipped: WARDEN_TEST_POSTGRES not set; the RLS test did not run");
        return;
    };
    let config_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/rls_posts/warden.toml");
    let app = TestApp::spawn(&config_path, Backend::Postgres(admin_url), true).await;
    let policy = app.app.policy();
    let script = warden::rls::export(app.app.config(), policy).expect("export");
    let pool = app.app.store().postgres_pool().expect("postgres").clone();
    let role = format!("warden_rls_{}", std::process::id());
    {
        let mut conn = pool.acquire().await.expect("connection");
        conn.execute(sqlx::AssertSqlSafe(script))
            .await
            .expect("apply the exported policies");
        conn.execute(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}")))
            .await
            .ok();
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE ROLE {role} NOLOGIN")))
            .await
            .expect("role");
        conn.execute(sqlx::AssertSqlSafe(format!(
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"
        )))
        .await
        .expect("grant");
    }
    let mut checked = 0;
    for (login, id) in [
        (None, ""),
        (Some("user21@example.com"), "21"),
        (Some("user23@example.com"), "23"),
        (Some("admin@example.com"), "1"),
    ] {
        let token = match login {
            Some(login) => Some(app.login(login).await),
            None => None,
        };
        let (status, body) = app
            .call(Method::GET, "/api/posts?limit=100", token.as_deref(), None)
            .await;
        assert_eq!(status, 200, "{body}");
        let api: BTreeSet<i64> = body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["id"].as_i64())
            .collect();
        let mut conn = pool.acquire().await.expect("connection");
        let mut tx = conn.begin().await.expect("tx");
        tx.execute(sqlx::AssertSqlSafe(format!("SET LOCAL ROLE {role}")))
            .await
            .expect("set role");
        sqlx::query("SELECT set_config('warden.user_id', $1, true)")
            .bind(id)
            .execute(&mut *tx)
            .await
            .expect("set user");
        let rows = sqlx::query("SELECT id FROM posts ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .expect("select under RLS");
        let direct: BTreeSet<i64> = rows.iter().map(|r| r.get::<i64, _>(0)).collect();
        tx.rollback().await.expect("rollback");
        assert_eq!(
            direct, api,
            "caller {id:?}: direct SQL and the API disagree"
        );
        checked += 1;
        if id == "21" {
            assert!(
                !direct.contains(&9),
                "user 21 must not see user 23's unpublished post 9"
            );
        }
        if id == "23" {
            assert!(direct.contains(&9), "user 23 sees their own draft");
        }
    }
    assert_eq!(checked, 4);
    let mut conn = pool.acquire().await.expect("connection");
    conn.execute(sqlx::AssertSqlSafe(format!(
        "REASSIGN OWNED BY {role} TO CURRENT_USER; DROP OWNED BY {role}; DROP ROLE {role}"
    )))
    .await
    .expect("drop role");
}
