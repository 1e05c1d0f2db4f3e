//! [`Guard`]: one caller's authorization for hand-written handlers. Every
//! call goes through `authz`, so its decisions, statuses (401/403/404,
//! 409, 412, 422) and denial log are those of the built-in API.

use super::Principal;
use crate::app::App;
use crate::auth::caller::Caller;
use crate::authz::{Authz, AuthzError, Item, Page};
use crate::query::ListQuery;
use crate::rows::input::WriteMode;
use sea_query::{Expr, SelectStatement};
use serde_json::Value as Json;
use std::sync::LazyLock;
use warden_policy::Action;

static ANONYMOUS: LazyLock<Caller> = LazyLock::new(Caller::default);

/// What one caller may do; from [`Warden::guard`](super::Warden::guard).
///
/// ```
/// # tokio_test::block_on(async {
/// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
/// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
/// #     .seed("../../examples/posts/seed.toml")
/// #     .build().await.unwrap();
/// // Anyone lists posts in this example; only owners change them.
/// let guard = warden.guard(None);
/// let page = guard.list("posts", &warden::ListQuery::default()).await?;
/// assert!(!page.items.is_empty());
/// # Ok::<(), warden::Error>(())
/// # }).unwrap();
/// ```
pub struct Guard<'a> {
    authz: Authz<'a>,
}

/// The rows of a resource one caller may list, as a condition to add to
/// your own `SELECT` on that resource's table.
///
/// ```
/// # tokio_test::block_on(async {
/// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
/// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
/// #     .build().await.unwrap();
/// use warden::sea_query::{Alias, Query, SqliteQueryBuilder};
/// let scope = warden.guard(None).list_scope("posts")?;
/// let mut select = Query::select();
/// select.column(Alias::new("id")).from(Alias::new("posts"));
/// scope.apply(&mut select);
/// assert!(select.to_string(SqliteQueryBuilder).starts_with("SELECT \"id\" FROM \"posts\""));
/// # Ok::<(), warden::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ListScope {
    condition: Option<Expr>,
}

impl ListScope {
    /// Adds the condition to `select` (nothing when every row is listable).
    /// Columns in it are qualified with the resource's table name, so
    /// select from that table under its own name.
    ///
    /// ```
    /// # fn f(scope: warden::ListScope) {
    /// let mut select = warden::sea_query::Query::select();
    /// scope.apply(&mut select);
    /// # }
    /// ```
    pub fn apply(&self, select: &mut SelectStatement) {
        if let Some(condition) = &self.condition {
            select.and_where(condition.clone());
        }
    }

    /// The condition itself; `None` when every row is listable.
    ///
    /// ```
    /// # fn f(scope: warden::ListScope) {
    /// let everything = scope.condition().is_none();
    /// # }
    /// ```
    pub fn condition(&self) -> Option<&Expr> {
        self.condition.as_ref()
    }
}

impl<'a> Guard<'a> {
    pub(super) fn new(app: &'a App, principal: Option<&'a Principal>) -> Guard<'a> {
        let caller = principal.map_or(&*ANONYMOUS, Principal::caller);
        Guard {
            authz: Authz::new(app, caller),
        }
    }

    /// One page of `resource` as `GET /api/<resource>?…` answers it.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .seed("../../examples/posts/seed.toml")
    /// #     .build().await.unwrap();
    /// let query = warden::ListQuery { limit: Some(1), ..Default::default() };
    /// let page = warden.guard(None).list("posts", &query).await?;
    /// assert_eq!(page.items.len(), 1);
    /// assert!(page.next.is_some(), "a cursor to the next page");
    /// # Ok::<(), warden::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn list(&self, resource: &str, query: &ListQuery) -> Result<Page, AuthzError> {
        self.authz.list(resource, query).await
    }

    /// The condition selecting the rows the caller may list, for your own
    /// queries; 401/403 when the caller may list none.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .seed("../../examples/posts/seed.toml")
    /// #     .build().await.unwrap();
    /// // Every post is listable in this example: no condition.
    /// assert!(warden.guard(None).list_scope("posts")?.condition().is_none());
    /// # Ok::<(), warden::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn list_scope(&self, resource: &str) -> Result<ListScope, AuthzError> {
        Ok(ListScope {
            condition: self.authz.list_condition(resource)?,
        })
    }

    /// One row as `GET /api/<resource>/<id>` answers it.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .seed("../../examples/posts/seed.toml")
    /// #     .build().await.unwrap();
    /// let missing = warden.guard(None).read("posts", "42").await; // no post 42
    /// assert_eq!(missing.unwrap_err().status(), 404);
    /// # });
    /// ```
    pub async fn read(&self, resource: &str, id: &str) -> Result<Item, AuthzError> {
        self.authz.read(resource, id, &[]).await
    }

    /// Whether the caller may take `action` (read, update or delete) on
    /// the stored row `id`, judged as the built-in action would judge it
    /// (an update on the row left unchanged): the row as the caller may
    /// see it, or the error the built-in action would answer. Use it
    /// before an action of your own that the row's rule should govern.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .seed("../../examples/posts/seed.toml")
    /// #     .build().await.unwrap();
    /// let refused = warden.guard(None).authorize(warden::Action::Delete, "posts", "4").await;
    /// assert_eq!(refused.unwrap_err().status(), 401);
    /// # });
    /// ```
    pub async fn authorize(
        &self,
        action: Action,
        resource: &str,
        id: &str,
    ) -> Result<Item, AuthzError> {
        self.authz.authorize(resource, id, action).await
    }

    /// Creates a row as `POST /api/<resource>` does (owner set from the
    /// caller, readonly fields refused, passwords hashed).
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .seed("../../examples/posts/seed.toml")
    /// #     .build().await.unwrap();
    /// let refused = warden.guard(None).create("posts", serde_json::json!({"title": "t"})).await;
    /// assert_eq!(refused.unwrap_err().status(), 401);
    /// # });
    /// ```
    pub async fn create(&self, resource: &str, body: Json) -> Result<Item, AuthzError> {
        self.authz.create(resource, body).await
    }

    /// Changes the fields in `body` as `PATCH /api/<resource>/<id>` does;
    /// `if_match` is the version the change is based on, if any.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .seed("../../examples/posts/seed.toml")
    /// #     .build().await.unwrap();
    /// let refused = warden.guard(None).update("posts", "4", serde_json::json!({}), None).await;
    /// assert_eq!(refused.unwrap_err().status(), 401);
    /// # });
    /// ```
    pub async fn update(
        &self,
        resource: &str,
        id: &str,
        body: Json,
        if_match: Option<i64>,
    ) -> Result<Item, AuthzError> {
        self.authz
            .update(resource, id, body, WriteMode::Patch, if_match)
            .await
    }

    /// Deletes a row as `DELETE /api/<resource>/<id>` does.
    ///
    /// ```
    /// # tokio_test::block_on(async {
    /// # let warden = warden::Warden::from_file("../../examples/posts/warden.toml")
    /// #     .database("sqlite::memory:").jwt_secret("a-secret-of-at-least-32-bytes-long!!")
    /// #     .seed("../../examples/posts/seed.toml")
    /// #     .build().await.unwrap();
    /// let refused = warden.guard(None).delete("posts", "4", None).await;
    /// assert_eq!(refused.unwrap_err().status(), 401);
    /// # });
    /// ```
    pub async fn delete(
        &self,
        resource: &str,
        id: &str,
        if_match: Option<i64>,
    ) -> Result<(), AuthzError> {
        self.authz.delete(resource, id, if_match).await
    }
}
