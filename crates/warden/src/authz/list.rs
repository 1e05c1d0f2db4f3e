//! Listing a resource: the caller's list rule, the client's
//! filter (checked like a rule, against only the fields every reader may
//! see) and search, all in one WHERE clause; keyset pagination over the
//! sort field and the key; expansions. Nothing is filtered in Rust.

use super::gate::{FieldGates, condition};
use super::read::Visible;
use super::{Authz, AuthzError, key_column};
use crate::auth::remembered::StateInputs;
use crate::config::{FieldDef, FieldKind, ResourceDef};
use crate::policy::{FilterLimit, publicly_readable};
use crate::rows::output::{render, to_json};
use crate::store::template::{Shape, replace_parameter};
use crate::store::{Row, select_all, to_sql_value};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_query::{
    Alias, Cond, Expr, ExprTrait, NullOrdering, Order, Query, SelectStatement, UnionType,
};
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use warden_policy::ir::TextOp;
use warden_policy::sql::text_test;
use warden_policy::{Action, Alternative, Residual, Value};

/// The query string of a list request, as sent (`limit`, `cursor`,
/// `sort`, `filter` in the rule language, `search`, `expand`).
///
/// ```
/// let params: warden::ListParams =
///     serde_urlencoded::from_str("limit=5&sort=-created_at&filter=row.published").unwrap();
/// assert_eq!(params.limit.as_deref(), Some("5"));
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub sort: Option<String>,
    pub filter: Option<String>,
    pub search: Option<String>,
    pub expand: Option<String>,
}

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
}

struct Sort<'r> {
    field: &'r FieldDef,
    descending: bool,
}

impl<'a> Authz<'a> {
    /// `GET /api/<resource>`.
    pub async fn list(&self, resource: &str, params: &ListParams) -> Result<Page, AuthzError> {
        let resource = self.resource(resource)?;
        self.require_scopes(resource, Action::List)?;
        // The list rule alone decides which rows a list shows (seed 003:
        // a public list of documents whose pages need a login).
        let list = self.gate(resource, Action::List);
        if list.allows_nothing() {
            self.log_denial(Action::List, resource, "*", list.rule, None);
            return Err(self.forbidden(list.rule, Action::List, resource));
        }
        let parts = [
            &params.limit,
            &params.cursor,
            &params.sort,
            &params.filter,
            &params.search,
            &params.expand,
        ];
        if parts
            .iter()
            .any(|p| p.as_deref().is_some_and(|p| p.contains('\0')))
        {
            return Err(AuthzError::InvalidQuery(
                "query parameters cannot contain NUL characters".to_owned(),
            ));
        }
        let limit = parse_limit(resource, params.limit.as_deref())?;
        let sort = parse_sort(resource, params.sort.as_deref())?;
        let expand = parse_expand(params.expand.as_deref());
        let target = self.target(resource);
        let fields = self.field_gates(resource);

        let budget = &self.app.config().limits.filter;
        let filter = params
            .filter
            .as_deref()
            .map(|text| self.app.policy().filter(&resource.name, text, budget))
            .transpose()?;
        // The filter alone was measured by `Policy::filter`; a search adds
        // one text pattern per searchable field to it.
        if let Some(term) = params.search.as_deref() {
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
                    });
                }
                residual => Some(residual),
            },
        };
        let built_from = ListShape {
            list: list.residual.clone(),
            fields: fields.residuals(),
            filter,
            search: params.search.as_deref().map(|t| Value::Text(t.to_owned())),
            cursor: params
                .cursor
                .as_deref()
                .map(|c| parse_cursor(resource, &sort, c))
                .transpose()?,
            sort: (sort.field.name.clone(), sort.descending),
            limit,
            state: self.caller_state(),
        };
        let (sql, values) = self.app.templates().list.statement(
            &resource.name,
            target.dialect,
            built_from,
            |shape| self.list_select(resource, &sort, &fields, shape),
        )?;
        // A list the client shaped may read every row of the table: such
        // lists take turns, so they never hold every connection at once.
        let shaped = params.filter.is_some()
            || params.search.is_some()
            || sort.field.name != resource.primary_key;
        let turn = match shaped {
            true => self.app.searches().acquire().await.ok(),
            false => None,
        };
        let mut rows = self.app.store().fetch_bound(resource, sql, values).await?;
        drop(turn);
        self.note_caller_state(&rows);
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|last| cursor_after(resource, &sort, last))
        } else {
            None
        };
        let mut items: Vec<Visible> = rows
            .into_iter()
            .map(|row| {
                let withheld = fields.withheld(&row);
                let json = render(resource, &row, |f| withheld.contains(f));
                Visible { row, json }
            })
            .collect();
        self.expand(resource, &mut items, &expand, false).await?;
        Ok(Page {
            items: items.into_iter().map(|v| v.json).collect(),
            next,
        })
    }
}

impl Authz<'_> {
    /// The list's one statement: the rows on the page, with their field
    /// flags and the remembered caller's state.
    fn list_select(
        &self,
        resource: &ResourceDef,
        sort: &Sort<'_>,
        fields: &FieldGates<'_>,
        shape: &ListShape,
    ) -> Result<SelectStatement, AuthzError> {
        let target = self.target(resource);
        // The client's narrowing (filter, search, cursor): on the page, and
        // on each alternative of the rule when it is read per alternative.
        let mut narrowing: Vec<Cond> = Vec::new();
        if let Some(filter) = &shape.filter {
            narrowing.push(
                Cond::all().add(
                    filter
                        .to_sql(&target)
                        .map_err(|e| AuthzError::InvalidQuery(e.to_string()))?,
                ),
            );
        }
        if let Some(Value::Text(term)) = &shape.search {
            narrowing.push(search_condition(resource, term, target.dialect)?);
        }
        if let Some(cursor) = &shape.cursor {
            narrowing.push(after_cursor(resource, sort, cursor, target.dialect)?);
        }
        let page = |select: &mut SelectStatement, key: Expr| {
            for condition in &narrowing {
                select.cond_where(condition.clone());
            }
            order(select, resource, sort, key);
            select.limit(u64::from(shape.limit) + 1);
        };

        let mut select = select_all(resource);
        fields.select_flags_of(shape.fields.iter(), &mut select, &target)?;
        let keys = shape
            .list
            .alternatives(&target, &resource.primary_key)
            .map_err(|e| AuthzError::Internal(e.to_string()))?
            .and_then(|alternatives| first_keys(alternatives, resource, sort, &page));
        match keys {
            Some(keys) => {
                select.and_where(key_column(resource).in_subquery(keys));
            }
            None => {
                if let Some(condition) = condition(&shape.list, &target)? {
                    select.and_where(condition);
                }
            }
        }
        page(&mut select, key_column(resource));
        if let Some(state) = &shape.state {
            state.select(self.app.callers(), &mut select);
        }
        Ok(select)
    }
}

/// What a list's statement is built from (`store::template`).
#[derive(Debug, Clone, PartialEq)]
pub struct ListShape {
    list: Residual,
    fields: Vec<Residual>,
    /// The client's filter, specialised; `None` when it holds for all.
    filter: Option<Residual>,
    search: Option<Value>,
    cursor: Option<Cursor>,
    /// The sort field's name, and whether descending.
    sort: (String, bool),
    limit: u32,
    state: Option<StateInputs>,
}

impl Shape for ListShape {
    fn replace_parameters(&mut self, each: &mut dyn FnMut(Value) -> Value) {
        self.list.replace_parameters(each);
        for field in &mut self.fields {
            field.replace_parameters(each);
        }
        if let Some(filter) = &mut self.filter {
            filter.replace_parameters(each);
        }
        if let Some(search) = &mut self.search {
            replace_parameter(search, each);
        }
        if let Some(cursor) = &mut self.cursor {
            replace_parameter(&mut cursor.sort, each);
            replace_parameter(&mut cursor.key, each);
        }
        if let Some(state) = &mut self.state {
            state.replace_parameters(each);
        }
    }
}

/// The `expand` parameter as relation names, each once, in first-mention
/// order: `owner` repeated thousands of times costs one expansion.
pub fn parse_expand(expand: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in expand.into_iter().flat_map(|e| e.split(',')).map(str::trim) {
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

fn parse_limit(resource: &ResourceDef, limit: Option<&str>) -> Result<u32, AuthzError> {
    let Some(text) = limit else {
        return Ok(Ord::min(resource.page_size, resource.max_page_size));
    };
    match text.parse::<u32>() {
        Ok(0) | Err(_) => Err(AuthzError::InvalidQuery(format!(
            "limit must be a whole number from 1 to {}, got `{text}`",
            resource.max_page_size
        ))),
        Ok(n) => Ok(Ord::min(n, resource.max_page_size)),
    }
}

fn parse_sort<'r>(resource: &'r ResourceDef, sort: Option<&str>) -> Result<Sort<'r>, AuthzError> {
    let Some(text) = sort.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Sort {
            field: resource.primary_field(),
            descending: false,
        });
    };
    let (name, descending) = match text.strip_prefix('-') {
        Some(name) => (name, true),
        None => (text.strip_prefix('+').unwrap_or(text), false),
    };
    let sortable = |f: &FieldDef| publicly_readable(f) && f.kind != FieldKind::Json;
    match resource.field(name) {
        Some(field) if sortable(field) => Ok(Sort { field, descending }),
        _ => {
            let known: Vec<&str> = resource
                .fields
                .values()
                .filter(|f| sortable(f))
                .map(|f| f.name.as_str())
                .collect();
            Err(AuthzError::InvalidQuery(format!(
                "cannot sort {} by `{name}`; sortable fields: {} (prefix with - for descending)",
                resource.name,
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
fn searchable(resource: &ResourceDef) -> impl Iterator<Item = &FieldDef> {
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

#[derive(serde::Serialize, Deserialize)]
struct CursorData {
    /// The sort field's value on the last row (absent when sorting by
    /// key; JSON null when that row's value is null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<Json>,
    k: Json,
}

fn cursor_after(resource: &ResourceDef, sort: &Sort<'_>, last: &Row) -> String {
    let value =
        |name: &str, kind: FieldKind| last.get(name).map_or(Json::Null, |v| to_json(kind, v));
    let data = CursorData {
        s: (!sort.field.primary).then(|| value(&sort.field.name, sort.field.kind)),
        k: value(&resource.primary_key, resource.primary_field().kind),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap_or_default())
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

/// A cursor's values: the sort field's on the last row (null when that
/// was null, or when sorting by key), and the last row's key.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    sort: Value,
    key: Value,
}

fn invalid_cursor() -> AuthzError {
    AuthzError::InvalidQuery("the cursor is not one this list returned".to_owned())
}

fn parse_cursor(resource: &ResourceDef, sort: &Sort<'_>, text: &str) -> Result<Cursor, AuthzError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| invalid_cursor())?;
    let data: CursorData = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    let key = json_to_value(resource.primary_field().kind, &data.k)
        .filter(|key| !key.is_null())
        .ok_or_else(invalid_cursor)?;
    let sort = if sort.field.primary {
        Value::Null
    } else {
        // serde reads `"s": null` as None: both mean the last value was null.
        json_to_value(sort.field.kind, data.s.as_ref().unwrap_or(&Json::Null))
            .ok_or_else(invalid_cursor)?
    };
    Ok(Cursor { sort, key })
}

/// Rows strictly after the cursor's row in the page order.
fn after_cursor(
    resource: &ResourceDef,
    sort: &Sort<'_>,
    cursor: &Cursor,
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
