//! `/articles/{slug}/comments…`: list (auth optional), add, and delete.
//! Writes go through warden: the comments `delete` rule lets only the
//! comment's author delete it (403 for others).

use crate::articles;
use crate::errors::{ApiError, required};
use crate::profiles;
use crate::session::{Auth, MaybeAuth};
use crate::sql::{self, col};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use warden::Warden;
use warden::sea_query::{ExprTrait, Order};

#[derive(Debug, Deserialize)]
pub struct Envelope {
    comment: NewComment,
}

#[derive(Debug, Deserialize)]
pub struct NewComment {
    body: Option<String>,
}

/// `GET /articles/{slug}/comments`: oldest first.
pub async fn list(
    State(warden): State<Warden>,
    viewer: MaybeAuth,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let article = articles::find(&warden, &viewer, &slug).await?;
    let guard = warden.guard(viewer.principal());
    let mut select = sql::scoped(&guard, "comments", &["id"])?;
    select
        .and_where(col("comments", "article_id").eq(article))
        .order_by_expr(col("comments", "created_at"), Order::Asc)
        .order_by_expr(col("comments", "id"), Order::Asc);
    let ids: Vec<(i64,)> = sql::fetch_all(&warden, &select).await?;
    let mut comments = Vec::with_capacity(ids.len());
    for (id,) in ids {
        let item = guard
            .read("comments", &id.to_string())
            .await
            .map_err(ApiError::on("comment"))?;
        comments.push(item.json);
    }
    Ok(Json(
        json!({ "comments": views(&warden, &viewer, comments).await? }),
    ))
}

/// `POST /articles/{slug}/comments`: 201; the caller is the author.
pub async fn create(
    State(warden): State<Warden>,
    auth: Auth,
    Path(slug): Path<String>,
    body: Result<Json<Envelope>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(Envelope { comment }) = body?;
    let [text] = required([("body", comment.body)])?;
    let viewer = MaybeAuth(Some(auth));
    let article = articles::find(&warden, &viewer, &slug).await?;
    let item = warden
        .guard(viewer.principal())
        .create("comments", json!({ "article_id": article, "body": text }))
        .await
        .map_err(ApiError::on("comment"))?;
    let comment = views(&warden, &viewer, vec![item.json])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("comment"))?;
    Ok((StatusCode::CREATED, Json(json!({ "comment": comment }))))
}

/// `DELETE /articles/{slug}/comments/{id}`: 204; 404 when the comment is
/// not on that article, 403 when the caller did not write it.
pub async fn delete(
    State(warden): State<Warden>,
    auth: Auth,
    Path((slug, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let viewer = MaybeAuth(Some(auth));
    let article = articles::find(&warden, &viewer, &slug).await?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("comment"))?;
    let guard = warden.guard(viewer.principal());
    let comment = guard
        .read("comments", &id.to_string())
        .await
        .map_err(ApiError::on("comment"))?;
    if comment.json.get("article_id").and_then(Value::as_i64) != Some(article) {
        return Err(ApiError::not_found("comment"));
    }
    guard
        .delete("comments", &id.to_string(), None)
        .await
        .map_err(ApiError::on("comment"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Comments as RealWorld shows them, with their authors' profiles.
async fn views(
    warden: &Warden,
    viewer: &MaybeAuth,
    comments: Vec<Map<String, Value>>,
) -> Result<Vec<Value>, ApiError> {
    let authors: Vec<i64> = comments
        .iter()
        .filter_map(|c| c.get("author_id").and_then(Value::as_i64))
        .collect();
    let profiles = profiles::profiles(warden, viewer, &authors).await?;
    Ok(comments
        .into_iter()
        .map(|comment| {
            let field = |name: &str| comment.get(name).cloned().unwrap_or(Value::Null);
            let author = comment
                .get("author_id")
                .and_then(Value::as_i64)
                .and_then(|author| profiles.get(&author).cloned())
                .unwrap_or(Value::Null);
            json!({
                "id": field("id"),
                "createdAt": field("created_at"),
                "updatedAt": field("updated_at"),
                "body": field("body"),
                "author": author,
            })
        })
        .collect())
}
