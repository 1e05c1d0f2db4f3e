//! `/api/<resource>[/<id>]`: HTTP in, `authz` call, JSON out. Handlers
//! only translate (query strings, bodies, ETag/If-Match, status codes);
//! every decision is made in `authz`.

use super::problem::{Kind, Problem};
use crate::app::App;
use crate::auth::caller::{Caller, CallerToConfirm};
use crate::authz::{Authz, AuthzError, Item, ListParams};
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
    who: CallerToConfirm,
    Path(resource): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let params: ListParams =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).map_err(|e| {
            Problem::new(
                Kind::InvalidQuery,
                format!("{e}; parameters are limit, cursor, sort, filter, search, expand"),
            )
        })?;
    let page = answer(&app, &who, ReadPage(&resource, &params)).await?;
    // Serialised straight from the page: `json!` would first copy every
    // item into a new JSON tree.
    Ok(Json(page).into_response())
}

/// What a remembered caller may do: read, list, update and delete, each
/// of which reads a row (or page) before it decides, and so can confirm
/// the caller in that statement.
trait Act {
    type Answer;
    async fn run(&self, authz: &Authz<'_>) -> Result<Self::Answer, AuthzError>;
}

struct ReadItem<'r>(&'r str, &'r str, &'r [String]);
struct ReadPage<'r>(&'r str, &'r ListParams);
struct UpdateItem<'r> {
    resource: &'r str,
    id: &'r str,
    body: Json_,
    mode: WriteMode,
    if_match: Option<i64>,
}
struct DeleteItem<'r> {
    resource: &'r str,
    id: &'r str,
    if_match: Option<i64>,
}

impl Act for ReadItem<'_> {
    type Answer = Item;
    async fn run(&self, authz: &Authz<'_>) -> Result<Item, AuthzError> {
        authz.read(self.0, self.1, self.2).await
    }
}

impl Act for ReadPage<'_> {
    type Answer = crate::authz::Page;
    async fn run(&self, authz: &Authz<'_>) -> Result<Self::Answer, AuthzError> {
        authz.list(self.0, self.1).await
    }
}

impl Act for UpdateItem<'_> {
    type Answer = Item;
    async fn run(&self, authz: &Authz<'_>) -> Result<Item, AuthzError> {
        let body = self.body.clone();
        authz
            .update(self.resource, self.id, body, self.mode, self.if_match)
            .await
    }
}

impl Act for DeleteItem<'_> {
    type Answer = ();
    async fn run(&self, authz: &Authz<'_>) -> Result<(), AuthzError> {
        authz.delete(self.resource, self.id, self.if_match).await
    }
}

/// Acts for the request's caller: a remembered caller first, and again
/// with the caller loaded afresh when the act's first statement did not
/// confirm the remembered one (`auth::remembered`); a write writes
/// nothing before that confirmation (`Authz::settle`).
async fn answer<A: Act>(app: &App, who: &CallerToConfirm, act: A) -> Result<A::Answer, Problem> {
    let Some(unconfirmed) = &who.unconfirmed else {
        return Ok(act.run(&Authz::new(app, &who.caller)).await?);
    };
    let authz = Authz::confirming(app, &who.caller, unconfirmed);
    let answer = act.run(&authz).await;
    if authz.confirmed() {
        return Ok(answer?);
    }
    // Boxed: the rare path would otherwise double every act's future.
    Box::pin(async {
        let caller = unconfirmed.reload(app).await?;
        Ok(act.run(&Authz::new(app, &caller)).await?)
    })
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReadParams {
    expand: Option<String>,
}

async fn read(
    State(app): State<App>,
    who: CallerToConfirm,
    Path((resource, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let params: ReadParams = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| Problem::new(Kind::InvalidQuery, format!("{e}; the parameter is expand")))?;
    let expand = crate::authz::parse_expand(params.expand.as_deref());
    let item = answer(&app, &who, ReadItem(&resource, &id, &expand)).await?;
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
    caller: CallerToConfirm,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    update(state, caller, path, headers, body, WriteMode::Patch).await
}

pub async fn put(
    state: State<App>,
    caller: CallerToConfirm,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    update(state, caller, path, headers, body, WriteMode::Put).await
}

async fn update(
    State(app): State<App>,
    who: CallerToConfirm,
    Path((resource, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    mode: WriteMode,
) -> Result<Response, Problem> {
    let if_match = if_match(&headers)?;
    let body = json_body(&headers, body)?;
    let update = UpdateItem {
        resource: &resource,
        id: &id,
        body,
        mode,
        if_match,
    };
    let item = answer(&app, &who, update).await?;
    Ok(item_response(StatusCode::OK, item, None))
}

pub async fn delete(
    State(app): State<App>,
    who: CallerToConfirm,
    Path((resource, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let if_match = if_match(&headers)?;
    let delete = DeleteItem {
        resource: &resource,
        id: &id,
        if_match,
    };
    answer(&app, &who, delete).await?;
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
