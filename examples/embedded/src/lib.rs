//! An axum app of its own that mounts warden and adds two hand-written
//! routes guarded by warden's rules: `POST /vote` (seed 000: one vote per
//! user per post) and `POST /emp/admin-save` (seed 001: insert without
//! `empNo`, update with it). The handlers translate HTTP; every decision
//! is warden's (`Guard`), so statuses match the built-in API's.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use warden::sea_query::{Alias, Expr, ExprTrait, PostgresQueryBuilder, Query, SqliteQueryBuilder};
use warden::sea_query_sqlx::SqlxBinder;
use warden::{Error, InputError, ListScope, Principal, Warden};

/// The whole app: the two routes, then warden's own API beside them.
pub fn app(warden: Warden) -> Router {
    let admin = Router::new()
        .route("/emp/admin-save", post(admin_save))
        .route_layer(warden.require_scopes(["admin:write"]));
    Router::new()
        .route("/vote", post(vote))
        .merge(admin)
        .with_state(warden.clone())
        .merge(warden.router())
}

/// `POST /vote` body, as the course sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VoteRequest {
    post_id: i64,
    dir: i64,
}

/// `dir: 1` adds the caller's vote (409 if there is one), `dir: 0`
/// removes it (404 if there is none); 404 when the post does not exist
/// or its read rule hides it.
async fn vote(
    State(warden): State<Warden>,
    principal: Principal,
    body: Result<Json<VoteRequest>, JsonRejection>,
) -> Result<Response, Response> {
    let Json(request) = body.map_err(|e| invalid("body", &e.body_text()))?;
    let guard = warden.guard(Some(&principal));
    let post = request.post_id.to_string();
    guard.read("posts", &post).await.map_err(reply)?;
    match request.dir {
        1 => {
            // A second vote breaks the (post_id, user_id) uniqueness: 409.
            guard
                .create("votes", json!({ "post_id": request.post_id }))
                .await
                .map_err(reply)?;
            Ok((
                StatusCode::CREATED,
                Json(json!({ "message": "successfully added vote" })),
            )
                .into_response())
        }
        0 => {
            // The caller's own vote, found through the votes list rule.
            let scope = guard.list_scope("votes").map_err(reply)?;
            let id = own_vote(&warden, &scope, request.post_id)
                .await
                .map_err(|e| reply(Error::Internal(e.to_string())))?
                .ok_or_else(|| reply(Error::NotFound("vote".into())))?;
            guard
                .delete("votes", &id.to_string(), None)
                .await
                .map_err(reply)?;
            Ok((
                StatusCode::OK,
                Json(json!({ "message": "successfully deleted vote" })),
            )
                .into_response())
        }
        _ => Err(invalid("dir", "must be 1 (vote) or 0 (remove the vote)")),
    }
}

/// The key of the vote on `post_id` that `scope` lets the caller list.
async fn own_vote(
    warden: &Warden,
    scope: &ListScope,
    post_id: i64,
) -> Result<Option<i64>, warden::sqlx::Error> {
    let votes = Alias::new("votes");
    let mut select = Query::select();
    select
        .column((votes.clone(), Alias::new("id")))
        .from(votes.clone())
        .and_where(Expr::col((votes, Alias::new("post_id"))).eq(post_id));
    scope.apply(&mut select);
    if let Some(pool) = warden.sqlite_pool() {
        let (sql, values) = select.build_sqlx(SqliteQueryBuilder);
        warden::sqlx::query_scalar_with(warden::sqlx::AssertSqlSafe(sql), values)
            .fetch_optional(pool)
            .await
    } else if let Some(pool) = warden.postgres_pool() {
        let (sql, values) = select.build_sqlx(PostgresQueryBuilder);
        warden::sqlx::query_scalar_with(warden::sqlx::AssertSqlSafe(sql), values)
            .fetch_optional(pool)
            .await
    } else {
        Ok(None)
    }
}

/// `POST /emp/admin-save` body (seed 001's camelCase names).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EmployeeSave {
    emp_no: Option<i64>,
    birth_date: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    gender: Option<String>,
    hire_date: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// Inserts when `empNo` is absent (email and password required), else
/// updates that employee, ignoring email and password as seed 001 does.
/// The route needs `admin:write` (the layer); the employees rules decide.
async fn admin_save(
    State(warden): State<Warden>,
    principal: Principal,
    body: Result<Json<EmployeeSave>, JsonRejection>,
) -> Result<Response, Response> {
    let Json(save) = body.map_err(|e| invalid("body", &e.body_text()))?;
    let guard = warden.guard(Some(&principal));
    let mut fields = Map::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            fields.insert(name.to_owned(), Value::String(value));
        }
    };
    put("birth_date", save.birth_date);
    put("first_name", save.first_name);
    put("last_name", save.last_name);
    put("gender", save.gender);
    put("hire_date", save.hire_date);
    let item = match save.emp_no {
        None => {
            let mut missing = Vec::new();
            if save.email.is_none() {
                missing.push((
                    "email".to_owned(),
                    "required when inserting an employee".to_owned(),
                ));
            }
            if save.password.is_none() {
                missing.push((
                    "password".to_owned(),
                    "required when inserting an employee".to_owned(),
                ));
            }
            if !missing.is_empty() {
                return Err(Error::Input(InputError::Invalid(missing)).into_response());
            }
            fields.insert("email".into(), save.email.into());
            fields.insert("password".into(), save.password.into());
            guard.create("employees", Value::Object(fields)).await
        }
        Some(emp_no) => {
            guard
                .update(
                    "employees",
                    &emp_no.to_string(),
                    Value::Object(fields),
                    None,
                )
                .await
        }
    };
    let item = item.map_err(reply)?;
    let status = if save.emp_no.is_none() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(Value::Object(item.json))).into_response())
}

fn reply(error: Error) -> Response {
    error.into_response()
}

fn invalid(field: &str, message: &str) -> Response {
    Error::Input(InputError::Invalid(vec![(
        field.to_owned(),
        message.to_owned(),
    )]))
    .into_response()
}
