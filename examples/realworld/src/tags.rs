//! `GET /tags`: every tag in use, most used first, read with the
//! article_tags list rule.

use crate::errors::ApiError;
use crate::session::MaybeAuth;
use crate::sql::{self, col};
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use warden::Warden;
use warden::sea_query::{Alias, Func, Order};

pub async fn list(
    State(warden): State<Warden>,
    viewer: MaybeAuth,
) -> Result<Json<Value>, ApiError> {
    let guard = warden.guard(viewer.principal());
    let mut select = sql::scoped(&guard, "article_tags", &["tag"])?;
    select
        .group_by_col((Alias::new("article_tags"), Alias::new("tag")))
        .order_by_expr(Func::count(col("article_tags", "id")).into(), Order::Desc)
        .order_by_expr(col("article_tags", "tag"), Order::Asc);
    let tags: Vec<(String,)> = sql::fetch_all(&warden, &select).await?;
    let tags: Vec<String> = tags.into_iter().map(|(tag,)| tag).collect();
    Ok(Json(json!({ "tags": tags })))
}
