//! The TOML file as written: serde shapes that keep every span. This module
//! only mirrors the syntax; it must not interpret or check values
//! (`validate.rs` turns these shapes into the model and reports problems).

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

pub type SpannedMap<T> = IndexMap<Spanned<String>, Spanned<T>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub database: Option<Spanned<RawDatabase>>,
    pub auth: Option<Spanned<RawAuth>>,
    pub limits: Option<Spanned<RawLimits>>,
    #[serde(default)]
    pub resources: SpannedMap<RawResource>,
    #[serde(default)]
    pub rules: SpannedMap<String>,
    #[serde(default)]
    pub functions: SpannedMap<RawFunction>,
    #[serde(default)]
    pub tests: Vec<Spanned<RawTest>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub url: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    pub users: Spanned<String>,
    pub login: Spanned<String>,
    pub token_ttl: Option<Spanned<String>>,
    #[serde(default)]
    pub roles: SpannedMap<Vec<Spanned<String>>>,
    #[serde(default)]
    pub scopes: Vec<Spanned<String>>,
    #[serde(default)]
    pub registration: bool,
    #[serde(default)]
    pub user_claims: Vec<Spanned<String>>,
    pub refresh_ttl: Option<Spanned<String>>,
    pub refresh_max_age: Option<Spanned<String>>,
    pub session_idle: Option<Spanned<String>>,
    pub session_ttl: Option<Spanned<String>>,
    pub login_limit: Option<Spanned<RawLoginLimit>>,
    pub registration_limit: Option<Spanned<RawRegistrationLimit>>,
    #[serde(default)]
    pub trust_proxy_headers: bool,
    pub cookie_secure: Option<bool>,
    pub token_scheme: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoginLimit {
    pub per_account: Option<Spanned<i64>>,
    pub per_address: Option<Spanned<i64>>,
    pub window: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegistrationLimit {
    pub per_address: Option<Spanned<i64>>,
    pub window: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub request_timeout: Option<Spanned<String>>,
    pub max_body_bytes: Option<Spanned<i64>>,
    pub max_in_flight: Option<Spanned<i64>>,
    pub rate_limit: Option<Spanned<RawRateLimit>>,
    pub max_filter_bytes: Option<Spanned<i64>>,
    pub max_filter_terms: Option<Spanned<i64>>,
    pub max_filter_patterns: Option<Spanned<i64>>,
    pub max_searches: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub per_second: Spanned<i64>,
    pub burst: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResource {
    pub table: Option<Spanned<String>>,
    #[serde(default)]
    pub fields: SpannedMap<RawField>,
    #[serde(default)]
    pub relations: SpannedMap<RawRelation>,
    #[serde(default)]
    pub unique: Vec<Spanned<Vec<Spanned<String>>>>,
    pub deny_status: Option<Spanned<i64>>,
    pub page_size: Option<Spanned<i64>>,
    pub max_page_size: Option<Spanned<i64>>,
    pub readonly_input: Option<Spanned<String>>,
    #[serde(default)]
    pub rules: SpannedMap<String>,
    #[serde(default)]
    pub require_scopes: SpannedMap<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawField {
    #[serde(rename = "type")]
    pub ty: Option<Spanned<String>>,
    #[serde(default)]
    pub primary: bool,
    #[serde(default)]
    pub nullable: bool,
    #[serde(default)]
    pub unique: bool,
    pub default: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub readonly: bool,
    #[serde(default)]
    pub immutable: bool,
    #[serde(default)]
    pub owner: Option<Spanned<bool>>,
    #[serde(default)]
    pub searchable: bool,
    pub references: Option<Spanned<String>>,
    pub on_delete: Option<Spanned<String>>,
    pub read: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelation {
    pub to: Spanned<String>,
    pub via: Spanned<String>,
    #[serde(default)]
    pub many: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFunction {
    pub params: Vec<Spanned<String>>,
    pub returns: Spanned<String>,
    pub definition: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTest {
    pub name: Option<String>,
    #[serde(rename = "as")]
    pub principal: Spanned<toml::Value>,
    pub action: Spanned<String>,
    pub resource: Spanned<String>,
    #[serde(default)]
    pub row: toml::Table,
    pub new: Option<toml::Table>,
    pub id: Option<toml::Value>,
    pub expect: Spanned<String>,
    /// Rows of other resources the rule may reach (`exists`, relations).
    #[serde(default)]
    pub data: toml::Table,
}
