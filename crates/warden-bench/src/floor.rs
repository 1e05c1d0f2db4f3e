//! Baseline (a), the floor: hand-written axum + sqlx handlers running the
//! same SQL statements warden runs (the article visibility predicate
//! included, written by hand), with no rule engine and no config. It is
//! served twice from one process:
//! - at `/`, the fair floor: what a careful engineer hand-writes, as seed
//!   000's `get_current_user` does. A bearer JWT is verified with
//!   jsonwebtoken under warden's validation (HS256 only; `exp iat nbf iss
//!   aud sub` required; 5 s leeway; `iat` not in the future), then ONE
//!   statement loads the caller's row and whether the token's session
//!   (`sid`) is still live, which is what makes logout immediate in
//!   warden; then the handler's statement runs with the rule in its WHERE.
//!   It verifies the very tokens warden issues in the bench.
//! - under `/no-auth`, the floor with no authentication at all: the
//!   caller's id comes from `?user=`. What separates the two is auth's own
//!   cost.
//!
//! It must not cache a verified token or a loaded caller: a floor pays for
//! each request's authentication, as the hand-written code it stands for.
//!
//! Pools are opened like warden's `Store::connect` (SQLite: WAL, NORMAL
//! sync, foreign keys, 5 s busy timeout; sqlx's default pool size).

use anyhow::Result;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use sqlx::Row;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

struct Inner {
    pool: Pool,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

type AppState = Arc<Inner>;

/// The issuer and audience warden's `App::new` signs its tokens with.
const ISSUER: &str = "warden";
const AUDIENCE: &str = "warden";
/// Warden's clock-skew leeway on `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: u64 = 5;
/// Lifetime of the tokens the floor's own password grant signs.
const TOKEN_TTL_SECONDS: u64 = 1800;

/// Warden's token validation (`auth/token.rs`), set up once.
fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_nbf = true;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iat", "nbf", "iss", "aud", "sub"]);
    validation
}

pub async fn router(database_url: &str, jwt_secret: &[u8]) -> Result<Router> {
    let pool = if database_url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(database_url)?
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .synchronous(SqliteSynchronous::Normal)
            .journal_mode(SqliteJournalMode::Wal);
        // As warden's `Store::connect`: no liveness ping before each use
        // of a local file's connection.
        Pool::Sqlite(
            SqlitePoolOptions::new()
                .test_before_acquire(false)
                .connect_with(options)
                .await?,
        )
    } else {
        // As warden's: a connection in steady use is not pinged first.
        Pool::Postgres(
            warden::store::postgres_pool_options()
                .connect(database_url)
                .await?,
        )
    };
    let state = Arc::new(Inner {
        pool,
        encoding: EncodingKey::from_secret(jwt_secret),
        decoding: DecodingKey::from_secret(jwt_secret),
        validation: validation(),
    });
    Ok(resources::<Authenticated>()
        .route("/auth/token", post(token))
        .nest("/no-auth", resources::<Claimed>())
        .with_state(state))
}

/// The resource routes, with the caller learnt by `C`.
fn resources<C: Identify>() -> Router<AppState> {
    Router::new()
        .route("/posts/{id}", get(get_post::<C>).patch(patch_post::<C>))
        .route("/articles/{id}", get(get_article::<C>))
        .route("/articles", get(list_articles::<C>))
}

/// The caller's user id as a floor learns it; `None` is anonymous.
trait Identify: FromRequestParts<AppState, Rejection = Response> + Send + 'static {
    fn user(&self) -> Option<i64>;
}

/// The fair floor's caller: a verified bearer token whose user exists and
/// whose session is live; no `Authorization` header is anonymous.
struct Authenticated(Option<i64>);

/// The no-auth floor's caller: whoever `?user=` names.
struct Claimed(Option<i64>);

impl Identify for Authenticated {
    fn user(&self) -> Option<i64> {
        self.0
    }
}

impl Identify for Claimed {
    fn user(&self) -> Option<i64> {
        self.0
    }
}

impl FromRequestParts<AppState> for Claimed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        #[derive(Deserialize)]
        struct AsUser {
            user: Option<i64>,
        }
        let Query(as_user) = Query::<AsUser>::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Claimed(as_user.user))
    }
}

/// The claims the floor reads from a warden access token; the others are
/// checked by the validation.
#[derive(Deserialize)]
struct TokenClaims {
    sub: String,
    iat: u64,
    sid: Option<String>,
}

/// The caller's row and the liveness of the token's session, in one
/// statement (warden's columns: `_warden_sessions.id`, `expires_at` in
/// Unix seconds). The row's columns are those warden's caller carries:
/// every users field but the password.
const CALLER_SQLITE: &str = r#"SELECT "users"."id", "users"."email", "users"."is_superuser", EXISTS (SELECT 1 FROM "_warden_sessions" WHERE "_warden_sessions"."id" = ? AND "_warden_sessions"."expires_at" >= ?) FROM "users" WHERE "users"."id" = ?"#;
const CALLER_PG: &str = r#"SELECT "users"."id", "users"."email", "users"."is_superuser", EXISTS (SELECT 1 FROM "_warden_sessions" WHERE "_warden_sessions"."id" = $1 AND "_warden_sessions"."expires_at" >= $2) FROM "users" WHERE "users"."id" = $3"#;

type CallerRow = (i64, String, bool, bool);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Ok(Authenticated(None));
        };
        let unauthorized = || status(StatusCode::UNAUTHORIZED);
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(unauthorized)?;
        let claims = jsonwebtoken::decode::<TokenClaims>(token, &app.decoding, &app.validation)
            .map_err(|_| unauthorized())?
            .claims;
        let now = now_seconds();
        // jsonwebtoken checks `nbf` but not `iat`: as warden, a token
        // dated in the future was not issued honestly.
        if claims.iat > now + LEEWAY_SECONDS {
            return Err(unauthorized());
        }
        let id: i64 = claims.sub.parse().map_err(|_| unauthorized())?;
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let sid = claims.sid.as_deref();
        let row: Result<Option<CallerRow>, sqlx::Error> = match &app.pool {
            Pool::Sqlite(pool) => {
                sqlx::query_as(CALLER_SQLITE)
                    .bind(sid)
                    .bind(now)
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            }
            Pool::Postgres(pool) => {
                sqlx::query_as(CALLER_PG)
                    .bind(sid)
                    .bind(now)
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            }
        };
        match row.map_err(error)? {
            // A token without `sid` names no session to end (warden's rule).
            Some((id, _email, _is_superuser, live)) if live || sid.is_none() => {
                Ok(Authenticated(Some(id)))
            }
            _ => Err(unauthorized()),
        }
    }
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn status(code: StatusCode) -> Response {
    (code, axum::Json(json!({ "status": code.as_u16() }))).into_response()
}

fn error(e: sqlx::Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

const POST_COLUMNS: &str = r#""posts"."id", "posts"."title", "posts"."content", "posts"."published", "posts"."created_at", "posts"."owner_id""#;
const ARTICLE_COLUMNS: &str = r#""articles"."id", "articles"."title", "articles"."body", "articles"."created_on", "articles"."author_id""#;

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Decodes a post (or an article: same column order and types).
macro_rules! post_json {
    ($row:expr, $ts:expr, $names:expr) => {{
        let row = $row;
        let names: [&str; 6] = $names;
        let mut map = serde_json::Map::new();
        map.insert(names[0].into(), json!(row.try_get::<i64, _>(0)?));
        map.insert(names[1].into(), json!(row.try_get::<String, _>(1)?));
        map.insert(names[2].into(), json!(row.try_get::<String, _>(2)?));
        if names[3].is_empty() {
            map.insert(names[4].into(), json!($ts(&row, 3)?));
            map.insert(names[5].into(), json!(row.try_get::<i64, _>(4)?));
        } else {
            map.insert(names[3].into(), json!(row.try_get::<bool, _>(3)?));
            map.insert(names[4].into(), json!($ts(&row, 4)?));
            map.insert(names[5].into(), json!(row.try_get::<i64, _>(5)?));
        }
        Json::Object(map)
    }};
}

const POST_NAMES: [&str; 6] = [
    "id",
    "title",
    "content",
    "published",
    "created_at",
    "owner_id",
];
const ARTICLE_NAMES: [&str; 6] = ["id", "title", "body", "", "created_on", "author_id"];

fn sqlite_ts(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<String, sqlx::Error> {
    row.try_get::<String, _>(i)
}

fn pg_ts(row: &sqlx::postgres::PgRow, i: usize) -> Result<String, sqlx::Error> {
    row.try_get::<chrono::DateTime<chrono::Utc>, _>(i)
        .map(rfc3339)
}

/// The read rule is `true`: the caller is authenticated (a bad token is a
/// 401) but not consulted.
async fn get_post<C: Identify>(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    _caller: C,
) -> Response {
    let result: Result<Option<Json>, sqlx::Error> = async {
        Ok(match &app.pool {
            Pool::Sqlite(pool) => {
                let sql = format!(r#"SELECT {POST_COLUMNS} FROM "posts" WHERE "posts"."id" = ?"#);
                match sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                {
                    Some(row) => Some(post_json!(row, sqlite_ts, POST_NAMES)),
                    None => None,
                }
            }
            Pool::Postgres(pool) => {
                let sql = format!(r#"SELECT {POST_COLUMNS} FROM "posts" WHERE "posts"."id" = $1"#);
                match sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                {
                    Some(row) => Some(post_json!(row, pg_ts, POST_NAMES)),
                    None => None,
                }
            }
        })
    }
    .await;
    match result {
        Ok(Some(json)) => axum::Json(json).into_response(),
        Ok(None) => status(StatusCode::NOT_FOUND),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct PostPatch {
    title: Option<String>,
    content: Option<String>,
    published: Option<bool>,
}

/// The rule in the UPDATE's WHERE, like warden; 0 rows: 404 or 403.
async fn patch_post<C: Identify>(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    caller: C,
    axum::Json(patch): axum::Json<PostPatch>,
) -> Response {
    // Anonymous binds NULL, which no owner equals.
    let user = caller.user();
    let result: Result<Option<Json>, sqlx::Error> = async {
        Ok(match &app.pool {
            Pool::Sqlite(pool) => {
                let sql = format!(
                    r#"UPDATE "posts" SET "title" = COALESCE(?, "title"), "content" = COALESCE(?, "content"),
                       "published" = COALESCE(?, "published"), "_version" = "_version" + 1
                       WHERE "posts"."id" = ? AND "posts"."owner_id" = ? RETURNING {POST_COLUMNS}"#
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(patch.title)
                    .bind(patch.content)
                    .bind(patch.published)
                    .bind(id)
                    .bind(user)
                    .fetch_optional(pool)
                    .await?;
                match row {
                    Some(row) => Some(post_json!(row, sqlite_ts, POST_NAMES)),
                    None => None,
                }
            }
            Pool::Postgres(pool) => {
                let sql = format!(
                    r#"UPDATE "posts" SET "title" = COALESCE($1, "title"), "content" = COALESCE($2, "content"),
                       "published" = COALESCE($3, "published"), "_version" = "_version" + 1
                       WHERE "posts"."id" = $4 AND "posts"."owner_id" = $5 RETURNING {POST_COLUMNS}"#
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(patch.title)
                    .bind(patch.content)
                    .bind(patch.published)
                    .bind(id)
                    .bind(user)
                    .fetch_optional(pool)
                    .await?;
                match row {
                    Some(row) => Some(post_json!(row, pg_ts, POST_NAMES)),
                    None => None,
                }
            }
        })
    }
    .await;
    match result {
        Ok(Some(json)) => axum::Json(json).into_response(),
        Ok(None) => status(StatusCode::FORBIDDEN),
        Err(e) => error(e),
    }
}

/// Warden's compiled read rule as the per-row flag of a read by key, written
/// by hand: `exists` as a correlated probe (one index lookup for one row).
const VISIBLE_SQLITE: &str = r#"("articles"."author_id" = ? OR EXISTS (SELECT 1 FROM "acl" AS "w_it0" WHERE "w_it0"."article_id" = "articles"."id" AND "w_it0"."user_id" = ?))"#;
const VISIBLE_PG: &str = r#"("articles"."author_id" = $1 OR EXISTS (SELECT 1 FROM "acl" AS "w_it0" WHERE "w_it0"."article_id" = "articles"."id" AND "w_it0"."user_id" = $2))"#;

/// Warden's list of what a caller may see, written by hand: each
/// alternative of the rule reads its own first page in key order from an
/// index (the grants through acl(user_id, article_id)), and the page is
/// taken from their union.
const PAGE_SQLITE: &str = r#"WHERE "articles"."id" IN (SELECT "w_key" FROM (SELECT "articles"."id" AS "w_key" FROM "articles" WHERE "articles"."author_id" = ? ORDER BY "articles"."id" ASC LIMIT ?) AS "w_alt0" UNION ALL SELECT "w_key" FROM (SELECT DISTINCT "w_it0"."article_id" AS "w_key" FROM "acl" AS "w_it0" INNER JOIN "articles" ON "articles"."id" = "w_it0"."article_id" WHERE "w_it0"."user_id" = ? ORDER BY "w_it0"."article_id" ASC LIMIT ?) AS "w_alt1") ORDER BY "articles"."id" ASC LIMIT ?"#;
const PAGE_PG: &str = r#"WHERE "articles"."id" IN (SELECT "w_key" FROM (SELECT "articles"."id" AS "w_key" FROM "articles" WHERE "articles"."author_id" = $1 ORDER BY "articles"."id" ASC LIMIT $2) AS "w_alt0" UNION ALL (SELECT "w_key" FROM (SELECT DISTINCT "w_it0"."article_id" AS "w_key" FROM "acl" AS "w_it0" INNER JOIN "articles" ON "articles"."id" = "w_it0"."article_id" WHERE "w_it0"."user_id" = $1 ORDER BY "w_it0"."article_id" ASC LIMIT $2) AS "w_alt1")) ORDER BY "articles"."id" ASC LIMIT $2"#;
/// The one `OR` warden listed with before (kept to compare plans): SQLite
/// gathers and sorts every visible row before the LIMIT.
const PAGE_OR_SQLITE: &str = r#"WHERE ("articles"."author_id" = ? OR "articles"."id" IN (SELECT "w_it0"."article_id" FROM "acl" AS "w_it0" WHERE "w_it0"."user_id" = ?)) ORDER BY "articles"."id" ASC LIMIT ?"#;
const PAGE_OR_PG: &str = r#"WHERE ("articles"."author_id" = $1 OR "articles"."id" IN (SELECT "w_it0"."article_id" FROM "acl" AS "w_it0" WHERE "w_it0"."user_id" = $1)) ORDER BY "articles"."id" ASC LIMIT $2"#;

async fn get_article<C: Identify>(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    caller: C,
) -> Response {
    let user = caller.user();
    let result: Result<Option<(bool, Json)>, sqlx::Error> = async {
        Ok(match &app.pool {
            Pool::Sqlite(pool) => {
                let sql = format!(
                    r#"SELECT {ARTICLE_COLUMNS}, CASE WHEN {VISIBLE_SQLITE} THEN TRUE ELSE FALSE END AS "visible" FROM "articles" WHERE "articles"."id" = ?"#
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user)
                    .bind(user)
                    .bind(id)
                    .fetch_optional(pool)
                    .await?;
                match row {
                    Some(row) => Some((row.try_get::<bool, _>(5)?, post_json!(row, sqlite_ts, ARTICLE_NAMES))),
                    None => None,
                }
            }
            Pool::Postgres(pool) => {
                let sql = format!(
                    r#"SELECT {ARTICLE_COLUMNS}, CASE WHEN {VISIBLE_PG} THEN TRUE ELSE FALSE END AS "visible" FROM "articles" WHERE "articles"."id" = $3"#
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user)
                    .bind(user)
                    .bind(id)
                    .fetch_optional(pool)
                    .await?;
                match row {
                    Some(row) => Some((row.try_get::<bool, _>(5)?, post_json!(row, pg_ts, ARTICLE_NAMES))),
                    None => None,
                }
            }
        })
    }
    .await;
    match result {
        Ok(Some((true, json))) => axum::Json(json).into_response(),
        Ok(Some((false, _))) => status(StatusCode::FORBIDDEN),
        Ok(None) => status(StatusCode::NOT_FOUND),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<i64>,
    /// `union` (warden's form, the default) or `or`.
    form: Option<String>,
}

async fn list_articles<C: Identify>(
    State(app): State<AppState>,
    caller: C,
    Query(q): Query<ListQuery>,
) -> Response {
    let user = caller.user();
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    let or_form = q.form.as_deref() == Some("or");
    let result: Result<Vec<Json>, sqlx::Error> = async {
        let mut items = Vec::new();
        match &app.pool {
            Pool::Sqlite(pool) => {
                let page = if or_form { PAGE_OR_SQLITE } else { PAGE_SQLITE };
                let sql = format!(r#"SELECT {ARTICLE_COLUMNS} FROM "articles" {page}"#);
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user);
                if !or_form {
                    query = query.bind(limit + 1);
                }
                query = query.bind(user).bind(limit + 1);
                if !or_form {
                    query = query.bind(limit + 1);
                }
                for row in query.fetch_all(pool).await? {
                    items.push(post_json!(row, sqlite_ts, ARTICLE_NAMES));
                }
            }
            Pool::Postgres(pool) => {
                let page = if or_form { PAGE_OR_PG } else { PAGE_PG };
                let sql = format!(r#"SELECT {ARTICLE_COLUMNS} FROM "articles" {page}"#);
                for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user)
                    .bind(limit + 1)
                    .fetch_all(pool)
                    .await?
                {
                    items.push(post_json!(row, pg_ts, ARTICLE_NAMES));
                }
            }
        }
        Ok(items)
    }
    .await;
    match result {
        Ok(mut items) => {
            let more = items.len() as i64 > limit;
            items.truncate(limit as usize);
            let next = more.then(|| items.last().map(|i| i["id"].clone()));
            axum::Json(json!({ "items": items, "next": next })).into_response()
        }
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    username: String,
    password: String,
}

#[derive(serde::Serialize)]
struct Claims {
    sub: String,
    exp: u64,
    iat: u64,
    nbf: u64,
    iss: &'static str,
    aud: &'static str,
}

/// Password grant without sessions: look up, verify argon2id, sign the
/// claims the validation requires (no `sid`: no session to end).
async fn token(State(app): State<AppState>, axum::Form(form): axum::Form<TokenForm>) -> Response {
    let found: Result<Option<(i64, String)>, sqlx::Error> = match &app.pool {
        Pool::Sqlite(pool) => {
            sqlx::query_as(r#"SELECT "id", "password" FROM "users" WHERE "email" = ?"#)
                .bind(&form.username)
                .fetch_optional(pool)
                .await
        }
        Pool::Postgres(pool) => {
            sqlx::query_as(r#"SELECT "id", "password" FROM "users" WHERE "email" = $1"#)
                .bind(&form.username)
                .fetch_optional(pool)
                .await
        }
    };
    let (id, hash) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return status(StatusCode::BAD_REQUEST),
        Err(e) => return error(e),
    };
    let ok = tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordVerifier, phc::PasswordHash};
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2::Argon2::default()
                .verify_password(form.password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false);
    if !ok {
        return status(StatusCode::BAD_REQUEST);
    }
    let now = now_seconds();
    let claims = Claims {
        sub: id.to_string(),
        exp: now + TOKEN_TTL_SECONDS,
        iat: now,
        nbf: now,
        iss: ISSUER,
        aud: AUDIENCE,
    };
    let header = jsonwebtoken::Header::new(Algorithm::HS256);
    match jsonwebtoken::encode(&header, &claims, &app.encoding) {
        Ok(token) => axum::Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_SECONDS,
        }))
        .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
