//! The reads warden's built-in list cannot express (slug and username
//! lookups, feed, filters, counts, flags): sea-query statements with
//! bound values only, each carrying the list rule of every table it reads
//! (`Guard::list_scope`), run on whichever backend warden opened.

use crate::errors::ApiError;
use warden::sea_query::{
    Alias, Expr, ExprTrait, PostgresQueryBuilder, SelectStatement, SqliteQueryBuilder,
};
use warden::sea_query_sqlx::SqlxBinder;
use warden::sqlx::postgres::PgRow;
use warden::sqlx::sqlite::SqliteRow;
use warden::sqlx::{AssertSqlSafe, FromRow};
use warden::{Guard, Warden};

/// `table.column`, as `ListScope` conditions qualify their columns.
pub fn col(table: &str, column: &str) -> Expr {
    Expr::col((Alias::new(table), Alias::new(column)))
}

/// `SELECT <columns> FROM table WHERE <the caller's list rule on table>`
/// (every resource of this app is stored in the table of its name).
pub fn scoped(
    guard: &Guard<'_>,
    table: &str,
    columns: &[&str],
) -> Result<SelectStatement, ApiError> {
    let scope = guard
        .list_scope(table)
        .map_err(|e| ApiError::refused(table, e))?;
    let mut select = SelectStatement::new();
    for column in columns {
        select.expr(col(table, column));
    }
    select.from(Alias::new(table));
    scope.apply(&mut select);
    Ok(select)
}

/// Every row of `select`.
pub async fn fetch_all<T>(warden: &Warden, select: &SelectStatement) -> Result<Vec<T>, ApiError>
where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    if let Some(pool) = warden.sqlite_pool() {
        let (sql, values) = select.build_sqlx(SqliteQueryBuilder);
        Ok(warden::sqlx::query_as_with(AssertSqlSafe(sql), values)
            .fetch_all(pool)
            .await?)
    } else if let Some(pool) = warden.postgres_pool() {
        let (sql, values) = select.build_sqlx(PostgresQueryBuilder);
        Ok(warden::sqlx::query_as_with(AssertSqlSafe(sql), values)
            .fetch_all(pool)
            .await?)
    } else {
        Err(ApiError::internal(&"no database pool"))
    }
}

/// The first column of the first row of `select`, if any.
pub async fn fetch_one_value(
    warden: &Warden,
    select: &SelectStatement,
) -> Result<Option<i64>, ApiError> {
    let rows: Vec<(i64,)> = fetch_all(warden, select).await?;
    Ok(rows.first().map(|(value,)| *value))
}

/// The key of the user named `username`, if the caller may list it.
pub async fn user_by_username(
    warden: &Warden,
    guard: &Guard<'_>,
    username: &str,
) -> Result<Option<i64>, ApiError> {
    let mut select = scoped(guard, "users", &["id"])?;
    select.and_where(col("users", "username").eq(username));
    fetch_one_value(warden, &select).await
}

/// The key of the article at `slug`, if the caller may list it.
pub async fn article_by_slug(
    warden: &Warden,
    guard: &Guard<'_>,
    slug: &str,
) -> Result<Option<i64>, ApiError> {
    let mut select = scoped(guard, "articles", &["id"])?;
    select.and_where(col("articles", "slug").eq(slug));
    fetch_one_value(warden, &select).await
}
