//! The page handlers. Each translates HTTP into the `Authz` call the JSON
//! handler for the same action makes, with the same arguments, and renders
//! what it returns; whether an action shows enabled comes from
//! `Authz::may` and `Authz::may_on`. They must not read the store, decide
//! access, or show a field the JSON answer leaves out.

use super::error::UiError;
use super::form::{self, FormError};
use super::redirect::local_path;
use super::{flash, templates};
use crate::app::App;
use crate::auth::caller::{Caller, CallerError, Via};
use crate::authz::{Authz, AuthzError, searchable, sortable};
use crate::config::{FieldKind, ResourceDef};
use crate::problem::{Kind, Problem};
use crate::query::ListQuery;
use crate::rows::input::WriteMode;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{Value as Ctx, context};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Map, Value as Json};
use warden_policy::{Action as Act, Value};

type PageAnswer = Result<Response, UiError>;

/// Characters kept as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// A button or link for one action: a link when the caller may take it,
/// a disabled button saying why when not.
#[derive(Debug, Serialize)]
struct Action {
    name: &'static str,
    label: String,
    href: String,
    enabled: bool,
    why: String,
    danger: bool,
    /// Said to screen readers after the label ("Edit employee 3").
    context: Option<String>,
}

impl Action {
    fn new(name: &'static str, label: impl Into<String>, href: String, enabled: bool) -> Self {
        let verb = match name {
            "browse" => "list these",
            "create" => "create one",
            "edit" => "edit this",
            "delete" => "delete this",
            _ => "open this",
        };
        Action {
            why: format!("You may not {verb}"),
            name,
            label: label.into(),
            href,
            enabled,
            danger: name == "delete",
            context: None,
        }
    }

    /// Names what the action is about, for screen readers and the reason.
    fn about(mut self, context: String) -> Self {
        self.why = format!("{}: {}", self.why, context);
        self.context = Some(context);
        self
    }
}

#[derive(Debug, Serialize)]
struct NavLink {
    label: String,
    href: String,
    current: bool,
}

/// What the layout shows on every page.
#[derive(Debug, Serialize)]
struct Chrome {
    user: Option<String>,
    csrf: String,
    flash: Option<String>,
    resources: Vec<NavLink>,
}

/// One request's caller and flash message, and how its pages render.
struct Screen {
    app: App,
    caller: Caller,
    flash: Option<String>,
}

impl Screen {
    fn new(app: App, caller: Caller, headers: &HeaderMap) -> Self {
        Screen {
            app,
            caller,
            flash: flash::take(headers),
        }
    }

    fn authz(&self) -> Authz<'_> {
        Authz::new(&self.app, &self.caller)
    }

    fn resource(&self, name: &str) -> Result<&ResourceDef, UiError> {
        self.app
            .config()
            .resource(name)
            .ok_or_else(|| UiError::Authz(AuthzError::NotFound(name.to_owned())))
    }

    fn chrome(&self, current: Option<&str>) -> Chrome {
        let authz = self.authz();
        let resources = match self.caller.user {
            None => Vec::new(),
            Some(_) => self
                .app
                .config()
                .resources
                .keys()
                .filter(|name| authz.may(name, Act::List))
                .map(|name| NavLink {
                    label: form::label(name),
                    href: format!("/ui/{}", segment(name)),
                    current: current == Some(name.as_str()),
                })
                .collect(),
        };
        Chrome {
            user: self.caller.user.as_ref().map(|_| self.user_name()),
            csrf: self
                .caller
                .session
                .as_ref()
                .filter(|s| s.via == Via::Cookie)
                .and_then(|s| s.csrf_token.clone())
                .unwrap_or_default(),
            flash: self.flash.clone(),
            resources,
        }
    }

    /// The caller's login name (their id when it has none).
    fn user_name(&self) -> String {
        let Some(user) = &self.caller.user else {
            return String::new();
        };
        let login = self.app.config().auth.as_ref().map(|a| a.login.as_str());
        login
            .and_then(|field| user.principal.attributes.get(field))
            .map_or_else(|| text_of(&user.id), text_of)
    }

    /// Whether row `id` of `resource` is the caller's own account, whose
    /// edit form asks for the current password.
    fn owns_account(&self, resource: &ResourceDef, id: &str) -> bool {
        let config = self.app.config();
        let is_users = config.users_resource().is_some_and(|users| {
            users.name == resource.name && crate::auth::login::password_field(users).is_some()
        });
        is_users
            && self
                .caller
                .user
                .as_ref()
                .is_some_and(|user| text_of(&user.id) == id)
    }

    /// Refuses an anonymous caller (the login redirect follows).
    fn require_user(&self) -> Result<(), UiError> {
        match self.caller.user {
            Some(_) => Ok(()),
            None => Err(UiError::Authz(AuthzError::Unauthenticated)),
        }
    }

    fn render(
        &self,
        template: &str,
        status: StatusCode,
        current: Option<&str>,
        context: Ctx,
    ) -> PageAnswer {
        let html = templates::render(
            template,
            context! { chrome => self.chrome(current), ..context },
        )?;
        let mut response = (status, Html(html)).into_response();
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.flash.is_some() {
            flash::clear(&mut response);
        }
        Ok(response)
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Text(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A JSON value as a page shows it.
fn display(json: Option<&Json>) -> String {
    match json {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Bool(true)) => "yes".to_owned(),
        Some(Json::Bool(false)) => "no".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// A key as it appears in a URL.
fn key_text(json: Option<&Json>) -> Option<String> {
    match json? {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// "employees" -> "employee" (for messages).
fn singular(name: &str) -> String {
    name.strip_suffix('s').unwrap_or(name).replace('_', " ")
}

fn redirect_with(location: &str, message: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    flash::set(&mut response, message);
    response
}

/// The fields a page may show: never hidden ones or passwords; fields
/// with a per-row rule only where the item (as `Authz` answered it) has
/// them.
fn shown_fields(resource: &ResourceDef) -> impl Iterator<Item = &crate::config::FieldDef> {
    resource
        .fields
        .values()
        .filter(|f| !f.hidden && f.kind != FieldKind::Password)
}

#[derive(Debug, Serialize)]
struct Shown {
    name: String,
    label: String,
    text: String,
    href: Option<String>,
}

fn shown(resource: &ResourceDef, item: &Map<String, Json>) -> Vec<Shown> {
    shown_fields(resource)
        .filter(|f| item.contains_key(&f.name))
        .map(|f| {
            let value = item.get(&f.name);
            let href = f.references.as_ref().and_then(|target| {
                let key = key_text(value)?;
                Some(format!(
                    "/ui/{}/{}",
                    segment(&target.resource),
                    segment(&key)
                ))
            });
            Shown {
                name: f.name.clone(),
                label: form::label(&f.name),
                text: display(value),
                href,
            }
        })
        .collect()
}

fn caller_or_page(caller: Result<Caller, CallerError>) -> Result<Caller, UiError> {
    caller.map_err(|error| UiError::Rejected(Problem::from(error)))
}

fn form_pairs(body: &Bytes) -> Result<Vec<(String, String)>, UiError> {
    serde_urlencoded::from_bytes(body).map_err(|e| {
        UiError::Rejected(Problem::new(
            Kind::MalformedBody,
            format!("malformed form: {e}"),
        ))
    })
}

fn submitted_version(pairs: &[(String, String)]) -> Option<i64> {
    pairs
        .iter()
        .find(|(name, _)| name == "_version")
        .and_then(|(_, v)| v.parse().ok())
}

// ---------------------------------------------------------------------
// Login, logout, home.
// ---------------------------------------------------------------------

/// The login page: `GET /auth/login`, and the answer to a browser's failed
/// form login (with `error`).
pub fn login_page(
    app: &App,
    headers: &HeaderMap,
    next: Option<&str>,
    error: Option<&str>,
) -> Response {
    let screen = Screen::new(app.clone(), Caller::default(), headers);
    let login_label = app
        .config()
        .auth
        .as_ref()
        .map_or_else(|| "Login".to_owned(), |a| form::label(&a.login));
    let next = local_path(next, "/ui");
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    screen
        .render(
            "login.html",
            status,
            None,
            context! { title => "Log in", login_label, next, error },
        )
        .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /auth/login`.
pub async fn login(
    State(app): State<App>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let next = query
        .iter()
        .find(|(key, _)| key == "next")
        .map(|(_, value)| value.as_str());
    login_page(&app, &headers, next, None)
}

/// Where a browser's form logout goes: the login page, saying so.
pub fn logged_out() -> Response {
    redirect_with("/auth/login", "You are logged out.")
}

/// `GET /ui`: who you are, your scopes and roles, and what you may do.
pub async fn home(
    State(app): State<App>,
    caller: Result<Caller, CallerError>,
    headers: HeaderMap,
) -> PageAnswer {
    let screen = Screen::new(app, caller_or_page(caller)?, &headers);
    screen.require_user()?;
    let authz = screen.authz();
    let config = screen.app.config();
    let resources: Vec<Ctx> = config
        .resources
        .keys()
        .map(|name| {
            let path = format!("/ui/{}", segment(name));
            context! {
                label => form::label(name),
                browse => Action::new("browse", "Browse", path.clone(), authz.may(name, Act::List))
                    .about(form::label(name)),
                create => Action::new("create", format!("New {}", singular(name)), format!("{path}/new"), authz.may(name, Act::Create)),
            }
        })
        .collect();
    let (user_id, scopes, roles) = match &screen.caller.user {
        Some(user) => (
            text_of(&user.id),
            user.principal.scopes.clone(),
            user.principal.roles.clone(),
        ),
        None => Default::default(),
    };
    let own = match config.users_resource() {
        Some(users) => {
            let allowed = authz
                .may_on(&users.name, Act::Read, std::slice::from_ref(&user_id))
                .await?;
            allowed.first().copied().unwrap_or(false).then(|| {
                Action::new(
                    "own",
                    "Your record",
                    format!("/ui/{}/{}", segment(&users.name), segment(&user_id)),
                    true,
                )
            })
        }
        None => None,
    };
    let login_label = config
        .auth
        .as_ref()
        .map_or_else(|| "Login".to_owned(), |a| form::label(&a.login));
    let name = screen.user_name();
    screen.render(
        "home.html",
        StatusCode::OK,
        None,
        context! { title => "Home", name, login_label, user_id, scopes, roles, resources, own },
    )
}

// ---------------------------------------------------------------------
// Lists.
// ---------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct Column {
    label: String,
    sort_href: Option<String>,
    aria_sort: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Cell {
    text: String,
    href: Option<String>,
}

#[derive(Debug, Serialize)]
struct ListRow {
    id: String,
    cells: Vec<Cell>,
    edit: Action,
    delete: Action,
}

fn query_string(base: &str, params: &[(&str, Option<&str>)]) -> String {
    let present: Vec<(&str, &str)> = params
        .iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (*k, v)))
        .collect();
    if present.is_empty() {
        return base.to_owned();
    }
    format!(
        "{base}?{}",
        serde_urlencoded::to_string(&present).unwrap_or_default()
    )
}

/// `GET /ui/<resource>` (and a browser's `GET /api/<resource>`):
/// `search`, `sort` (`field` or `-field`), `cursor` and `limit` as the
/// API takes them.
pub async fn list(
    State(app): State<App>,
    caller: Result<Caller, CallerError>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> PageAnswer {
    let screen = Screen::new(app, caller_or_page(caller)?, &headers);
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let param = |key: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
    };
    let params = ListText {
        search: param("search"),
        sort: param("sort"),
        cursor: param("cursor"),
        limit: param("limit"),
    };
    let query = ListQuery::parse(query_string("", &params.pairs()).trim_start_matches('?'))
        .map_err(Problem::from)?;
    let authz = screen.authz();
    let page = authz
        .list_with_actions(&name, &query, &[Act::Read, Act::Update, Act::Delete])
        .await?;
    let resource = screen.resource(&name)?;
    let base = format!("/ui/{}", segment(&name));
    let one = singular(&name);

    let ids: Vec<String> = page
        .items
        .iter()
        .map(|item| key_text(item.get(&resource.primary_key)).unwrap_or_default())
        .collect();
    let may = |i: usize, action: usize| page.may.get(i).and_then(|m| m.get(action)) == Some(&true);

    let mut fields: Vec<&crate::config::FieldDef> = shown_fields(resource).collect();
    fields.sort_by_key(|f| !f.primary);
    let sort = params.sort.as_deref();
    let columns: Vec<Column> = fields
        .iter()
        .map(|f| {
            let current = match sort {
                Some(s) if s.strip_prefix('-') == Some(f.name.as_str()) => Some("descending"),
                Some(s) if s.trim_start_matches('+') == f.name => Some("ascending"),
                None if f.primary => Some("ascending"),
                _ => None,
            };
            let toggled = if current == Some("ascending") {
                format!("-{}", f.name)
            } else {
                f.name.clone()
            };
            Column {
                label: form::label(&f.name),
                sort_href: sortable(f).then(|| {
                    query_string(
                        &base,
                        &[
                            ("search", params.search.as_deref()),
                            ("sort", Some(&toggled)),
                            ("limit", params.limit.as_deref()),
                        ],
                    )
                }),
                aria_sort: current,
            }
        })
        .collect();
    let rows: Vec<ListRow> = page
        .items
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (item, id))| {
            let view = format!("{base}/{}", segment(id));
            let about = format!("{one} {id}");
            ListRow {
                id: id.clone(),
                cells: fields
                    .iter()
                    .enumerate()
                    .map(|(column, f)| Cell {
                        text: display(item.get(&f.name)),
                        href: (column == 0 && may(i, 0)).then(|| view.clone()),
                    })
                    .collect(),
                edit: Action::new("edit", "Edit", format!("{view}/edit"), may(i, 1))
                    .about(about.clone()),
                delete: Action::new("delete", "Delete", format!("{view}/delete"), may(i, 2))
                    .about(about),
            }
        })
        .collect();
    let search_fields: Vec<String> = searchable(resource)
        .map(|f| form::label(&f.name).to_lowercase())
        .collect();
    let summary = match (rows.len(), params.search.as_deref()) {
        (0, Some(term)) => format!("No {} match “{term}”.", name.replace('_', " ")),
        (0, None) => format!("No {} to show.", name.replace('_', " ")),
        (n, Some(term)) => format!("{n} shown matching “{term}”{}.", more(&page.next)),
        (n, None) => format!("{n} shown{}.", more(&page.next)),
    };
    let next_href = page.next.as_deref().map(|cursor| {
        query_string(
            &base,
            &[
                ("search", params.search.as_deref()),
                ("sort", params.sort.as_deref()),
                ("limit", params.limit.as_deref()),
                ("cursor", Some(cursor)),
            ],
        )
    });
    let first_href = params.cursor.is_some().then(|| {
        query_string(
            &base,
            &[
                ("search", params.search.as_deref()),
                ("sort", params.sort.as_deref()),
                ("limit", params.limit.as_deref()),
            ],
        )
    });
    let clear_href = query_string(&base, &[("sort", params.sort.as_deref())]);
    let create = Action::new(
        "create",
        format!("New {one}"),
        format!("{base}/new"),
        authz.may(&name, Act::Create),
    );
    screen.render(
        "list.html",
        StatusCode::OK,
        Some(&name),
        context! {
            title => form::label(&name),
            label => form::label(&name),
            base,
            search => params.search,
            sort => params.sort,
            search_fields => search_fields.join(", "),
            summary, columns, rows, next_href, first_href, clear_href, create,
        },
    )
}

/// A list page's query as the browser sent it, blanks dropped: what its
/// links carry on.
struct ListText {
    search: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

impl ListText {
    fn pairs(&self) -> [(&'static str, Option<&str>); 4] {
        [
            ("search", self.search.as_deref()),
            ("sort", self.sort.as_deref()),
            ("cursor", self.cursor.as_deref()),
            ("limit", self.limit.as_deref()),
        ]
    }
}

fn more(next: &Option<String>) -> &'static str {
    if next.is_some() {
        "; more on the next page"
    } else {
        ""
    }
}

// ---------------------------------------------------------------------
// One row: view, edit, new, delete.
// ---------------------------------------------------------------------

/// Whether the caller may take `action` on row `id` (for a page that only
/// exists to take it): a refusal is the 403 the action would answer.
async fn must_be_allowed(
    screen: &Screen,
    name: &str,
    id: &str,
    action: Act,
) -> Result<(), UiError> {
    let allowed = screen
        .authz()
        .may_on(name, action, &[id.to_owned()])
        .await?;
    if allowed.first().copied().unwrap_or(false) {
        Ok(())
    } else {
        Err(UiError::Authz(AuthzError::Forbidden(format!(
            "you may not {} this {}",
            action.name(),
            singular(name)
        ))))
    }
}

/// `GET /ui/<resource>/<id>` (and a browser's `GET /api/<resource>/<id>`).
pub async fn view(
    State(app): State<App>,
    caller: Result<Caller, CallerError>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> PageAnswer {
    let screen = Screen::new(app, caller_or_page(caller)?, &headers);
    let authz = screen.authz();
    let item = authz.read(&name, &id, &[]).await?;
    let resource = screen.resource(&name)?;
    let ids = [id.clone()];
    let editable = authz.may_on(&name, Act::Update, &ids).await?;
    let deletable = authz.may_on(&name, Act::Delete, &ids).await?;
    let base = format!("/ui/{}", segment(&name));
    let view = format!("{base}/{}", segment(&id));
    let heading = format!("{} {id}", form::label(&singular(&name)));
    screen.render(
        "view.html",
        StatusCode::OK,
        Some(&name),
        context! {
            title => &heading,
            heading,
            label => form::label(&name).to_lowercase(),
            fields => shown(resource, &item.json),
            edit => Action::new("edit", "Edit", format!("{view}/edit"), editable.first().copied().unwrap_or(false)),
            delete => Action::new("delete", "Delete", format!("{view}/delete"), deletable.first().copied().unwrap_or(false)),
            list_href => authz.may(&name, Act::List).then_some(base),
        },
    )
}

/// What a form page shows besides its controls.
struct FormPage<'a> {
    name: &'a str,
    heading: String,
    action: String,
    submit: &'static str,
    cancel_href: String,
    version: Option<i64>,
}

fn render_form(
    screen: &Screen,
    page: FormPage<'_>,
    status: StatusCode,
    controls: Vec<form::Control>,
    errors: Vec<FormError>,
) -> PageAnswer {
    let summary = match errors.len() {
        0 => String::new(),
        1 => "There is a problem with what you entered:".to_owned(),
        n => format!("There are {n} problems with what you entered:"),
    };
    screen.render(
        "form.html",
        status,
        Some(page.name),
        context! {
            title => &page.heading,
            heading => page.heading,
            action => page.action,
            submit => page.submit,
            cancel_href => page.cancel_href,
            version => page.version,
            fields => controls,
            errors, summary,
        },
    )
}

/// `GET /ui/<resource>/<id>/edit`.
pub async fn edit_form(
    State(app): State<App>,
    caller: Result<Caller, CallerError>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> PageAnswer {
    let screen = Screen::new(app, caller_or_page(caller)?, &headers);
    let item = screen.authz().read(&name, &id, &[]).await?;
    must_be_allowed(&screen, &name, &id, Act::Update).await?;
    let resource = screen.resource(&name)?;
    let fields = form::fields(resource, WriteMode::Patch, Some(&item.json));
    let mut controls = form::controls(&fields, WriteMode::Patch, &form::values_of(&item.json), &[]);
    if screen.owns_account(resource, &id) {
        form::ask_current_password(&mut controls, &[]);
    }
    let page = edit_page(&name, &id, item.version);
    render_form(&screen, page, StatusCode::OK, controls, Vec::new())
}

fn edit_page<'a>(name: &'a str, id: &str, version: Option<i64>) -> FormPage<'a> {
    let view = format!("/ui/{}/{}", segment(name), segment(id));
    FormPage {
        name,
        heading: format!("Edit {} {id}", singular(name)),
        action: format!("{view}/edit"),
        submit: "Save",
        cancel_href: view,
        version,
    }
}

/// `POST /ui/<resource>/<id>/edit`: a partial update (`PATCH`) with the
/// version the form was read at (`If-Match`).
pub async fn update(
    State(app): State<App>,
    caller: Result<Caller, CallerError>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageAnswer {
    let screen = Screen::new(app, caller_or_page(caller)?, &headers);
    let pairs = form_pairs(&body)?;
    let authz = screen.authz();
    // The form shows what the caller may see of the row; read it as the
    // form did, so the same fields are taken from the submission.
    let item = authz.read(&name, &id, &[]).await?;
    let resource = screen.resource(&name)?;
    let fields = form::fields(resource, WriteMode::Patch, Some(&item.json));
    let version = submitted_version(&pairs);
    let own_account = screen.owns_account(resource, &id);
    let submitted = form::body(&fields, WriteMode::Patch, &pairs).map(|mut body| {
        if own_account {
            form::add_current_password(&mut body, &pairs);
        }
        body
    });
    let (status, errors) = match submitted {
        Err(errors) => (StatusCode::BAD_REQUEST, errors),
        Ok(body) => match authz
            .update(&name, &id, body, WriteMode::Patch, version)
            .await
        {
            Ok(_) => {
                let view = format!("/ui/{}/{}", segment(&name), segment(&id));
                return Ok(redirect_with(
                    &view,
                    &format!("Saved {} {id}.", singular(&name)),
                ));
            }
            Err(error) => form_refusal(error, &singular(&name))?,
        },
    };
    let values = form::values_submitted(&fields, &pairs);
    let mut controls = form::controls(&fields, WriteMode::Patch, &values, &errors);
    if own_account {
        form::ask_current_password(&mut controls, &errors);
    }
    render_form(
        &screen,
        edit_page(&name, &id, version),
        status,
        controls,
        errors,
    )
}

/// A refused write as messages on its form, or (when it is not about the
/// submitted values) the error page.
fn form_refusal(
    error: AuthzError,
    singular: &str,
) -> Result<(StatusCode, Vec<FormError>), UiError> {
    let problem = Problem::from(error);
    match form::errors_of(&problem, singular) {
        Some(errors) => Ok((problem.kind.status(), errors)),
        None => Err(UiError::Rejected(problem)),
    }
}

fn new_page(name: &str) -> FormPage<'_> {
    let base = format!("/ui/{}", segment(name));
    FormPage {
        name,
        heading: format!("New {}", singular(name)),
        action: format!("{base}/new"),
        submit: "Create",
        cancel_href: base,
        version: None,
    }
}

/// Refuses a create form to a caller whom the create rule refuses
/// whatever they enter.
fn must_be_able_to_create(screen: &Screen, name: &str) -> Result<(), UiError> {
    screen.resource(name)?;
    if screen.authz().may(name, Act::Create) {
        return Ok(());
    }
    screen.require_user()?;
    Err(UiError::Authz(AuthzError::Forbidden(format!(
        "you may not create a new {}",
        singular(name)
    ))))
}

/// `GET /ui/<resource>/new`.
pub async fn new_form(
    State(app): State<App>,
    caller: Result<Caller, CallerError>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> PageAnswer {
    let screen = Screen::new(app, caller_or_page(caller)?, &headers);
    must_be_able_to_create(&screen, &name)?;
    let resource = screen.resource(&name)?;
    let fields = form::fields(resource, WriteMode::Create, None);
    let controls = form::controls(&fields, WriteMode::Create, &Default::default(), &[]);
    render_form(
        &screen,
        new_page(&name),
        StatusCode::OK,
        controls,
        Vec::new(),
    )
}

/// `POST /ui/<resource>/new`.
pub async fn create(
    State(app): State<App>,
    caller: Result<Caller, CallerError>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> PageAnswer {
    let screen = Screen::new(app, caller_or_page(caller)?, &headers);
    let pairs = form_pairs(&body)?;
    let resource = screen.resource(&name)?;
    let fields = form::fields(resource, WriteMode::Create, None);
    let (status, errors) = match form::body(&fields, WriteMode::Create, &pairs) {
        Err(errors) => (StatusCode::BAD_REQUEST, errors),
        Ok(body) => match screen.authz().create(&name, body).await {
            Ok(item) => {
                let base = format!("/ui/{}", segment(&name));
                let (location, message) = match key_text(item.json.get(&resource.primary_key)) {
                    Some(key) => (
                        format!("{base}/{}", segment(&key)),
                        format!("Created {} {key}.", singular(&name)),
                    ),
                    None => (base, format!("Created a {}.", singular(&name))),
                };
                return Ok(redirect_with(&location, &message));
            }
            Err(error) => form_refusal(error, &singular(&name))?,
        },
    };
    let values = form::values_submitted(&fields, &pairs);
    let controls = form::controls(&fields, WriteMode::Create, &values, &errors);
    render_form(&screen, new_page(&name), status, controls, errors)
}

/// `GET /ui/<resource>/<id>/delete`: the confirmation step.
pub async fn delete_form(
    State(app): State<App>,
    caller: Result<Caller, CallerError>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> PageAnswer {
    let screen = Screen::new(app, caller_or_page(caller)?, &headers);
    let item = screen.authz().read(&name, &id, &[]).await?;
    must_be_allowed(&screen, &name, &id, Act::Delete).await?;
    let resource = screen.resource(&name)?;
    let view = format!("/ui/{}/{}", segment(&name), segment(&id));
    let heading = format!("Delete {} {id}?", singular(&name));
    screen.render(
        "delete.html",
        StatusCode::OK,
        Some(&name),
        context! {
            title => &heading,
            heading,
            fields => shown(resource, &item.json),
            action => format!("{view}/delete"),
            version => item.version,
            cancel_href => view,
        },
    )
}

/// `POST /ui/<resource>/<id>/delete`.
pub async fn delete(
    State(app): State<App>,
    caller: Result<Caller, CallerError>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageAnswer {
    let screen = Screen::new(app, caller_or_page(caller)?, &headers);
    let pairs = form_pairs(&body)?;
    screen
        .authz()
        .delete(&name, &id, submitted_version(&pairs))
        .await?;
    Ok(redirect_with(
        &format!("/ui/{}", segment(&name)),
        &format!("Deleted {} {id}.", singular(&name)),
    ))
}
