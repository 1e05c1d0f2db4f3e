//! `GET /profiles/{username}`, `POST` and `DELETE
//! /profiles/{username}/follow`, and the profile object other answers
//! embed (articles' and comments' authors). Follows are written and
//! removed through warden (the follows rules).

use crate::errors::ApiError;
use crate::session::{Auth, MaybeAuth};
use crate::sql::{self, col};
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use warden::sea_query::ExprTrait;
use warden::{Error, Warden};

/// `GET /profiles/{username}`; auth optional.
pub async fn get(
    State(warden): State<Warden>,
    viewer: MaybeAuth,
    Path(username): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = find(&warden, &viewer, &username).await?;
    profile_body(&warden, &viewer, id).await
}

/// `POST /profiles/{username}/follow`: following twice is still following.
pub async fn follow(
    State(warden): State<Warden>,
    auth: Auth,
    Path(username): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let viewer = MaybeAuth(Some(auth));
    let id = find(&warden, &viewer, &username).await?;
    match warden
        .guard(viewer.principal())
        .create("follows", json!({ "followed_id": id }))
        .await
    {
        Ok(_) | Err(Error::Conflict(_)) => {}
        Err(other) => return Err(ApiError::refused("profile", other)),
    }
    profile_body(&warden, &viewer, id).await
}

/// `DELETE /profiles/{username}/follow`: not following is not an error.
pub async fn unfollow(
    State(warden): State<Warden>,
    auth: Auth,
    Path(username): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let follower = auth.id;
    let viewer = MaybeAuth(Some(auth));
    let id = find(&warden, &viewer, &username).await?;
    let guard = warden.guard(viewer.principal());
    let mut select = sql::scoped(&guard, "follows", &["id"])?;
    select
        .and_where(col("follows", "follower_id").eq(follower))
        .and_where(col("follows", "followed_id").eq(id));
    if let Some(follow) = sql::fetch_one_value(&warden, &select).await? {
        guard
            .delete("follows", &follow.to_string(), None)
            .await
            .map_err(ApiError::on("profile"))?;
    }
    profile_body(&warden, &viewer, id).await
}

/// The user named `username`, or 404.
async fn find(warden: &Warden, viewer: &MaybeAuth, username: &str) -> Result<i64, ApiError> {
    sql::user_by_username(warden, &warden.guard(viewer.principal()), username)
        .await?
        .ok_or_else(|| ApiError::not_found("profile"))
}

async fn profile_body(
    warden: &Warden,
    viewer: &MaybeAuth,
    id: i64,
) -> Result<Json<Value>, ApiError> {
    let mut profiles = profiles(warden, viewer, &[id]).await?;
    let profile = profiles
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("profile"))?;
    Ok(Json(json!({ "profile": profile })))
}

/// The profiles of `ids` as `viewer` sees them, `following` included.
pub async fn profiles(
    warden: &Warden,
    viewer: &MaybeAuth,
    ids: &[i64],
) -> Result<HashMap<i64, Value>, ApiError> {
    let guard = warden.guard(viewer.principal());
    let distinct: HashSet<i64> = ids.iter().copied().collect();
    let following = match &viewer.0 {
        Some(auth) if !distinct.is_empty() => {
            let mut select = sql::scoped(&guard, "follows", &["followed_id"])?;
            select
                .and_where(col("follows", "follower_id").eq(auth.id))
                .and_where(col("follows", "followed_id").is_in(distinct.iter().copied()));
            let rows: Vec<(i64,)> = sql::fetch_all(warden, &select).await?;
            rows.into_iter().map(|(id,)| id).collect()
        }
        _ => HashSet::new(),
    };
    let mut profiles = HashMap::new();
    for id in distinct {
        let user = guard
            .read("users", &id.to_string())
            .await
            .map_err(ApiError::on("profile"))?;
        let field = |name: &str| user.json.get(name).cloned().unwrap_or(Value::Null);
        profiles.insert(
            id,
            json!({
                "username": field("username"),
                "bio": field("bio"),
                "image": field("image"),
                "following": following.contains(&id),
            }),
        );
    }
    Ok(profiles)
}
