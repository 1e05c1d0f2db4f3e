//! Listing a resource: the caller's list rule, the client's
//! filter (checked like a rule, against only the fields every reader may
//! see) and search, all in one WHERE clause; keyset pagination over the
//! sort field and the key; expansions. Nothing is filtered in Rust.

use super::gate::{FieldGates, condition};
use super::read::Visible;
use super::{Authz, AuthzError};
use crate::config::{FieldDef, FieldKind, ResourceDef};
use crate::policy::{FilterLimit, publicly_readable};
use crate::query::{Cursor, ListQuery, SortKey};
use crate::rows::output::{render, to_json};
use crate::store::{Row, key_column, select_all, to_sql_value};
use sea_query::{
    Alias, Cond, Expr, ExprTrait, NullOrdering, Order, Query, SelectStatement, UnionType,
};
use serde_json::{Map, Value as Json};
use warden_policy::ir::TextOp;
use warden_policy::sql::text_test;
use warden_policy::{Action, Alternative, Residual, Value};

/// One page of a list: the items as the caller may see them, and the
/// cursor of the next page.
///
/// ```no_run
/// # async fn f(warden: warden::Warden) -> Result<(), warden::Error> {
/// let page = warden.guard(None).list("posts", &Default::default()).await?;
/// for item in &page.items { println!("{}", item["title"]); }
/// if let Some(cursor) = page.next { println!("more after {cursor}"); }
/// # Ok(()) }
/// ```
///
/// Serialised, it is the list's answer: `{"items": [...], "next": ...}`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page {
    pub items: Vec<Map<String, Json>>,
    /// Cursor of the next page, if there is one.
    pub next: Option<String>,
    /// Per item, whether the caller may take each action asked of
    /// [`Authz::list_with_actions`] on it (empty for a plain list).
    #[serde(skip)]
    pub may: Vec<Vec<bool>>,
}

struct Sort<'r> {
    field: &'r FieldDef,
    descending: bool,
}

impl<'a> Authz<'a> {
    /// `GET /api/<resource>`.
    pub async fn list(&self, resource: &str, query: &ListQuery) -> Result<Page, AuthzError> {
        self.list_with_actions(resource, query, &[]).await
    }

    /// [`Authz::list`], also telling per item whether the caller may take
    /// each of `actions` on it (as [`Authz::may_on`] would), from flags in
    /// the list's own statement: what a page of rows with buttons needs.
    pub async fn list_with_actions(
        &self,
        resource: &str,
        query: &ListQuery,
        actions: &[Action],
    ) -> Result<Page, AuthzError> {
        let resource = self.resource(resource)?;
        self.require_scopes(resource, Action::List)?;
        // The list rule alone decides which rows a list shows (seed 003:
        // a public list of documents whose pages need a login).
        let list = self.gate(resource, Action::List);
        if list.allows_nothing() {
            self.log_denial(Action::List, resource, "*", list.rule, None);
            return Err(self.forbidden(list.rule, Action::List, resource));
        }
        // Library callers build queries by hand; NUL never reaches SQL.
        if [&query.filter, &query.search]
            .iter()
            .any(|p| p.as_deref().is_some_and(|p| p.contains('\0')))
        {
            return Err(AuthzError::InvalidQuery(
                "query parameters cannot contain NUL characters".to_owned(),
            ));
        }
        let asked_limit = query.limit.unwrap_or(resource.page_size);
        let limit = Ord::max(Ord::min(asked_limit, resource.max_page_size), 1);
        let sort = sort_by(resource, query.sort.as_ref())?;
        let fields = self.field_gates(resource);

        let budget = &self.app.config().limits.filter;
        let filter = query
            .filter
            .as_deref()
            .map(|text| self.app.policy().filter(&resource.name, text, budget))
            .transpose()?;
        // The filter alone was measured by `Policy::filter`; a search adds
        // one text pattern per searchable field to it.
        if let Some(term) = query.search.as_deref() {
            FilterLimit::Bytes.check(budget, "search", term.len())?;
            let patterns =
                filter.as_ref().map_or(0, |f| f.cost().patterns) + searchable(resource).count();
            FilterLimit::Patterns.check(budget, "filter and search", patterns)?;
        }
        let filter = match filter {
            None => None,
            Some(rule) => match rule.specialize(self.caller.principal()) {
                Residual::Always(true) => None,
                Residual::Always(false) => {
                    return Ok(Page {
                        items: Vec::new(),
                        next: None,
                        may: Vec::new(),
                    });
                }
                residual => Some(residual),
            },
        };
        let cursor = query
            .cursor
            .as_ref()
            .map(|c| cursor_values(resource, &sort, c))
            .transpose()?;
        let asked: Vec<AskedAction> = actions
            .iter()
            .map(|&action| AskedAction {
                scopes_held: self.holds_scopes(resource, action),
                gate: self.gate(resource, action),
                flag: format!("may_{}", action.name()),
            })
            .collect();
        let read = self.gate(resource, Action::Read);
        let mut select = self.list_select(
            resource,
            &list.residual,
            &fields,
            &Narrowing {
                filter,
                search: query.search.as_deref(),
                cursor,
                sort: &sort,
                limit,
            },
        )?;
        if !asked.is_empty() {
            // As `may_on` judges: the stored row as it is (`new` is `row`).
            let mut target = self.target(resource);
            target.new = Some(target.row.clone());
            read.select_flag(&mut select, &target, "may_see")?;
            for action in &asked {
                action
                    .gate
                    .select_flag(&mut select, &target, &action.flag)?;
            }
        }
        // A list the client shaped may read every row of the table: such
        // lists take turns, so they never hold every connection at once.
        let shaped = query.filter.is_some()
            || query.search.is_some()
            || sort.field.name != resource.primary_key;
        let turn = match shaped {
            true => self.app.searches().acquire().await.ok(),
            false => None,
        };
        let mut rows = self.app.store().fetch_rows(resource, &select).await?;
        drop(turn);
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|last| cursor_after(resource, &sort, last))
        } else {
            None
        };
        let may = rows
            .iter()
            .filter(|_| !asked.is_empty())
            .map(|row| {
                let seen = read.holds_for(row, "may_see");
                asked
                    .iter()
                    .map(|a| a.scopes_held && seen && a.gate.holds_for(row, &a.flag))
                    .collect()
            })
            .collect();
        let mut items: Vec<Visible> = rows
            .into_iter()
            .map(|row| {
                let withheld = fields.withheld(&row);
                let json = render(resource, &row, |f| withheld.contains(f));
                Visible { row, json }
            })
            .collect();
        self.expand(resource, &mut items, &query.expand, false)
            .await?;
        Ok(Page {
            items: items.into_iter().map(|v| v.json).collect(),
            next,
            may,
        })
    }
}

/// An action a list is asked about per row, as the caller's gate for it.
struct AskedAction<'r> {
    scopes_held: bool,
    gate: super::gate::Gate<'r>,
    /// The name of its flag column.
    flag: String,
}

/// What the client narrows a list to, beside the caller's list rule.
struct Narrowing<'r> {
    /// The client's filter, specialised; `None` when it holds for all.
    filter: Option<Residual>,
    search: Option<&'r str>,
    cursor: Option<CursorValues>,
    sort: &'r Sort<'r>,
    limit: u32,
}

impl Authz<'_> {
    /// The list's one statement: the rows on the page (one more, to tell
    /// whether a next page exists), with their field flags.
    fn list_select(
        &self,
        resource: &ResourceDef,
        list: &Residual,
        fields: &FieldGates<'_>,
        narrowing: &Narrowing<'_>,
    ) -> Result<SelectStatement, AuthzError> {
        let target = self.target(resource);
        let sort = narrowing.sort;
        // The client's narrowing (filter, search, cursor): on the page, and
        // on each alternative of the rule when it is read per alternative.
        let mut conditions: Vec<Cond> = Vec::new();
        if let Some(filter) = &narrowing.filter {
            conditions.push(
                Cond::all().add(
                    filter
                        .to_sql(&target)
                        .map_err(|e| AuthzError::InvalidQuery(e.to_string()))?,
                ),
            );
        }
        if let Some(term) = narrowing.search {
            conditions.push(search_condition(resource, term, target.dialect)?);
        }
        if let Some(cursor) = &narrowing.cursor {
            conditions.push(after_cursor(resource, sort, cursor, target.dialect)?);
        }
        let page = |select: &mut SelectStatement, key: Expr| {
            for condition in &conditions {
                select.cond_where(condition.clone());
            }
            order(select, resource, sort, key);
            select.limit(u64::from(narrowing.limit) + 1);
        };

        let mut select = select_all(resource);
        fields.select_flags(&mut select, &target)?;
        let keys = list
            .alternatives(&target, &resource.primary_key)
            .map_err(|e| AuthzError::Internal(e.to_string()))?
            .and_then(|alternatives| first_keys(alternatives, resource, sort, &page));
        match keys {
            Some(keys) => {
                select.and_where(key_column(resource).in_subquery(keys));
            }
            None => {
                if let Some(condition) = condition(list, &target)? {
                    select.and_where(condition);
                }
            }
        }
        page(&mut select, key_column(resource));
        Ok(select)
    }
}

/// Whether a list may be sorted by `field`: only by what every reader
/// may see (a sort reveals order), never by JSON.
pub fn sortable(field: &FieldDef) -> bool {
    publicly_readable(field) && field.kind != FieldKind::Json
}

/// The sort a query asks for, checked against the resource; by key when
/// it asks for none.
fn sort_by<'r>(resource: &'r ResourceDef, key: Option<&SortKey>) -> Result<Sort<'r>, AuthzError> {
    let Some(key) = key else {
        return Ok(Sort {
            field: resource.primary_field(),
            descending: false,
        });
    };
    match resource.field(&key.field) {
        Some(field) if sortable(field) => Ok(Sort {
            field,
            descending: key.descending,
        }),
        _ => {
            let known: Vec<&str> = resource
                .fields
                .values()
                .filter(|f| sortable(f))
                .map(|f| f.name.as_str())
                .collect();
            Err(AuthzError::InvalidQuery(format!(
                "cannot sort {} by `{}`; sortable fields: {} (prefix with - for descending)",
                resource.name,
                key.field,
                known.join(", ")
            )))
        }
    }
}

fn column(resource: &ResourceDef, field: &str) -> Expr {
    Expr::col((
        Alias::new(resource.table.clone()),
        Alias::new(field.to_owned()),
    ))
}

/// The fields a search looks in.
pub fn searchable(resource: &ResourceDef) -> impl Iterator<Item = &FieldDef> {
    resource
        .fields
        .values()
        .filter(|f| f.searchable && publicly_readable(f))
}

/// Partial, case-insensitive match over the searchable fields.
fn search_condition(
    resource: &ResourceDef,
    term: &str,
    dialect: warden_policy::Dialect,
) -> Result<Cond, AuthzError> {
    let searchable: Vec<&FieldDef> = searchable(resource).collect();
    if searchable.is_empty() {
        return Err(AuthzError::InvalidQuery(format!(
            "{} has no searchable fields",
            resource.name
        )));
    }
    let mut any = Cond::any();
    for field in searchable {
        any = any.add(text_test(
            dialect,
            TextOp::IContains,
            column(resource, &field.name),
            Expr::val(term.to_owned()),
        ));
    }
    Ok(any)
}

/// `SELECT w_key FROM (<first page of alternative 1>) UNION ALL …`: the
/// keys of each alternative's own first page (with the client's narrowing,
/// in page order). The page's rows are among them, and each alternative
/// stops at its LIMIT in an index, where one `OR` would gather and sort
/// every row the caller may see.
fn first_keys(
    alternatives: Vec<Alternative>,
    resource: &ResourceDef,
    sort: &Sort<'_>,
    page: &impl Fn(&mut SelectStatement, Expr),
) -> Option<SelectStatement> {
    let mut union: Option<SelectStatement> = None;
    for (i, alternative) in alternatives.into_iter().enumerate() {
        let mut select = alternative.select;
        select.expr_as(alternative.key.clone(), Alias::new(KEY_ALIAS));
        if !sort.field.primary {
            // DISTINCT needs the ORDER BY columns selected (PostgreSQL).
            select.expr(column(resource, &sort.field.name));
        }
        if alternative.repeats {
            select.distinct();
        }
        page(&mut select, alternative.key);
        let keys = Query::select()
            .column(Alias::new(KEY_ALIAS))
            .from_subquery(select, Alias::new(format!("w_alt{i}")))
            .to_owned();
        union = Some(match union {
            None => keys,
            Some(mut union) => {
                union.union(UnionType::All, keys);
                union
            }
        });
    }
    union
}

const KEY_ALIAS: &str = "w_key";

/// ORDER BY the sort field (nulls first ascending, last descending, so the
/// order is the exact reverse) then the key (`key`: as the select names
/// it) in the same direction.
fn order(select: &mut SelectStatement, resource: &ResourceDef, sort: &Sort<'_>, key: Expr) {
    let direction = if sort.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    if !sort.field.primary {
        let nulls = if sort.descending {
            NullOrdering::Last
        } else {
            NullOrdering::First
        };
        select.order_by_expr_with_nulls(
            column(resource, &sort.field.name),
            direction.clone(),
            nulls,
        );
    }
    select.order_by_expr(key, direction);
}

fn cursor_after(resource: &ResourceDef, sort: &Sort<'_>, last: &Row) -> String {
    let value =
        |name: &str, kind: FieldKind| last.get(name).map_or(Json::Null, |v| to_json(kind, v));
    Cursor {
        sort: (!sort.field.primary).then(|| value(&sort.field.name, sort.field.kind)),
        key: value(&resource.primary_key, resource.primary_field().kind),
    }
    .encode()
}

/// The cursor of the page after `last` in key order (the default sort):
/// where a list goes on from a row shown elsewhere (a capped expansion).
pub(super) fn key_cursor(resource: &ResourceDef, last: &Row) -> String {
    let sort = Sort {
        field: resource.primary_field(),
        descending: false,
    };
    cursor_after(resource, &sort, last)
}

/// A cursor's values, typed: the sort field's on the last row (null when
/// that was null, or when sorting by key), and the last row's key.
struct CursorValues {
    sort: Value,
    key: Value,
}

fn invalid_cursor() -> AuthzError {
    AuthzError::InvalidQuery("the cursor is not one this list returned".to_owned())
}

fn cursor_values(
    resource: &ResourceDef,
    sort: &Sort<'_>,
    cursor: &Cursor,
) -> Result<CursorValues, AuthzError> {
    let key = json_to_value(resource.primary_field().kind, &cursor.key)
        .filter(|key| !key.is_null())
        .ok_or_else(invalid_cursor)?;
    let sort = if sort.field.primary {
        Value::Null
    } else {
        // JSON reads `"s": null` as none: both mean the last value was null.
        json_to_value(sort.field.kind, cursor.sort.as_ref().unwrap_or(&Json::Null))
            .ok_or_else(invalid_cursor)?
    };
    Ok(CursorValues { sort, key })
}

/// Rows strictly after the cursor's row in the page order.
fn after_cursor(
    resource: &ResourceDef,
    sort: &Sort<'_>,
    cursor: &CursorValues,
    dialect: warden_policy::Dialect,
) -> Result<Cond, AuthzError> {
    let bind = |field: &FieldDef, value: &Value| -> Result<Option<Expr>, AuthzError> {
        if value.is_null() {
            return Ok(None);
        }
        Ok(Some(Expr::val(
            to_sql_value(field.kind, value, dialect).map_err(|_| invalid_cursor())?,
        )))
    };
    let key = bind(resource.primary_field(), &cursor.key)?.ok_or_else(invalid_cursor)?;
    let key_after = |key: Expr| {
        if sort.descending {
            key_column(resource).lt(key)
        } else {
            key_column(resource).gt(key)
        }
    };
    if sort.field.primary {
        return Ok(Cond::all().add(key_after(key)));
    }
    let col = || column(resource, &sort.field.name);
    let sort_value = bind(sort.field, &cursor.sort)?;
    Ok(match (sort_value, sort.descending) {
        // Ascending, nulls first: after a null come later nulls, then values.
        (None, false) => Cond::any()
            .add(Cond::all().add(col().is_null()).add(key_after(key)))
            .add(col().is_not_null()),
        (Some(v), false) => Cond::any()
            .add(col().gt(v.clone()))
            .add(Cond::all().add(col().eq(v)).add(key_after(key))),
        // Descending, nulls last: after a null come only later nulls.
        (None, true) => Cond::all().add(col().is_null()).add(key_after(key)),
        (Some(v), true) => Cond::any()
            .add(col().lt(v.clone()))
            .add(Cond::all().add(col().eq(v)).add(key_after(key)))
            .add(col().is_null()),
    })
}

fn json_to_value(kind: FieldKind, json: &Json) -> Option<Value> {
    Some(match (kind, json) {
        (_, Json::Null) => Value::Null,
        (FieldKind::Integer, Json::Number(n)) => Value::Int(n.as_i64()?),
        (FieldKind::Float, Json::Number(n)) => Value::Float(n.as_f64()?),
        (FieldKind::Bool, Json::Bool(b)) => Value::Bool(*b),
        (FieldKind::Text | FieldKind::Timestamp, Json::String(s)) => Value::Text(s.clone()),
        _ => return None,
    })
}
