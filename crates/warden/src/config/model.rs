//! The validated config: resources, fields, relations, auth, rules as text.
//! Everything here has passed validation; this module must not parse TOML
//! nor compile rules (the policy crate does that from [`RuleText`]).

use indexmap::IndexMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use warden_policy::value::{FieldType, Value};

/// A map by name in the config's order.
pub type NameMap<V> = IndexMap<String, V>;

/// The whole config file, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The file's text, for rendering rule errors against it.
    pub source: Arc<str>,
    pub database: DatabaseConfig,
    pub auth: Option<AuthConfig>,
    /// Request limits (`[limits]`), defaults when absent.
    pub limits: Limits,
    pub resources: NameMap<ResourceDef>,
    /// Named rules usable from every resource (`[rules]`).
    pub rules: NameMap<RuleText>,
    /// SQL functions rules may call (PostgreSQL only).
    pub functions: NameMap<FunctionDef>,
    /// Policy test cases (`[[tests]]`), run by `warden test`.
    pub tests: Vec<PolicyTest>,
}

impl Config {
    /// The folder holding the config file; relative paths in it start here.
    pub fn folder(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn resource(&self, name: &str) -> Option<&ResourceDef> {
        self.resources.get(name)
    }

    /// The resource holding accounts, when `[auth]` is configured.
    pub fn users_resource(&self) -> Option<&ResourceDef> {
        self.auth
            .as_ref()
            .and_then(|auth| self.resources.get(&auth.users))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// As written: `sqlite://file.db` (relative to the config's folder) or
    /// `postgres://...`.
    pub url: String,
}

/// What one request, and one client, may consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Whole request, body included; past it the answer is a 503 problem.
    pub request_timeout: Duration,
    /// Largest request body; a larger one is a 413 problem.
    pub max_body_bytes: u32,
    /// Requests served at once; one more is answered 503 at once rather
    /// than queued (load shedding).
    pub max_in_flight: u32,
    /// Requests per client address; `None` (the default) for no limit.
    pub rate_limit: Option<RateLimit>,
    /// How much one list filter (`?filter=`, `?search=`) may ask of the
    /// database; more is a 400 `filter-too-complex` naming the limit.
    pub filter: FilterBudget,
    /// Lists whose filter, search or sort the client chose (each may read
    /// every row of the table) running at once; more wait for a turn,
    /// so such lists never hold every database connection.
    pub max_searches: u32,
}

/// The most a client's list filter may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterBudget {
    /// Length of the `filter` (and of the `search`) parameter, in bytes.
    pub max_bytes: u32,
    /// Nodes of the checked filter: each field, value, operator and list
    /// element counts one.
    pub max_terms: u32,
    /// Text tests (`contains`, `starts_with`, `ends_with`, `icontains`;
    /// a search counts one per searchable field): each is a `LIKE` over
    /// every candidate row.
    pub max_patterns: u32,
}

impl Default for FilterBudget {
    fn default() -> Self {
        Self {
            max_bytes: 2048,
            max_terms: 128,
            max_patterns: 8,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            max_in_flight: 1024,
            rate_limit: None,
            filter: FilterBudget::default(),
            max_searches: 2,
        }
    }
}

/// A token bucket per client address: `burst` requests at once, refilled
/// at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    /// Name of the resource that holds accounts.
    pub users: String,
    /// Its field used as the login name (OAuth2 `username`).
    pub login: String,
    pub token_ttl: Duration,
    /// Role name -> scopes it grants.
    pub roles: NameMap<Vec<String>>,
    /// Declared scopes; empty means "any scope string is accepted".
    pub scopes: Vec<String>,
    /// Whether `POST /auth/register` is open.
    pub registration: bool,
    /// User fields copied into issued tokens.
    pub user_claims: Vec<String>,
    /// Lifetime of a refresh token; each rotation starts a new one.
    pub refresh_ttl: Duration,
    /// A refresh-token family ends this long after its login, however
    /// often it is refreshed.
    pub refresh_max_age: Duration,
    /// A cookie session ends after this long without a request.
    pub session_idle: Duration,
    /// A cookie session ends this long after login, active or not.
    pub session_ttl: Duration,
    pub login_limit: LoginLimit,
    pub registration_limit: RegistrationLimit,
    /// Trust `X-Forwarded-For` / `X-Forwarded-Proto` from a reverse proxy.
    pub trust_proxy_headers: bool,
    /// `Secure` on the session cookie: forced on or off, or (None) only
    /// when the request came over HTTPS as a trusted proxy reports it.
    pub cookie_secure: Option<bool>,
    /// An `Authorization` scheme accepted beside `Bearer` for access
    /// tokens (e.g. `Token`, as RealWorld clients send).
    pub token_scheme: Option<String>,
}

/// How many login attempts may start per account and per client address
/// in a window before 429 (`auth::limit` says how the window refills).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimit {
    pub per_account: u32,
    pub per_address: u32,
    pub window: Duration,
}

/// How many registrations may start per client address in a window
/// before 429, refilled like [`LoginLimit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationLimit {
    pub per_address: u32,
    pub window: Duration,
}

/// Scopes a caller's credential must carry per action, checked before
/// any row is read; empty means none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequiredScopes {
    pub list: Vec<String>,
    pub read: Vec<String>,
    pub create: Vec<String>,
    pub update: Vec<String>,
    pub delete: Vec<String>,
}

impl RequiredScopes {
    pub fn get(&self, action: Action) -> &[String] {
        match action {
            Action::List => &self.list,
            Action::Read => &self.read,
            Action::Create => &self.create,
            Action::Update => &self.update,
            Action::Delete => &self.delete,
        }
    }

    pub(crate) fn slot(&mut self, action: Action) -> &mut Vec<String> {
        match action {
            Action::List => &mut self.list,
            Action::Read => &mut self.read,
            Action::Create => &mut self.create,
            Action::Update => &mut self.update,
            Action::Delete => &mut self.delete,
        }
    }
}

/// One resource: one table.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDef {
    pub name: String,
    pub table: String,
    /// Name of the primary-key field.
    pub primary_key: String,
    /// In declaration order (the column order of a new table).
    pub fields: NameMap<FieldDef>,
    pub relations: NameMap<RelationDef>,
    /// Composite unique constraints (single-field ones are `FieldDef::unique`).
    pub unique: Vec<Vec<String>>,
    pub deny_status: DenyStatus,
    pub page_size: u32,
    pub max_page_size: u32,
    pub readonly_input: ReadonlyInput,
    pub rules: ActionRules,
    /// Rules usable by bare name in this resource's rules.
    pub named_rules: NameMap<RuleText>,
    /// `require_scopes.<action>`: scopes needed before any rule runs.
    pub require_scopes: RequiredScopes,
}

impl ResourceDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.get(name)
    }

    pub fn primary_field(&self) -> &FieldDef {
        // Validation guarantees the primary key names one of the fields.
        &self.fields[&self.primary_key]
    }

    /// The field set from the principal's id on create, if any.
    pub fn owner_field(&self) -> Option<&FieldDef> {
        self.fields.values().find(|field| field.owner)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    pub name: String,
    pub kind: FieldKind,
    pub primary: bool,
    pub nullable: bool,
    pub unique: bool,
    pub default: Option<DefaultValue>,
    pub hidden: bool,
    pub readonly: bool,
    pub immutable: bool,
    pub owner: bool,
    pub searchable: bool,
    pub references: Option<ForeignKey>,
    /// Per-row read rule for this field.
    pub read: Option<RuleText>,
    /// The users resource's login field (`[auth] login`): every value
    /// written to it is normalised (`crate::login_name`).
    pub login: bool,
}

impl FieldDef {
    /// Integer primary keys are assigned by the database.
    pub fn is_auto_increment(&self) -> bool {
        self.primary && self.kind == FieldKind::Integer
    }
}

/// A field's declared type. `Password` is write-only text stored as an
/// argon2id PHC string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Integer,
    Float,
    Text,
    Bool,
    Timestamp,
    Json,
    Password,
}

impl FieldKind {
    pub const NAMES: [&'static str; 7] = [
        "integer",
        "float",
        "text",
        "bool",
        "timestamp",
        "json",
        "password",
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "integer" => Self::Integer,
            "float" => Self::Float,
            "text" => Self::Text,
            "bool" => Self::Bool,
            "timestamp" => Self::Timestamp,
            "json" => Self::Json,
            "password" => Self::Password,
            _ => return None,
        })
    }

    /// The type of the stored column, as rules and the store see it.
    pub fn value_type(self) -> FieldType {
        match self {
            Self::Integer => FieldType::Integer,
            Self::Float => FieldType::Float,
            Self::Text | Self::Password => FieldType::Text,
            Self::Bool => FieldType::Bool,
            Self::Timestamp => FieldType::Timestamp,
            Self::Json => FieldType::Json,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// A constant; timestamps are normalized fixed-width RFC 3339 UTC text,
    /// json values are their JSON text.
    Literal(Value),
    /// `default = "now"` on a timestamp: the time of the insert.
    Now,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The referenced resource; the column points at its primary key.
    pub resource: String,
    pub on_delete: OnDelete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    Cascade,
    Restrict,
    SetNull,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationDef {
    pub name: String,
    pub target: String,
    pub kind: RelationKind,
    /// To-one: the field of this resource holding the target's key.
    /// To-many: the field of the target holding this resource's key.
    pub via: String,
}

pub use warden_policy::schema::RelationKind;

/// Status for "exists but you may not see it".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyStatus {
    NotFound,
    Forbidden,
}

impl DenyStatus {
    pub fn code(self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Forbidden => 403,
        }
    }
}

/// What to do with readonly/immutable fields in a write body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadonlyInput {
    /// 400 naming the fields.
    Reject,
    /// Drop them silently (seed 001's employees update).
    Ignore,
}

/// One rule per action; a missing rule denies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionRules {
    pub list: Option<RuleText>,
    pub read: Option<RuleText>,
    pub create: Option<RuleText>,
    pub update: Option<RuleText>,
    pub delete: Option<RuleText>,
}

impl ActionRules {
    pub fn get(&self, action: Action) -> Option<&RuleText> {
        match action {
            Action::List => self.list.as_ref(),
            Action::Read => self.read.as_ref(),
            Action::Create => self.create.as_ref(),
            Action::Update => self.update.as_ref(),
            Action::Delete => self.delete.as_ref(),
        }
    }

    pub(crate) fn slot(&mut self, action: Action) -> &mut Option<RuleText> {
        match action {
            Action::List => &mut self.list,
            Action::Read => &mut self.read,
            Action::Create => &mut self.create,
            Action::Update => &mut self.update,
            Action::Delete => &mut self.delete,
        }
    }
}

pub use warden_policy::Action;

/// A rule as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleText {
    pub text: String,
    pub location: RuleLocation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLocation {
    pub file: PathBuf,
    /// Byte offset in the file of the string value's first character.
    pub offset: usize,
    /// True when the TOML string was a one-line basic or literal string
    /// without escapes, so offset + i in the rule is offset + i in the file.
    pub exact: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef {
    pub name: String,
    pub params: Vec<FieldType>,
    pub returns: FieldType,
    /// `CREATE OR REPLACE FUNCTION ...`, run by migrations on PostgreSQL.
    pub definition: String,
}

/// A `[[tests]]` case: a principal, an action on a resource, and the
/// expected decision.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTest {
    pub name: Option<String>,
    pub principal: TestPrincipal,
    pub action: Action,
    pub resource: String,
    pub row: toml::Table,
    pub new: Option<toml::Table>,
    pub id: Option<toml::Value>,
    pub expect: Expectation,
    /// Rows of other resources, by resource name, for `exists` and
    /// relation paths.
    pub data: toml::Table,
    /// 1-based line of the case in the config, for reports.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TestPrincipal {
    Anonymous,
    /// The user's attributes as given (`{ id = 23, is_superuser = true }`).
    User(toml::Table),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    Allow,
    Deny,
}
