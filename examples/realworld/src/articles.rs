//! `/articles…`: the global list with `?tag=`, `?author=`, `?favorited=`,
//! the feed, one article by slug, create, update, delete, favorite and
//! unfavorite. Writes go through warden (articles, article_tags and
//! favorites rules: only the author edits or deletes, 403 for others);
//! lists are hand-written SELECTs carrying each table's list rule.

use crate::errors::{ApiError, required};
use crate::profiles;
use crate::session::{Auth, MaybeAuth};
use crate::sql::{self, col};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use warden::sea_query::{Alias, ExprTrait, Func, Order, SelectStatement};
use warden::{Error, Guard, Warden};

/// Articles per page unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;

/// The query string of `GET /articles` and `GET /articles/feed`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    tag: Option<String>,
    author: Option<String>,
    favorited: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    article: T,
}

/// The members of an article body: `None` when left out, `Some(None)`
/// when sent as `null` (a 422: none of them may be null, and a `PUT` must
/// not read an explicit `null` as "unchanged").
#[derive(Debug, Deserialize)]
pub struct ArticleInput {
    #[serde(default, deserialize_with = "given")]
    title: Option<Option<String>>,
    #[serde(default, deserialize_with = "given")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "given")]
    body: Option<Option<String>>,
    #[serde(rename = "tagList", default, deserialize_with = "given")]
    tag_list: Option<Option<Vec<String>>>,
}

/// A member that is present, `null` or not: serde alone reads a present
/// `null` like a missing member.
fn given<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Whether an article answer carries `body`: spec 2.0 dropped it from
/// lists (RealWorld's test suite checks that it is absent there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Single,
    Listed,
}

/// `GET /articles`: most recent first; auth optional.
pub async fn list(
    State(warden): State<Warden>,
    viewer: MaybeAuth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let page = Page::parse(&query)?;
    let guard = warden.guard(viewer.principal());
    let mut select = sql::scoped(&guard, "articles", &[])?;
    if let Some(author) = &query.author {
        select.and_where(col("articles", "author_id").in_subquery(named(&guard, author)?));
    }
    if let Some(tag) = &query.tag {
        let mut tagged = sql::scoped(&guard, "article_tags", &["article_id"])?;
        tagged.and_where(col("article_tags", "tag").eq(tag.as_str()));
        select.and_where(col("articles", "id").in_subquery(tagged));
    }
    if let Some(user) = &query.favorited {
        let mut favorites = sql::scoped(&guard, "favorites", &["article_id"])?;
        favorites.and_where(col("favorites", "user_id").in_subquery(named(&guard, user)?));
        select.and_where(col("articles", "id").in_subquery(favorites));
    }
    page_of(&warden, &viewer, select, page).await
}

/// `GET /articles/feed`: articles by the users the caller follows.
pub async fn feed(
    State(warden): State<Warden>,
    auth: Auth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let page = Page::parse(&query)?;
    let follower = auth.id;
    let viewer = MaybeAuth(Some(auth));
    let guard = warden.guard(viewer.principal());
    let mut followed = sql::scoped(&guard, "follows", &["followed_id"])?;
    followed.and_where(col("follows", "follower_id").eq(follower));
    let mut select = sql::scoped(&guard, "articles", &[])?;
    select.and_where(col("articles", "author_id").in_subquery(followed));
    page_of(&warden, &viewer, select, page).await
}

/// `GET /articles/{slug}`; auth optional.
pub async fn get(
    State(warden): State<Warden>,
    viewer: MaybeAuth,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = find(&warden, &viewer, &slug).await?;
    one(&warden, &viewer, id).await
}

/// `POST /articles`: 201; the caller becomes the author (warden sets the
/// owner field, whatever the body says).
pub async fn create(
    State(warden): State<Warden>,
    auth: Auth,
    body: Result<Json<Envelope<ArticleInput>>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(Envelope { article }) = body?;
    let [title, description, text] = required([
        ("title", article.title.flatten()),
        ("description", article.description.flatten()),
        ("body", article.body.flatten()),
    ])?;
    let tags = clean_tags(article.tag_list)?;
    let viewer = MaybeAuth(Some(auth));
    let guard = warden.guard(viewer.principal());
    let mut attempts = 0;
    let created = loop {
        attempts += 1;
        let fields = json!({
            "slug": slug_of(&title),
            "title": title,
            "description": description,
            "body": text,
        });
        match guard.create("articles", fields).await {
            // Two articles drew the same suffix: draw again.
            Err(Error::Conflict(fields)) if fields == ["slug"] && attempts < 3 => {}
            other => break other.map_err(ApiError::on("article"))?,
        }
    };
    let id = created
        .json
        .get("id")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::internal(&"the new article has no id"))?;
    if let Some(tags) = tags {
        set_tags(&warden, &guard, id, &tags).await?;
    }
    let Json(body) = one(&warden, &viewer, id).await?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// `PUT /articles/{slug}`: changes the given fields; the articles
/// `update` rule decides (403 for anyone but the author). The slug stays:
/// the spec does not ask for it to follow the title, and links keep
/// working.
pub async fn update(
    State(warden): State<Warden>,
    auth: Auth,
    Path(slug): Path<String>,
    body: Result<Json<Envelope<ArticleInput>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(Envelope { article }) = body?;
    let tags = clean_tags(article.tag_list)?;
    let viewer = MaybeAuth(Some(auth));
    let id = find(&warden, &viewer, &slug).await?;
    let mut changes = Map::new();
    let mut blank = Vec::new();
    for (name, value) in [
        ("title", article.title),
        ("description", article.description),
        ("body", article.body),
    ] {
        match value {
            Some(Some(value)) if !value.trim().is_empty() => {
                changes.insert(name.to_owned(), Value::String(value));
            }
            Some(_) => blank.push((name.to_owned(), "can't be blank".to_owned())),
            None => {}
        }
    }
    if !blank.is_empty() {
        return Err(ApiError::invalid(blank));
    }
    changes.insert("updated_at".into(), Value::String(now()));
    let guard = warden.guard(viewer.principal());
    // The update is the authorization: tags change only once it passed.
    guard
        .update("articles", &id.to_string(), Value::Object(changes), None)
        .await
        .map_err(ApiError::on("article"))?;
    if let Some(tags) = tags {
        set_tags(&warden, &guard, id, &tags).await?;
    }
    one(&warden, &viewer, id).await
}

/// `DELETE /articles/{slug}`: 204; 403 for anyone but the author. Its
/// tags, favorites and comments go with it (foreign keys cascade).
pub async fn delete(
    State(warden): State<Warden>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<StatusCode, ApiError> {
    let viewer = MaybeAuth(Some(auth));
    let id = find(&warden, &viewer, &slug).await?;
    warden
        .guard(viewer.principal())
        .delete("articles", &id.to_string(), None)
        .await
        .map_err(ApiError::on("article"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /articles/{slug}/favorite`: favoriting twice is still one.
pub async fn favorite(
    State(warden): State<Warden>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let viewer = MaybeAuth(Some(auth));
    let id = find(&warden, &viewer, &slug).await?;
    match warden
        .guard(viewer.principal())
        .create("favorites", json!({ "article_id": id }))
        .await
    {
        Ok(_) | Err(Error::Conflict(_)) => {}
        Err(other) => return Err(ApiError::refused("article", other)),
    }
    one(&warden, &viewer, id).await
}

/// `DELETE /articles/{slug}/favorite`: removes the caller's own favorite
/// (the favorites `delete` rule); none is not an error.
pub async fn unfavorite(
    State(warden): State<Warden>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = auth.id;
    let viewer = MaybeAuth(Some(auth));
    let id = find(&warden, &viewer, &slug).await?;
    let guard = warden.guard(viewer.principal());
    let mut select = sql::scoped(&guard, "favorites", &["id"])?;
    select
        .and_where(col("favorites", "user_id").eq(user))
        .and_where(col("favorites", "article_id").eq(id));
    if let Some(favorite) = sql::fetch_one_value(&warden, &select).await? {
        guard
            .delete("favorites", &favorite.to_string(), None)
            .await
            .map_err(ApiError::on("article"))?;
    }
    one(&warden, &viewer, id).await
}

/// The article at `slug`, or 404.
pub async fn find(warden: &Warden, viewer: &MaybeAuth, slug: &str) -> Result<i64, ApiError> {
    sql::article_by_slug(warden, &warden.guard(viewer.principal()), slug)
        .await?
        .ok_or_else(|| ApiError::not_found("article"))
}

/// `limit` and `offset`, checked.
#[derive(Debug, Clone, Copy)]
struct Page {
    limit: u64,
    offset: u64,
}

impl Page {
    fn parse(query: &ListQuery) -> Result<Page, ApiError> {
        let number =
            |name: &str, text: Option<&str>, least: u64, default: u64| -> Result<u64, ApiError> {
                match text {
                    None => Ok(default),
                    Some(text) => text
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n >= least && i64::try_from(*n).is_ok())
                        .ok_or_else(|| {
                            ApiError::invalid(vec![(
                                name.to_owned(),
                                format!("must be a whole number of at least {least}"),
                            )])
                        }),
                }
            };
        Ok(Page {
            limit: std::cmp::min(
                number("limit", query.limit.as_deref(), 1, DEFAULT_LIMIT)?,
                MAX_LIMIT,
            ),
            offset: number("offset", query.offset.as_deref(), 0, 0)?,
        })
    }
}

/// The users named `username` the caller may list, as a subquery of keys.
fn named(guard: &Guard<'_>, username: &str) -> Result<SelectStatement, ApiError> {
    let mut users = sql::scoped(guard, "users", &["id"])?;
    users.and_where(col("users", "username").eq(username));
    Ok(users)
}

/// One page of the articles `filtered` selects (a `FROM articles` with
/// its conditions and no columns), most recent first, and their count.
async fn page_of(
    warden: &Warden,
    viewer: &MaybeAuth,
    filtered: SelectStatement,
    page: Page,
) -> Result<Json<Value>, ApiError> {
    let mut count = filtered.clone();
    count.expr(Func::count(col("articles", "id")));
    let total = sql::fetch_one_value(warden, &count).await?.unwrap_or(0);
    let mut ids = filtered;
    ids.expr(col("articles", "id"))
        .order_by_expr(col("articles", "created_at"), Order::Desc)
        .order_by_expr(col("articles", "id"), Order::Desc)
        .limit(page.limit)
        .offset(page.offset);
    let ids: Vec<(i64,)> = sql::fetch_all(warden, &ids).await?;
    let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
    let articles = views(warden, viewer, &ids, Shape::Listed).await?;
    Ok(Json(
        json!({ "articles": articles, "articlesCount": total }),
    ))
}

/// `{"article": …}` for one article.
async fn one(warden: &Warden, viewer: &MaybeAuth, id: i64) -> Result<Json<Value>, ApiError> {
    let article = views(warden, viewer, &[id], Shape::Single)
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("article"))?;
    Ok(Json(json!({ "article": article })))
}

/// The articles `ids`, in that order, as `viewer` sees them: each read
/// through warden, with tags (alphabetical, as RealWorld's test suite
/// expects), favorite counts and flags, and authors; `body` only in the
/// `Single` shape.
async fn views(
    warden: &Warden,
    viewer: &MaybeAuth,
    ids: &[i64],
    shape: Shape,
) -> Result<Vec<Value>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let guard = warden.guard(viewer.principal());
    let mut articles = Vec::with_capacity(ids.len());
    for id in ids {
        let item = guard
            .read("articles", &id.to_string())
            .await
            .map_err(ApiError::on("article"))?;
        articles.push((*id, item.json));
    }
    let authors: Vec<i64> = articles
        .iter()
        .filter_map(|(_, article)| article.get("author_id").and_then(Value::as_i64))
        .collect();
    let profiles = profiles::profiles(warden, viewer, &authors).await?;

    let mut tags = sql::scoped(&guard, "article_tags", &["article_id", "tag"])?;
    tags.and_where(col("article_tags", "article_id").is_in(ids.iter().copied()))
        .order_by_expr(col("article_tags", "tag"), Order::Asc);
    let mut tag_lists: HashMap<i64, Vec<String>> = HashMap::new();
    for (article, tag) in sql::fetch_all::<(i64, String)>(warden, &tags).await? {
        tag_lists.entry(article).or_default().push(tag);
    }

    let mut counts = sql::scoped(&guard, "favorites", &["article_id"])?;
    counts
        .expr(Func::count(col("favorites", "id")))
        .and_where(col("favorites", "article_id").is_in(ids.iter().copied()))
        .group_by_col((Alias::new("favorites"), Alias::new("article_id")));
    let counts: HashMap<i64, i64> = sql::fetch_all::<(i64, i64)>(warden, &counts)
        .await?
        .into_iter()
        .collect();

    let favorited: HashSet<i64> = match &viewer.0 {
        Some(auth) => {
            let mut mine = sql::scoped(&guard, "favorites", &["article_id"])?;
            mine.and_where(col("favorites", "user_id").eq(auth.id))
                .and_where(col("favorites", "article_id").is_in(ids.iter().copied()));
            sql::fetch_all::<(i64,)>(warden, &mine)
                .await?
                .into_iter()
                .map(|(id,)| id)
                .collect()
        }
        None => HashSet::new(),
    };

    Ok(articles
        .into_iter()
        .map(|(id, article)| {
            let field = |name: &str| article.get(name).cloned().unwrap_or(Value::Null);
            let author = article
                .get("author_id")
                .and_then(Value::as_i64)
                .and_then(|author| profiles.get(&author).cloned())
                .unwrap_or(Value::Null);
            let mut view = json!({
                "slug": field("slug"),
                "title": field("title"),
                "description": field("description"),
                "tagList": tag_lists.remove(&id).unwrap_or_default(),
                "createdAt": field("created_at"),
                "updatedAt": field("updated_at"),
                "favorited": favorited.contains(&id),
                "favoritesCount": counts.get(&id).copied().unwrap_or(0),
                "author": author,
            });
            if shape == Shape::Single {
                view["body"] = field("body");
            }
            view
        })
        .collect())
}

/// A `tagList` as stored: trimmed, blanks and repeats dropped; checked
/// before the article is written, so a bad tag leaves nothing half done.
/// `null` is refused (`[]` removes every tag; leaving it out keeps them).
fn clean_tags(tags: Option<Option<Vec<String>>>) -> Result<Option<Vec<String>>, ApiError> {
    let tags = match tags {
        None => return Ok(None),
        Some(None) => {
            return Err(ApiError::invalid(vec![(
                "tagList".into(),
                "can't be null".into(),
            )]));
        }
        Some(Some(tags)) => tags,
    };
    if tags.iter().any(|tag| tag.contains('\0')) {
        return Err(ApiError::invalid(vec![(
            "tagList".into(),
            "tags cannot contain NUL characters".into(),
        )]));
    }
    let mut seen = HashSet::new();
    Ok(Some(
        tags.iter()
            .map(|tag| tag.trim())
            .filter(|tag| !tag.is_empty() && seen.insert(*tag))
            .map(str::to_owned)
            .collect(),
    ))
}

/// Makes the article's tags exactly `wanted` (from [`clean_tags`]), each
/// change through warden (the article_tags rules).
async fn set_tags(
    warden: &Warden,
    guard: &Guard<'_>,
    article: i64,
    wanted: &[String],
) -> Result<(), ApiError> {
    let mut select = sql::scoped(guard, "article_tags", &["id", "tag"])?;
    select.and_where(col("article_tags", "article_id").eq(article));
    let existing: Vec<(i64, String)> = sql::fetch_all(warden, &select).await?;
    for (id, tag) in &existing {
        if !wanted.contains(tag) {
            guard
                .delete("article_tags", &id.to_string(), None)
                .await
                .map_err(ApiError::on("tagList"))?;
        }
    }
    for tag in wanted {
        if !existing.iter().any(|(_, have)| have == tag) {
            guard
                .create("article_tags", json!({ "article_id": article, "tag": tag }))
                .await
                .map_err(ApiError::on("tagList"))?;
        }
    }
    Ok(())
}

/// `how-to-train-your-dragon-1a2b3c4d`: the title in lowercase words,
/// and a random suffix so equal titles do not clash.
fn slug_of(title: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut words = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            words.push(c);
        } else if !words.is_empty() && !words.ends_with('-') {
            words.push('-');
        }
    }
    let words = words.trim_end_matches('-');
    let words = if words.is_empty() { "article" } else { words };
    // A randomly keyed hash of the time: unpredictable without a new
    // dependency.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{words}-{:08x}", hasher.finish() & 0xffff_ffff)
}

/// The current time as warden stores timestamps.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::slug_of;

    #[test]
    fn slugs_are_lowercase_words_and_a_suffix() {
        let slug = slug_of("How to train your Dragon?!");
        assert!(slug.starts_with("how-to-train-your-dragon-"), "{slug}");
        assert_eq!(slug.len(), "how-to-train-your-dragon-".len() + 8);
        assert!(slug_of("?!").starts_with("article-"));
        assert_ne!(slug_of("same"), slug_of("same"));
    }
}
