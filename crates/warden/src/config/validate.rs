//! Turns the raw TOML shapes into the validated model, collecting every
//! problem with its span. It must not read files nor compile rules: rule
//! text is kept verbatim with its location for the policy crate.

use super::diagnostic::{Diagnostic, Diagnostics, list, suggestion};
use super::model::*;
use super::raw::*;
use crate::timestamp;
use indexmap::IndexMap;
use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use toml::Spanned;
use warden_policy::value::{FieldType, Value};

const DEFAULT_PAGE_SIZE: u32 = 20;
const DEFAULT_MAX_PAGE_SIZE: u32 = 100;
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);
const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
const DEFAULT_REFRESH_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(3600);
const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
const DEFAULT_LOGIN_LIMIT: LoginLimit = LoginLimit {
    per_account: 5,
    per_address: 20,
    window: Duration::from_secs(15 * 60),
};
const DEFAULT_REGISTRATION_LIMIT: RegistrationLimit = RegistrationLimit {
    per_address: 10,
    window: Duration::from_secs(3600),
};
const DEFAULT_DATABASE_URL: &str = "sqlite://warden.db";
/// The hidden column every table gets for optimistic concurrency (ETags).
pub const VERSION_COLUMN: &str = "_version";
/// Prefix of warden's own tables.
pub const INTERNAL_TABLE_PREFIX: &str = "_warden_";
const VALUE_TYPE_NAMES: [&str; 6] = ["integer", "float", "text", "bool", "timestamp", "json"];

/// Validates `raw`, parsed from `source` (the text of `path`).
pub fn validate(path: &Path, source: &str, raw: RawConfig) -> Result<Config, Vec<Diagnostic>> {
    let index = ResourceIndex::of(&raw);
    let mut validator = Validator {
        path,
        source,
        index,
        users: raw
            .auth
            .as_ref()
            .map(|auth| auth.get_ref().users.get_ref().clone()),
        scopes: raw.auth.as_ref().map(|auth| {
            auth.get_ref()
                .scopes
                .iter()
                .map(|s| s.get_ref().clone())
                .collect()
        }),
        diagnostics: Diagnostics::new(path, source),
    };
    let config = validator.config(raw);
    if validator.diagnostics.is_empty() {
        Ok(config)
    } else {
        Err(validator.diagnostics.into_vec())
    }
}

/// Names and types of every resource's fields, read before validation so
/// that references can be checked in any declaration order.
struct ResourceIndex {
    resources: IndexMap<String, IndexedResource>,
}

struct IndexedResource {
    primary_key: Option<(String, FieldKind)>,
    fields: IndexMap<String, Option<FieldKind>>,
}

impl ResourceIndex {
    fn of(raw: &RawConfig) -> Self {
        let resources = raw
            .resources
            .iter()
            .map(|(name, resource)| {
                let fields: IndexMap<String, Option<FieldKind>> = resource
                    .get_ref()
                    .fields
                    .iter()
                    .map(|(field, def)| {
                        let kind = def
                            .get_ref()
                            .ty
                            .as_ref()
                            .and_then(|ty| FieldKind::parse(ty.get_ref()));
                        (field.get_ref().clone(), kind)
                    })
                    .collect();
                let primary_key = resource
                    .get_ref()
                    .fields
                    .iter()
                    .find(|(_, def)| def.get_ref().primary)
                    .and_then(|(field, _)| {
                        let kind = fields.get(field.get_ref()).copied().flatten()?;
                        Some((field.get_ref().clone(), kind))
                    });
                (
                    name.get_ref().clone(),
                    IndexedResource {
                        primary_key,
                        fields,
                    },
                )
            })
            .collect();
        Self { resources }
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }
}

struct Validator<'a> {
    path: &'a Path,
    source: &'a str,
    index: ResourceIndex,
    /// `[auth] users`, as written.
    users: Option<String>,
    /// `[auth] scopes`, as written (`None` without `[auth]`).
    scopes: Option<Vec<String>>,
    diagnostics: Diagnostics<'a>,
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn value_type(name: &str) -> Option<FieldType> {
    FieldKind::parse(name)
        .filter(|kind| *kind != FieldKind::Password)
        .map(FieldKind::value_type)
}

impl Validator<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.diagnostics.error(span, message);
    }

    /// Checks that `name` can become a SQL identifier.
    fn identifier(&mut self, name: &Spanned<String>, what: &str) {
        if !is_identifier(name.get_ref()) {
            self.error(
                name.span(),
                format!(
                    "{what} name `{}` is not a valid identifier; use lowercase letters, digits and `_`, starting with a letter or `_` (e.g. `{}`)",
                    name.get_ref(),
                    name.get_ref()
                        .to_ascii_lowercase()
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                ),
            );
        }
    }

    fn rule(&self, text: Spanned<String>) -> RuleText {
        let span = text.span();
        let written = self.source.get(span.clone()).unwrap_or_default();
        let quote_len = if written.starts_with("\"\"\"") || written.starts_with("'''") {
            3
        } else {
            1
        };
        let mut offset = span.start + quote_len;
        if quote_len == 3 {
            // A newline right after the opening quotes is not part of the value.
            let rest = self.source.get(offset..).unwrap_or_default();
            offset += if rest.starts_with("\r\n") {
                2
            } else {
                usize::from(rest.starts_with('\n'))
            };
        }
        let between_quotes = written
            .get(quote_len..written.len().saturating_sub(quote_len))
            .unwrap_or_default();
        let exact = quote_len == 1 && between_quotes == text.get_ref();
        RuleText {
            text: text.into_inner(),
            location: RuleLocation {
                file: self.path.to_path_buf(),
                offset,
                exact,
            },
        }
    }

    fn config(&mut self, raw: RawConfig) -> Config {
        let database = match raw.database {
            Some(database) => self.database(database.into_inner()),
            None => DatabaseConfig {
                url: DEFAULT_DATABASE_URL.to_owned(),
            },
        };
        let limits = match raw.limits {
            Some(limits) => self.limits(limits.into_inner()),
            None => Limits::default(),
        };
        let mut resources = NameMap::default();
        let mut tables = HashSet::new();
        for (name, resource) in raw.resources {
            let name_span = name.span();
            let def = self.resource(name, resource);
            if !tables.insert(def.table.clone()) {
                self.error(
                    name_span,
                    format!(
                        "resource {} uses table `{}`, which another resource already uses; give it its own `table`",
                        def.name, def.table
                    ),
                );
            }
            resources.insert(def.name.clone(), def);
        }
        let auth = raw.auth.map(|auth| self.auth(auth, &resources));
        if let Some(login) = auth.as_ref().and_then(|auth| {
            resources
                .get_mut(&auth.users)
                .and_then(|users| users.fields.get_mut(&auth.login))
        }) {
            login.login = true;
        }
        let rules = self.named_rules(raw.rules);
        let functions = raw
            .functions
            .into_iter()
            .map(|(name, function)| {
                let def = self.function(name, function.into_inner());
                (def.name.clone(), def)
            })
            .collect();
        let tests = raw
            .tests
            .into_iter()
            .filter_map(|test| self.test(test))
            .collect();
        Config {
            path: self.path.to_path_buf(),
            source: Arc::from(self.source),
            database,
            auth,
            limits,
            resources,
            rules,
            functions,
            tests,
        }
    }

    fn limits(&mut self, raw: RawLimits) -> Limits {
        let default = Limits::default();
        let rate_limit = raw.rate_limit.map(|limit| {
            let limit = limit.into_inner();
            let per_second = self.count(Some(limit.per_second), "rate_limit.per_second", 1);
            RateLimit {
                per_second,
                burst: self.count(limit.burst, "rate_limit.burst", per_second),
            }
        });
        Limits {
            request_timeout: self.duration(
                raw.request_timeout.as_ref(),
                "request_timeout",
                default.request_timeout,
            ),
            max_body_bytes: self.count(
                raw.max_body_bytes,
                "max_body_bytes",
                default.max_body_bytes,
            ),
            max_in_flight: self.count(raw.max_in_flight, "max_in_flight", default.max_in_flight),
            rate_limit,
            filter: FilterBudget {
                max_bytes: self.count(
                    raw.max_filter_bytes,
                    "max_filter_bytes",
                    default.filter.max_bytes,
                ),
                max_terms: self.count(
                    raw.max_filter_terms,
                    "max_filter_terms",
                    default.filter.max_terms,
                ),
                max_patterns: self.count(
                    raw.max_filter_patterns,
                    "max_filter_patterns",
                    default.filter.max_patterns,
                ),
            },
            max_searches: self.count(raw.max_searches, "max_searches", default.max_searches),
        }
    }

    fn database(&mut self, raw: RawDatabase) -> DatabaseConfig {
        let url = raw.url.get_ref();
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|prefix| url.starts_with(prefix)) {
            self.error(
                raw.url.span(),
                format!(
                    "unsupported database url `{url}`; use `sqlite://FILE` (relative to this file's folder) or `postgres://USER@HOST/DB`"
                ),
            );
        }
        DatabaseConfig {
            url: raw.url.into_inner(),
        }
    }

    fn auth(&mut self, raw: Spanned<RawAuth>, resources: &NameMap<ResourceDef>) -> AuthConfig {
        let raw = raw.into_inner();
        let users = resources.get(raw.users.get_ref());
        match users {
            None => self.error(
                raw.users.span(),
                format!(
                    "[auth] users names `{}`, which is not a resource; declare [resources.{}] or name an existing one{}",
                    raw.users.get_ref(),
                    raw.users.get_ref(),
                    suggestion(raw.users.get_ref(), self.index.names())
                ),
            ),
            Some(users) => {
                match users.field(raw.login.get_ref()) {
                    None => self.error(
                        raw.login.span(),
                        format!(
                            "[auth] login names `{}`, which is not a field of {}{}",
                            raw.login.get_ref(),
                            users.name,
                            suggestion(raw.login.get_ref(), users.fields.keys().map(String::as_str))
                        ),
                    ),
                    Some(login) if login.kind != FieldKind::Text => self.error(
                        raw.login.span(),
                        format!(
                            "[auth] login field {}.{} must be of type text",
                            users.name, login.name
                        ),
                    ),
                    Some(login) if !login.unique && !login.primary => self.error(
                        raw.login.span(),
                        format!(
                            "[auth] login field {}.{} must be `unique = true`: two accounts with one login name could not be told apart",
                            users.name, login.name
                        ),
                    ),
                    Some(_) => {}
                }
                for claim in &raw.user_claims {
                    match users.field(claim.get_ref()) {
                        None => self.error(
                            claim.span(),
                            format!(
                                "user_claims names `{}`, which is not a field of {}{}",
                                claim.get_ref(),
                                users.name,
                                suggestion(claim.get_ref(), users.fields.keys().map(String::as_str))
                            ),
                        ),
                        Some(field) if field.kind == FieldKind::Password => self.error(
                            claim.span(),
                            format!(
                                "user_claims must not copy the password field {}.{} into tokens; remove it",
                                users.name, field.name
                            ),
                        ),
                        Some(_) => {}
                    }
                }
            }
        }
        let token_ttl = self.duration(raw.token_ttl.as_ref(), "token_ttl", DEFAULT_TOKEN_TTL);
        let refresh_ttl =
            self.duration(raw.refresh_ttl.as_ref(), "refresh_ttl", DEFAULT_REFRESH_TTL);
        let refresh_max_age = self.duration(
            raw.refresh_max_age.as_ref(),
            "refresh_max_age",
            DEFAULT_REFRESH_MAX_AGE,
        );
        let session_idle = self.duration(
            raw.session_idle.as_ref(),
            "session_idle",
            DEFAULT_SESSION_IDLE,
        );
        let session_ttl =
            self.duration(raw.session_ttl.as_ref(), "session_ttl", DEFAULT_SESSION_TTL);
        let login_limit = match raw.login_limit {
            None => DEFAULT_LOGIN_LIMIT,
            Some(limit) => {
                let limit = limit.into_inner();
                LoginLimit {
                    per_account: self.count(
                        limit.per_account,
                        "login_limit.per_account",
                        DEFAULT_LOGIN_LIMIT.per_account,
                    ),
                    per_address: self.count(
                        limit.per_address,
                        "login_limit.per_address",
                        DEFAULT_LOGIN_LIMIT.per_address,
                    ),
                    window: self.duration(
                        limit.window.as_ref(),
                        "login_limit.window",
                        DEFAULT_LOGIN_LIMIT.window,
                    ),
                }
            }
        };
        let registration_limit = match raw.registration_limit {
            None => DEFAULT_REGISTRATION_LIMIT,
            Some(limit) => {
                let limit = limit.into_inner();
                RegistrationLimit {
                    per_address: self.count(
                        limit.per_address,
                        "registration_limit.per_address",
                        DEFAULT_REGISTRATION_LIMIT.per_address,
                    ),
                    window: self.duration(
                        limit.window.as_ref(),
                        "registration_limit.window",
                        DEFAULT_REGISTRATION_LIMIT.window,
                    ),
                }
            }
        };
        let scopes: Vec<String> = raw.scopes.iter().map(|s| s.get_ref().clone()).collect();
        for scope in &raw.scopes {
            if scope.get_ref().is_empty() || scope.get_ref().contains(char::is_whitespace) {
                self.error(
                    scope.span(),
                    "a scope is one non-empty word without spaces, e.g. \"posts:write\"",
                );
            }
        }
        let mut roles = NameMap::default();
        for (role, granted) in raw.roles {
            self.identifier(&role, "role");
            for scope in granted.get_ref() {
                if !scopes.is_empty() && !scopes.contains(scope.get_ref()) {
                    self.error(
                        scope.span(),
                        format!(
                            "role {} grants the undeclared scope `{}`; add it to [auth] scopes{}",
                            role.get_ref(),
                            scope.get_ref(),
                            suggestion(scope.get_ref(), scopes.iter().map(String::as_str))
                        ),
                    );
                }
            }
            let granted = granted.into_inner().into_iter().map(Spanned::into_inner);
            roles.insert(role.into_inner(), granted.collect());
        }
        let token_scheme = raw.token_scheme.map(|scheme| {
            let name = scheme.get_ref();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                self.error(
                    scheme.span(),
                    format!("[auth] token_scheme `{name}` must be one word of letters, digits or `-`, e.g. \"Token\""),
                );
            }
            scheme.into_inner()
        });
        AuthConfig {
            users: raw.users.into_inner(),
            login: raw.login.into_inner(),
            token_ttl,
            roles,
            scopes,
            registration: raw.registration,
            user_claims: raw
                .user_claims
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            refresh_ttl,
            refresh_max_age,
            session_idle,
            session_ttl,
            login_limit,
            registration_limit,
            token_scheme,
            trust_proxy_headers: raw.trust_proxy_headers,
            cookie_secure: raw.cookie_secure,
        }
    }

    /// A positive duration such as "30m", or `default` when absent.
    fn duration(
        &mut self,
        raw: Option<&Spanned<String>>,
        what: &str,
        default: Duration,
    ) -> Duration {
        let Some(text) = raw else {
            return default;
        };
        match humantime::parse_duration(text.get_ref()) {
            Ok(duration) if !duration.is_zero() => duration,
            _ => {
                self.error(
                    text.span(),
                    format!(
                        "{what} `{}` is not a duration; write e.g. \"30m\", \"1h\" or \"7days\"",
                        text.get_ref()
                    ),
                );
                default
            }
        }
    }

    /// A positive whole number, or `default` when absent.
    fn count(&mut self, raw: Option<Spanned<i64>>, what: &str, default: u32) -> u32 {
        let Some(number) = raw else {
            return default;
        };
        match u32::try_from(*number.get_ref()) {
            Ok(n) if n >= 1 => n,
            _ => {
                self.error(
                    number.span(),
                    format!("{what} must be a positive whole number"),
                );
                default
            }
        }
    }

    /// `require_scopes.<action> = [...]`: actions must be the five, scopes
    /// must be declared in `[auth] scopes` when that list is given.
    fn require_scopes(&mut self, raw: SpannedMap<Vec<Spanned<String>>>) -> RequiredScopes {
        let mut required = RequiredScopes::default();
        for (action, scopes) in raw {
            let Some(parsed) = Action::parse(action.get_ref()) else {
                self.error(
                    action.span(),
                    format!(
                        "require_scopes.{} is not an action; use list, read, create, update or delete",
                        action.get_ref()
                    ),
                );
                continue;
            };
            let declared = match &self.scopes {
                None => {
                    self.error(
                        action.span(),
                        "require_scopes needs an [auth] section: scopes come from users' grants",
                    );
                    continue;
                }
                Some(declared) => declared.clone(),
            };
            for scope in scopes.into_inner() {
                if scope.get_ref().is_empty() || scope.get_ref().contains(char::is_whitespace) {
                    self.error(
                        scope.span(),
                        "a scope is one non-empty word without spaces, e.g. \"posts:write\"",
                    );
                } else if !declared.is_empty() && !declared.contains(scope.get_ref()) {
                    self.error(
                        scope.span(),
                        format!(
                            "require_scopes names the undeclared scope `{}`; add it to [auth] scopes{}",
                            scope.get_ref(),
                            suggestion(scope.get_ref(), declared.iter().map(String::as_str))
                        ),
                    );
                }
                required.slot(parsed).push(scope.into_inner());
            }
        }
        required
    }

    fn resource(&mut self, name: Spanned<String>, raw: Spanned<RawResource>) -> ResourceDef {
        self.identifier(&name, "resource");
        let resource_span = name.span();
        let name = name.into_inner();
        let raw = raw.into_inner();
        let table = match raw.table {
            Some(table) => {
                self.identifier(&table, "table");
                table.into_inner()
            }
            None => name.clone(),
        };
        if table.starts_with(INTERNAL_TABLE_PREFIX) {
            self.error(
                resource_span.clone(),
                format!(
                    "table `{table}` starts with `{INTERNAL_TABLE_PREFIX}`, which is reserved for warden's own tables; rename it"
                ),
            );
        }

        let mut fields = NameMap::default();
        let mut primary_keys = Vec::new();
        let mut owners = Vec::new();
        for (field_name, field) in raw.fields {
            let span = field_name.span();
            let def = self.field(&name, field_name, field);
            if def.primary {
                primary_keys.push((def.name.clone(), span.clone()));
            }
            if def.owner {
                owners.push(span);
            }
            fields.insert(def.name.clone(), def);
        }
        let primary_key = match primary_keys.as_slice() {
            [] => {
                self.error(
                    resource_span.clone(),
                    format!(
                        "resource {name} has no primary key; mark one field `primary = true`, e.g. fields.id = {{ type = \"integer\", primary = true }}"
                    ),
                );
                String::new()
            }
            [(only, _)] => only.clone(),
            [(first, _), rest @ ..] => {
                for (_, span) in rest {
                    self.error(
                        span.clone(),
                        format!(
                            "resource {name} already has the primary key `{first}`; a resource has exactly one (use `unique = [[...]]` for composite keys)"
                        ),
                    );
                }
                first.clone()
            }
        };
        for span in owners.iter().skip(1) {
            self.error(
                span.clone(),
                format!(
                    "resource {name} has more than one owner field; keep `owner = true` on one"
                ),
            );
        }

        let mut relations = NameMap::default();
        for (relation_name, relation) in raw.relations {
            if fields.contains_key(relation_name.get_ref()) {
                self.error(
                    relation_name.span(),
                    format!(
                        "relation {name}.{} has the name of a field; rename the relation",
                        relation_name.get_ref()
                    ),
                );
            }
            let def = self.relation(&name, &fields, relation_name, relation);
            relations.insert(def.name.clone(), def);
        }

        let mut unique = Vec::new();
        for set in raw.unique {
            if set.get_ref().is_empty() {
                self.error(set.span(), "an empty unique set; list at least one field");
            }
            let mut seen = HashSet::new();
            for field in set.get_ref() {
                if !fields.contains_key(field.get_ref()) {
                    self.error(
                        field.span(),
                        format!(
                            "unique names `{}`, which is not a field of {name}{}",
                            field.get_ref(),
                            suggestion(field.get_ref(), fields.keys().map(String::as_str))
                        ),
                    );
                } else if !seen.insert(field.get_ref().clone()) {
                    self.error(
                        field.span(),
                        format!("`{}` appears twice in this unique set", field.get_ref()),
                    );
                }
            }
            unique.push(
                set.into_inner()
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
            );
        }

        let deny_status = match raw.deny_status {
            None => DenyStatus::NotFound,
            Some(status) => {
                match *status.get_ref() {
                    404 => DenyStatus::NotFound,
                    403 => DenyStatus::Forbidden,
                    other => {
                        self.error(
                        status.span(),
                        format!("deny_status {other} is not supported; use 404 (hide the row) or 403"),
                    );
                        DenyStatus::NotFound
                    }
                }
            }
        };
        let page_size = self.page_size(raw.page_size, DEFAULT_PAGE_SIZE, "page_size");
        let max_page_size = self.page_size(
            raw.max_page_size,
            DEFAULT_MAX_PAGE_SIZE.max(page_size),
            "max_page_size",
        );
        if page_size > max_page_size {
            self.error(
                resource_span.clone(),
                format!(
                    "resource {name}: page_size {page_size} is larger than max_page_size {max_page_size}; lower page_size or raise max_page_size"
                ),
            );
        }
        let readonly_input = match raw.readonly_input {
            None => ReadonlyInput::Reject,
            Some(mode) => match mode.get_ref().as_str() {
                "reject" => ReadonlyInput::Reject,
                "ignore" => ReadonlyInput::Ignore,
                other => {
                    self.error(
                        mode.span(),
                        format!("readonly_input `{other}` is not supported; use \"reject\" or \"ignore\""),
                    );
                    ReadonlyInput::Reject
                }
            },
        };

        let mut rules = ActionRules::default();
        let mut named_rules = NameMap::default();
        for (key, text) in raw.rules {
            match Action::parse(key.get_ref()) {
                Some(action) => *rules.slot(action) = Some(self.rule(text)),
                None => {
                    self.identifier(&key, "rule");
                    named_rules.insert(key.into_inner(), self.rule(text));
                }
            }
        }

        let require_scopes = self.require_scopes(raw.require_scopes);

        ResourceDef {
            name,
            table,
            primary_key,
            fields,
            relations,
            unique,
            deny_status,
            page_size,
            max_page_size,
            readonly_input,
            rules,
            named_rules,
            require_scopes,
        }
    }

    fn page_size(&mut self, raw: Option<Spanned<i64>>, default: u32, what: &str) -> u32 {
        let Some(size) = raw else {
            return default;
        };
        match u32::try_from(*size.get_ref()) {
            Ok(size) if size >= 1 => size,
            _ => {
                self.error(
                    size.span(),
                    format!("{what} must be a positive whole number"),
                );
                default
            }
        }
    }

    fn field(&mut self, resource: &str, name: Spanned<String>, raw: Spanned<RawField>) -> FieldDef {
        self.identifier(&name, "field");
        if name.get_ref() == VERSION_COLUMN {
            self.error(
                name.span(),
                format!("field name `{VERSION_COLUMN}` is reserved for warden's row version; rename the field"),
            );
        }
        let field_span = raw.span();
        let raw = raw.into_inner();
        let path = format!("{resource}.{}", name.get_ref());
        let kind = match &raw.ty {
            None => {
                self.error(
                    field_span.clone(),
                    format!(
                        "field {path} has no type; add `type = \"...\"` with one of {}",
                        list(FieldKind::NAMES)
                    ),
                );
                FieldKind::Text
            }
            Some(ty) => FieldKind::parse(ty.get_ref()).unwrap_or_else(|| {
                self.error(
                    ty.span(),
                    format!(
                        "unknown field type `{}` on {path}; expected one of {}{}",
                        ty.get_ref(),
                        list(FieldKind::NAMES),
                        suggestion(ty.get_ref(), FieldKind::NAMES)
                    ),
                );
                FieldKind::Text
            }),
        };
        if raw.primary && raw.nullable {
            self.error(
                field_span.clone(),
                format!("primary key {path} cannot be nullable; remove `nullable = true`"),
            );
        }
        if raw.primary && !matches!(kind, FieldKind::Integer | FieldKind::Text) {
            self.error(
                field_span.clone(),
                format!("primary key {path} must be of type integer or text"),
            );
        }
        if kind == FieldKind::Password
            && (raw.primary || raw.unique || raw.searchable || raw.default.is_some())
        {
            self.error(
                field_span.clone(),
                format!("password field {path} is write-only and hashed: it cannot be primary, unique, searchable or have a default"),
            );
        }
        let default = raw
            .default
            .and_then(|value| match default_value(kind, value.get_ref()) {
                Ok(default) => Some(default),
                Err(expected) => {
                    self.error(value.span(), format!("default of {path} {expected}"));
                    None
                }
            });
        let owner = raw.owner.as_ref().is_some_and(|owner| *owner.get_ref());
        let references = self.references(
            &path,
            kind,
            &raw.references,
            raw.on_delete.as_ref(),
            raw.nullable,
        );
        if owner {
            let owner_span = raw.owner.as_ref().map_or(field_span.clone(), Spanned::span);
            match (&self.users, &references) {
                (None, _) => self.error(
                    owner_span,
                    format!("owner field {path} needs an [auth] section naming the users resource"),
                ),
                (Some(users), Some(fk)) if &fk.resource == users => {}
                (Some(users), _) => self.error(
                    owner_span,
                    format!("owner field {path} must reference the users resource; add `references = \"{users}\"`"),
                ),
            }
        }
        FieldDef {
            name: name.into_inner(),
            kind,
            primary: raw.primary,
            nullable: raw.nullable,
            unique: raw.unique,
            default,
            hidden: raw.hidden || kind == FieldKind::Password,
            readonly: raw.readonly,
            immutable: raw.immutable,
            owner,
            searchable: raw.searchable,
            references,
            read: raw.read.map(|text| self.rule(text)),
            login: false,
        }
    }

    fn references(
        &mut self,
        path: &str,
        kind: FieldKind,
        target: &Option<Spanned<String>>,
        on_delete: Option<&Spanned<String>>,
        nullable: bool,
    ) -> Option<ForeignKey> {
        let on_delete_rule = match on_delete {
            None => OnDelete::Restrict,
            Some(rule) => match rule.get_ref().as_str() {
                "cascade" => OnDelete::Cascade,
                "restrict" => OnDelete::Restrict,
                "set_null" if nullable => OnDelete::SetNull,
                "set_null" => {
                    self.error(
                        rule.span(),
                        format!("on_delete = \"set_null\" needs {path} to be `nullable = true`"),
                    );
                    OnDelete::Restrict
                }
                other => {
                    self.error(
                        rule.span(),
                        format!("on_delete `{other}` is not supported; use \"cascade\", \"restrict\" or \"set_null\""),
                    );
                    OnDelete::Restrict
                }
            },
        };
        let Some(target) = target else {
            if let Some(rule) = on_delete {
                self.error(
                    rule.span(),
                    format!("on_delete on {path} needs `references = \"<resource>\"`"),
                );
            }
            return None;
        };
        match self.index.resources.get(target.get_ref()) {
            None => self.error(
                target.span(),
                format!(
                    "{path} references `{}`, which is not a resource{}",
                    target.get_ref(),
                    suggestion(target.get_ref(), self.index.names())
                ),
            ),
            Some(indexed) => {
                if let Some((key, key_kind)) = &indexed.primary_key
                    && key_kind.value_type() != kind.value_type()
                {
                    self.error(
                        target.span(),
                        format!(
                            "{path} is {} but references {}.{key}, which is {}; make both the same type",
                            kind.value_type().name(),
                            target.get_ref(),
                            key_kind.value_type().name()
                        ),
                    );
                }
            }
        }
        Some(ForeignKey {
            resource: target.get_ref().clone(),
            on_delete: on_delete_rule,
        })
    }

    fn relation(
        &mut self,
        resource: &str,
        fields: &NameMap<FieldDef>,
        name: Spanned<String>,
        raw: Spanned<RawRelation>,
    ) -> RelationDef {
        self.identifier(&name, "relation");
        let raw = raw.into_inner();
        let path = format!("{resource}.{}", name.get_ref());
        let target = raw.to.get_ref();
        let kind = if raw.many {
            RelationKind::ToMany
        } else {
            RelationKind::ToOne
        };
        match self.index.resources.get(target) {
            None => self.error(
                raw.to.span(),
                format!(
                    "relation {path} points to `{target}`, which is not a resource{}",
                    suggestion(target, self.index.names())
                ),
            ),
            Some(indexed) => {
                let via = raw.via.get_ref();
                let message = match kind {
                    RelationKind::ToOne => {
                        self.to_one_problem(&path, target, indexed, fields.get(via), via)
                    }
                    RelationKind::ToMany => {
                        self.to_many_problem(&path, resource, fields, indexed, via)
                    }
                };
                if let Some(message) = message {
                    self.error(raw.via.span(), message);
                }
            }
        }
        RelationDef {
            name: name.into_inner(),
            target: raw.to.into_inner(),
            kind,
            via: raw.via.into_inner(),
        }
    }

    fn to_one_problem(
        &self,
        path: &str,
        target: &str,
        indexed: &IndexedResource,
        via_field: Option<&FieldDef>,
        via: &str,
    ) -> Option<String> {
        let Some(via_field) = via_field else {
            let hint = if indexed.fields.contains_key(via) {
                format!(
                    "; `{via}` is a field of {target}: add `many = true` for a to-many relation"
                )
            } else {
                String::new()
            };
            return Some(format!(
                "relation {path}: `{via}` is not a field of this resource{hint}"
            ));
        };
        let (key, key_kind) = indexed.primary_key.as_ref()?;
        (key_kind.value_type() != via_field.kind.value_type()).then(|| {
            format!(
                "relation {path}: `{via}` is {} but {target}.{key} is {}; they must have the same type",
                via_field.kind.value_type().name(),
                key_kind.value_type().name()
            )
        })
    }

    fn to_many_problem(
        &self,
        path: &str,
        resource: &str,
        fields: &NameMap<FieldDef>,
        target: &IndexedResource,
        via: &str,
    ) -> Option<String> {
        let Some(via_kind) = target.fields.get(via) else {
            return Some(format!(
                "relation {path} (many = true): `{via}` is not a field of the target{}",
                suggestion(via, target.fields.keys().map(String::as_str))
            ));
        };
        let key = fields.values().find(|field| field.primary)?;
        let via_kind = (*via_kind)?;
        (via_kind.value_type() != key.kind.value_type()).then(|| {
            format!(
                "relation {path}: `{via}` is {} but {resource}.{} is {}; they must have the same type",
                via_kind.value_type().name(),
                key.name,
                key.kind.value_type().name()
            )
        })
    }

    fn named_rules(&mut self, raw: SpannedMap<String>) -> NameMap<RuleText> {
        raw.into_iter()
            .map(|(name, text)| {
                self.identifier(&name, "rule");
                (name.into_inner(), self.rule(text))
            })
            .collect()
    }

    fn function(&mut self, name: Spanned<String>, raw: RawFunction) -> FunctionDef {
        self.identifier(&name, "function");
        let mut sql_type = |ty: &Spanned<String>| {
            value_type(ty.get_ref()).unwrap_or_else(|| {
                self.error(
                    ty.span(),
                    format!(
                        "unknown type `{}` in function {}; expected one of {}",
                        ty.get_ref(),
                        name.get_ref(),
                        list(VALUE_TYPE_NAMES)
                    ),
                );
                FieldType::Text
            })
        };
        let params = raw.params.iter().map(&mut sql_type).collect();
        let returns = sql_type(&raw.returns);
        FunctionDef {
            name: name.into_inner(),
            params,
            returns,
            definition: raw.definition.into_inner(),
        }
    }

    fn test(&mut self, raw: Spanned<RawTest>) -> Option<PolicyTest> {
        let line = super::diagnostic::line_column(self.source, raw.span().start).0;
        let raw = raw.into_inner();
        let principal = match raw.principal.get_ref() {
            toml::Value::String(s) if s == "anonymous" => Some(TestPrincipal::Anonymous),
            toml::Value::Table(table) => Some(TestPrincipal::User(table.clone())),
            _ => {
                self.error(
                    raw.principal.span(),
                    "`as` is either \"anonymous\" or the user's attributes, e.g. as = { id = 23 }",
                );
                None
            }
        };
        let action = Action::parse(raw.action.get_ref());
        if action.is_none() {
            self.error(
                raw.action.span(),
                format!(
                    "unknown action `{}`; expected one of list, read, create, update, delete",
                    raw.action.get_ref()
                ),
            );
        }
        if !self.index.resources.contains_key(raw.resource.get_ref()) {
            self.error(
                raw.resource.span(),
                format!(
                    "test names the resource `{}`, which does not exist{}",
                    raw.resource.get_ref(),
                    suggestion(raw.resource.get_ref(), self.index.names())
                ),
            );
        }
        let expect = match raw.expect.get_ref().as_str() {
            "allow" => Some(Expectation::Allow),
            "deny" => Some(Expectation::Deny),
            other => {
                self.error(
                    raw.expect.span(),
                    format!("expect `{other}`: write \"allow\" or \"deny\""),
                );
                None
            }
        };
        Some(PolicyTest {
            name: raw.name,
            principal: principal?,
            action: action?,
            resource: raw.resource.into_inner(),
            row: raw.row,
            new: raw.new,
            id: raw.id,
            expect: expect?,
            data: raw.data,
            line,
        })
    }
}

/// Type-checks a default against the field type; `Err` says what was expected.
fn default_value(kind: FieldKind, value: &toml::Value) -> Result<DefaultValue, String> {
    use toml::Value as T;
    let literal = |value: Value| Ok(DefaultValue::Literal(value));
    match (kind, value) {
        (FieldKind::Integer, T::Integer(i)) => literal(Value::Int(*i)),
        (FieldKind::Float, T::Float(f)) => literal(Value::Float(*f)),
        (FieldKind::Float, T::Integer(i)) => literal(Value::Float(*i as f64)),
        (FieldKind::Text, T::String(s)) => literal(Value::Text(s.clone())),
        (FieldKind::Bool, T::Boolean(b)) => literal(Value::Bool(*b)),
        (FieldKind::Timestamp, T::String(s)) if s == "now" => Ok(DefaultValue::Now),
        (FieldKind::Timestamp, T::String(s)) => timestamp::normalize(s)
            .map(|text| DefaultValue::Literal(Value::Text(text)))
            .ok_or_else(|| {
                "must be \"now\" or an RFC 3339 time such as \"2026-01-01T00:00:00Z\"".to_owned()
            }),
        (FieldKind::Timestamp, T::Datetime(datetime)) => {
            timestamp::normalize(&datetime.to_string())
                .map(|text| DefaultValue::Literal(Value::Text(text)))
                .ok_or_else(|| "must be a full date-time with offset, or \"now\"".to_owned())
        }
        (FieldKind::Json, value) => serde_json::to_string(value)
            .map(|json| DefaultValue::Literal(Value::Text(json)))
            .map_err(|error| format!("cannot be written as JSON: {error}")),
        (FieldKind::Password, _) => Err("is not allowed: passwords have no default".to_owned()),
        (kind, _) => Err(format!(
            "must be {} {}, found {}",
            if kind == FieldKind::Integer {
                "an"
            } else {
                "a"
            },
            kind.value_type().name(),
            value.type_str()
        )),
    }
}
