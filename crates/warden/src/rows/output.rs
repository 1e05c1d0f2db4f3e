//! A stored row -> its JSON form: hidden and password fields never appear,
//! neither do warden's own columns; fields a per-row rule hides for this
//! caller are left out (the caller of this module decides which).

use crate::config::{FieldKind, ResourceDef, VERSION_COLUMN};
use crate::store::{FLAG_PREFIX, Row};
use serde_json::{Map, Value as Json, json};
use warden_policy::Value;

/// A stored row as rules see it: the resource's fields, without passwords
/// (nor warden's own columns).
pub fn policy_row(resource: &ResourceDef, row: &Row) -> warden_policy::Row {
    row.iter()
        .filter(|(name, _)| {
            resource
                .field(name)
                .is_some_and(|f| f.kind != FieldKind::Password)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Renders `row` in the resource's field order, leaving out fields for
/// which `withheld` is true.
pub fn render(
    resource: &ResourceDef,
    row: &Row,
    withheld: impl Fn(&str) -> bool,
) -> Map<String, Json> {
    let mut object = Map::with_capacity(resource.fields.len());
    for (position, field) in resource.fields.values().enumerate() {
        if field.hidden
            || field.kind == FieldKind::Password
            || field.name.starts_with(FLAG_PREFIX)
            || withheld(&field.name)
        {
            continue;
        }
        // Rows read with `select_all` start with the fields in this order:
        // a comparison finds each, where a lookup would hash its name.
        let value = match row.get_index(position) {
            Some((name, value)) if *name == field.name => Some(value),
            _ => row.get(&field.name),
        };
        if let Some(value) = value {
            object.insert(field.name.clone(), to_json(field.kind, value));
        }
    }
    object
}

/// One value as JSON; json fields are stored as text and parsed back.
pub fn to_json(kind: FieldKind, value: &Value) -> Json {
    match (kind, value) {
        (_, Value::Null) => Json::Null,
        (FieldKind::Json, Value::Text(text)) => serde_json::from_str(text).unwrap_or(Json::Null),
        (_, Value::Bool(b)) => json!(b),
        (_, Value::Int(i)) => json!(i),
        (_, Value::Float(x)) => json!(x),
        (_, Value::Text(s)) => json!(s),
        (_, Value::List(items)) => {
            Json::Array(items.iter().map(|v| to_json(FieldKind::Text, v)).collect())
        }
    }
}

/// The row's version, for `ETag`.
pub fn version(row: &Row) -> Option<i64> {
    match row.get(VERSION_COLUMN) {
        Some(Value::Int(v)) => Some(*v),
        _ => None,
    }
}
