//! `/api/<resource>[/<id>]`: HTTP in, `authz` call, JSON out. Handlers
//! only translate (query strings, bodies, ETag/If-Match, status codes);
//! every decision is made in `authz`.

use crate::app::App;
use crate::auth::caller::Caller;
use crate::authz::{Authz, Item};
use crate::problem::{Kind, Problem};
use crate::query::{ListQuery, parse_read_query};
use crate::rows::input::WriteMode;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json_;

/// `GET /api/<resource>`: the JSON page, or for a browser the HTML list.
pub async fn list_or_page(State(app): State<App>, request: Request) -> Response {
    if crate::ui::wants_html(request.headers()) {
        return crate::ui::list_page(app, request).await;
    }
    list.call(request, app).await
}

/// `GET /api/<resource>/<id>`: the JSON row, or for a browser its page.
pub async fn read_or_page(State(app): State<App>, request: Request) -> Response {
    if crate::ui::wants_html(request.headers()) {
        return crate::ui::view_page(app, request).await;
    }
    read.call(request, app).await
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(resource): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let query = ListQuery::parse(query.as_deref().unwrap_or(""))?;
    let page = Authz::new(&app, &caller).list(&resource, &query).await?;
    // Serialised straight from the page: `json!` would first copy every
    // item into a new JSON tree.
    Ok(Json(page).into_response())
}

async fn read(
    State(app): State<App>,
    caller: Caller,
    Path((resource, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let expand = parse_read_query(query.as_deref().unwrap_or(""))?;
    let item = Authz::new(&app, &caller)
        .read(&resource, &id, &expand)
        .await?;
    Ok(item_response(StatusCode::OK, item, None))
}

pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(resource): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json_body(&headers, body)?;
    let item = Authz::new(&app, &caller).create(&resource, body).await?;
    let key = app
        .config()
        .resource(&resource)
        .and_then(|r| item.json.get(&r.primary_key))
        .map(|k| match k {
            Json_::String(s) => s.clone(),
            other => other.to_string(),
        });
    let location = key.map(|k| format!("/api/{resource}/{k}"));
    Ok(item_response(StatusCode::CREATED, item, location))
}

pub async fn patch(
    state: State<App>,
    caller: Caller,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    update(state, caller, path, headers, body, WriteMode::Patch).await
}

pub async fn put(
    state: State<App>,
    caller: Caller,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    update(state, caller, path, headers, body, WriteMode::Put).await
}

async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((resource, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    mode: WriteMode,
) -> Result<Response, Problem> {
    let if_match = if_match(&headers)?;
    let body = json_body(&headers, body)?;
    let item = Authz::new(&app, &caller)
        .update(&resource, &id, body, mode, if_match)
        .await?;
    Ok(item_response(StatusCode::OK, item, None))
}

pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((resource, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let if_match = if_match(&headers)?;
    Authz::new(&app, &caller)
        .delete(&resource, &id, if_match)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn item_response(status: StatusCode, item: Item, location: Option<String>) -> Response {
    let mut response = (status, Json(Json_::Object(item.json))).into_response();
    if let Some(etag) = item
        .version
        .and_then(|v| HeaderValue::from_str(&format!("\"{v}\"")).ok())
    {
        response.headers_mut().insert(header::ETAG, etag);
    }
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `If-Match: "3"` (or `W/"3"`) -> 3; `*` or absent -> no condition.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            Problem::new(
                Kind::PreconditionFailed,
                "If-Match names no version of this row",
            )
        })
}

/// The body as JSON: 413 when too large, 415 when not JSON, 400 when
/// malformed.
fn json_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Json_, Problem> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                Kind::PayloadTooLarge,
                "the request body exceeds the size limit",
            )
        } else {
            Problem::new(Kind::MalformedBody, rejection.body_text())
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !(essence == "application/json" || essence.ends_with("+json")) {
        return Err(Problem::new(
            Kind::UnsupportedMediaType,
            "send the body as application/json",
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| Problem::new(Kind::MalformedBody, format!("malformed JSON: {e}")))
}
