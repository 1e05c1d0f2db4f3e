//! A JSON request body -> a typed row for one resource: unknown fields,
//! fields the client may not write, type errors and missing required
//! fields are each reported by name. Login names are normalised here.
//! Passwords stay in clear here; the write path hashes them after the rule
//! allowed the write.

use crate::config::{DefaultValue, FieldDef, FieldKind, ReadonlyInput, ResourceDef};
use crate::store::Row;
use crate::timestamp;
use serde_json::Value as Json;
use warden_policy::Value;

/// What kind of write the body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Create,
    /// PATCH: only the given fields change.
    Patch,
    /// PUT: every writable field is given (nullable ones may be left out).
    Put,
}

/// Why a body was refused: the fields in question and what is wrong.
///
/// ```
/// let refused = warden::Error::Input(warden::InputError::Invalid(vec![
///     ("dir".into(), "must be 0 or 1".into()),
/// ]));
/// assert_eq!(refused.status(), 400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the body must be a JSON object")]
    NotAnObject,
    #[error("unknown fields: {}", .0.join(", "))]
    UnknownFields(Vec<String>),
    #[error("these fields cannot be written: {}", .0.join(", "))]
    Readonly(Vec<String>),
    #[error("invalid field values")]
    Invalid(Vec<(String, String)>),
}

/// Checks and converts a body. Returns the fields the client set.
pub fn parse_body(resource: &ResourceDef, body: Json, mode: WriteMode) -> Result<Row, InputError> {
    let Json::Object(object) = body else {
        return Err(InputError::NotAnObject);
    };
    let unknown: Vec<String> = object
        .keys()
        .filter(|k| resource.field(k).is_none())
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(InputError::UnknownFields(unknown));
    }
    let mut row = Row::default();
    let mut readonly = Vec::new();
    let mut invalid = Vec::new();
    for (name, json) in object {
        let Some(field) = resource.field(&name) else {
            continue;
        };
        if !client_writable(field, mode) {
            readonly.push(name);
            continue;
        }
        if json_has_nul(&json) {
            invalid.push((name, "text cannot contain NUL characters".to_owned()));
            continue;
        }
        match convert(field, json) {
            Ok(value) => {
                row.insert(name, value);
            }
            Err(message) => invalid.push((name, message)),
        }
    }
    if !readonly.is_empty() && resource.readonly_input == ReadonlyInput::Reject {
        return Err(InputError::Readonly(readonly));
    }
    if mode != WriteMode::Patch {
        for field in resource.fields.values() {
            let reported = invalid.iter().any(|(name, _)| name == &field.name);
            if client_writable(field, mode) && !row.contains_key(&field.name) && !reported {
                match mode {
                    WriteMode::Put if field.nullable => {
                        row.insert(field.name.clone(), Value::Null);
                    }
                    _ if field.nullable || field.default.is_some() => {}
                    _ => invalid.push((field.name.clone(), "this field is required".to_owned())),
                }
            }
        }
    }
    if !invalid.is_empty() {
        invalid.sort();
        return Err(InputError::Invalid(invalid));
    }
    Ok(row)
}

/// Whether a client may set this field in this kind of write. The owner
/// and the key are always server-set; `immutable` fields only on create.
pub fn client_writable(field: &FieldDef, mode: WriteMode) -> bool {
    if field.readonly || field.owner || field.is_auto_increment() {
        return false;
    }
    if field.primary && mode != WriteMode::Create {
        return false;
    }
    !(field.immutable && mode != WriteMode::Create)
}

fn convert(field: &FieldDef, json: Json) -> Result<Value, String> {
    if json.is_null() {
        return if field.nullable {
            Ok(Value::Null)
        } else {
            Err("cannot be null".to_owned())
        };
    }
    let expected = |what: &str| format!("expected {what}, found {}", json_kind(&json));
    match field.kind {
        FieldKind::Integer => json
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| expected("an integer")),
        FieldKind::Float => json
            .as_f64()
            .filter(|x| x.is_finite())
            .map(Value::Float)
            .ok_or_else(|| expected("a number")),
        FieldKind::Bool => json
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| expected("true or false")),
        FieldKind::Text => match json {
            Json::String(s) if field.login => match crate::login_name::normalize(&s) {
                name if name.is_empty() => Err("a login name cannot be empty".to_owned()),
                name => Ok(Value::Text(name)),
            },
            Json::String(s) => Ok(Value::Text(s)),
            _ => Err(expected("a string")),
        },
        FieldKind::Password => match json {
            Json::String(s) => match crate::password::policy_problem(&s) {
                None => Ok(Value::Text(s)),
                Some(problem) => Err(problem),
            },
            _ => Err(expected("a string")),
        },
        FieldKind::Timestamp => match &json {
            Json::String(s) => timestamp::normalize(s).map(Value::Text).ok_or_else(|| {
                "expected an RFC 3339 timestamp such as 2026-11-21T10:00:00Z".to_owned()
            }),
            _ => Err(expected("an RFC 3339 timestamp string")),
        },
        FieldKind::Json => Ok(Value::Text(json.to_string())),
    }
}

/// PostgreSQL text cannot hold NUL; refuse it everywhere alike.
fn json_has_nul(json: &Json) -> bool {
    match json {
        Json::String(s) => s.contains('\0'),
        Json::Array(items) => items.iter().any(json_has_nul),
        Json::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Fills server-set values into a proposed new row: defaults for fields
/// the client left out, and `now` timestamps.
pub fn apply_defaults(resource: &ResourceDef, row: &mut Row) {
    for field in resource.fields.values() {
        if row.contains_key(&field.name) {
            continue;
        }
        match &field.default {
            Some(DefaultValue::Literal(value)) => {
                row.insert(field.name.clone(), value.clone());
            }
            Some(DefaultValue::Now) => {
                row.insert(field.name.clone(), Value::Text(timestamp::now()));
            }
            None => {}
        }
    }
}
