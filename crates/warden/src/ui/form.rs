//! HTML forms and the JSON bodies `Authz` takes: which fields a create or
//! an edit form shows, their controls filled from an item or from what was
//! submitted, and submitted strings turned into typed JSON (with a message
//! per field when a string is not of its field's type). It must not
//! decide access, nor repeat the checks `rows::input` makes on the body.

use crate::authz::CURRENT_PASSWORD;
use crate::config::{FieldDef, FieldKind, ResourceDef};
use crate::problem::{Kind, Problem};
use crate::rows::input::{WriteMode, client_writable};
use serde::Serialize;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

/// One form control, ready for the template.
#[derive(Debug, Serialize)]
pub struct Control {
    name: String,
    label: String,
    input: &'static str,
    value: String,
    checked: bool,
    required: bool,
    step: &'static str,
    autocomplete: Option<&'static str>,
    hint: Option<&'static str>,
    error: Option<String>,
}

/// A message for the top of a form, and beside its field when it has one.
#[derive(Debug, Clone, Serialize)]
pub struct FormError {
    pub field: Option<String>,
    pub label: String,
    pub message: String,
}

/// "first_name" -> "First name".
pub fn label(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The fields a form shows. A create form shows every field a client may
/// set; an edit form those the caller sees on this row (`item`, as the
/// read answered it) and passwords, which are never shown, only replaced.
pub fn fields<'r>(
    resource: &'r ResourceDef,
    mode: WriteMode,
    item: Option<&Map<String, Json>>,
) -> Vec<&'r FieldDef> {
    resource
        .fields
        .values()
        .filter(|field| client_writable(field, mode))
        .filter(|field| {
            mode == WriteMode::Create
                || field.kind == FieldKind::Password
                || item.is_some_and(|item| item.contains_key(&field.name))
        })
        .collect()
}

/// An item's values as the strings a form shows.
pub fn values_of(item: &Map<String, Json>) -> HashMap<String, String> {
    item.iter()
        .map(|(name, json)| {
            let text = match json {
                Json::Null => String::new(),
                Json::String(s) => s.clone(),
                Json::Bool(b) => b.to_string(),
                Json::Number(n) => n.to_string(),
                other => serde_json::to_string_pretty(other).unwrap_or_default(),
            };
            (name.clone(), text)
        })
        .collect()
}

/// What was submitted, as the strings to show again (never passwords).
pub fn values_submitted(
    fields: &[&FieldDef],
    submitted: &[(String, String)],
) -> HashMap<String, String> {
    fields
        .iter()
        .filter(|field| field.kind != FieldKind::Password)
        .filter_map(|field| {
            let value = submitted.iter().find(|(name, _)| *name == field.name)?;
            Some((field.name.clone(), value.1.clone()))
        })
        .collect()
}

/// The controls of a form.
pub fn controls(
    fields: &[&FieldDef],
    mode: WriteMode,
    values: &HashMap<String, String>,
    errors: &[FormError],
) -> Vec<Control> {
    fields
        .iter()
        .map(|field| {
            let value = values.get(&field.name).cloned().unwrap_or_default();
            let (input, step) = match field.kind {
                FieldKind::Integer => ("number", "1"),
                FieldKind::Float => ("number", "any"),
                FieldKind::Bool => ("checkbox", ""),
                FieldKind::Password => ("password", ""),
                FieldKind::Json => ("textarea", ""),
                FieldKind::Text if field.name.ends_with("email") => ("email", ""),
                FieldKind::Text | FieldKind::Timestamp => ("text", ""),
            };
            let hint = match field.kind {
                FieldKind::Password if mode != WriteMode::Create => {
                    Some("Leave empty to keep the current password.")
                }
                FieldKind::Timestamp => Some("RFC 3339, for example 2026-11-21T10:00:00Z."),
                FieldKind::Json => Some("A JSON value."),
                _ => None,
            };
            Control {
                name: field.name.clone(),
                label: label(&field.name),
                input,
                checked: field.kind == FieldKind::Bool && value == "true",
                value: if field.kind == FieldKind::Password {
                    String::new()
                } else {
                    value
                },
                required: mode == WriteMode::Create
                    && !field.nullable
                    && field.default.is_none()
                    && field.kind != FieldKind::Bool,
                step,
                autocomplete: match field.kind {
                    FieldKind::Password => Some("new-password"),
                    _ if field.name.ends_with("email") => Some("email"),
                    _ => None,
                },
                hint,
                error: errors
                    .iter()
                    .filter(|e| e.field.as_deref() == Some(field.name.as_str()))
                    .map(|e| e.message.clone())
                    .reduce(|a, b| format!("{a}; {b}")),
            }
        })
        .collect()
}

/// Submitted strings -> the JSON body `Authz` takes. An empty control
/// leaves its field out on create (so defaults and "required" apply) and
/// out for passwords on edit (kept); on edit it clears a nullable field
/// and is an error for others. A checkbox not sent is false.
pub fn body(
    fields: &[&FieldDef],
    mode: WriteMode,
    submitted: &[(String, String)],
) -> Result<Json, Vec<FormError>> {
    let mut object = Map::new();
    let mut errors = Vec::new();
    for field in fields {
        let sent = submitted
            .iter()
            .find(|(name, _)| *name == field.name)
            .map(|(_, value)| value.as_str());
        if field.kind == FieldKind::Bool {
            let on = sent.is_some_and(|v| matches!(v, "true" | "on" | "1" | "yes"));
            object.insert(field.name.clone(), Json::Bool(on));
            continue;
        }
        let text = sent.unwrap_or("");
        if text.trim().is_empty() {
            if mode == WriteMode::Create || field.kind == FieldKind::Password {
                continue;
            }
            if field.nullable {
                object.insert(field.name.clone(), Json::Null);
            } else {
                errors.push(error_at(field, "this field is required"));
            }
            continue;
        }
        let value = match field.kind {
            FieldKind::Integer => text
                .trim()
                .parse::<i64>()
                .map(Json::from)
                .map_err(|_| "enter a whole number"),
            FieldKind::Float => text
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Json::Number)
                .ok_or("enter a number"),
            FieldKind::Json => serde_json::from_str(text).map_err(|_| "enter a JSON value"),
            FieldKind::Timestamp => Ok(Json::String(text.trim().to_owned())),
            FieldKind::Text | FieldKind::Password | FieldKind::Bool => {
                Ok(Json::String(text.to_owned()))
            }
        };
        match value {
            Ok(value) => {
                object.insert(field.name.clone(), value);
            }
            Err(message) => errors.push(error_at(field, message)),
        }
    }
    if errors.is_empty() {
        Ok(Json::Object(object))
    } else {
        Err(errors)
    }
}

/// The control asking for the current password, on a form that edits the
/// caller's own account: changing the password there needs it
/// (`authz::password_change`). Placed right after the password control.
pub fn ask_current_password(controls: &mut Vec<Control>, errors: &[FormError]) {
    let after = controls
        .iter()
        .position(|control| control.input == "password")
        .map_or(controls.len(), |at| at + 1);
    controls.insert(
        after,
        Control {
            name: CURRENT_PASSWORD.to_owned(),
            label: label(CURRENT_PASSWORD),
            input: "password",
            value: String::new(),
            checked: false,
            required: false,
            step: "",
            autocomplete: Some("current-password"),
            hint: Some("Needed only to change your password."),
            error: errors
                .iter()
                .filter(|e| e.field.as_deref() == Some(CURRENT_PASSWORD))
                .map(|e| e.message.clone())
                .reduce(|a, b| format!("{a}; {b}")),
        },
    );
}

/// Adds the current password typed on such a form to its body (left out
/// when empty, so other changes need none).
pub fn add_current_password(body: &mut Json, submitted: &[(String, String)]) {
    let typed = submitted
        .iter()
        .find(|(name, value)| name == CURRENT_PASSWORD && !value.is_empty());
    if let (Json::Object(object), Some((_, value))) = (body, typed) {
        object.insert(CURRENT_PASSWORD.to_owned(), Json::String(value.clone()));
    }
}

fn error_at(field: &FieldDef, message: &str) -> FormError {
    FormError {
        field: Some(field.name.clone()),
        label: label(&field.name),
        message: message.to_owned(),
    }
}

/// The messages a refused write shows on its form, read from the API's
/// own problem for it: per field for invalid values and taken unique
/// values, at the top for the rest. `None` for problems that are not
/// about the submitted values (they get an error page).
pub fn errors_of(problem: &Problem, singular: &str) -> Option<Vec<FormError>> {
    let general = || {
        vec![FormError {
            field: None,
            label: String::new(),
            message: problem.detail.clone(),
        }]
    };
    let named = |key: &str| -> Vec<Json> {
        problem
            .extra
            .get(key)
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default()
    };
    match problem.kind {
        Kind::Validation => {
            let errors: Vec<FormError> = named("errors")
                .iter()
                .filter_map(|e| {
                    let field = e.get("field")?.as_str()?;
                    Some(FormError {
                        field: Some(field.to_owned()),
                        label: label(field),
                        message: e.get("message")?.as_str()?.to_owned(),
                    })
                })
                .collect();
            Some(if errors.is_empty() { general() } else { errors })
        }
        Kind::Conflict => {
            let errors: Vec<FormError> = named("fields")
                .iter()
                .filter_map(Json::as_str)
                .map(|field| FormError {
                    field: Some(field.to_owned()),
                    label: label(field),
                    message: format!(
                        "already taken: another {singular} has this {}",
                        label(field).to_lowercase()
                    ),
                })
                .collect();
            Some(if errors.is_empty() { general() } else { errors })
        }
        Kind::PreconditionFailed => Some(vec![FormError {
            field: None,
            label: String::new(),
            message: format!(
                "Someone changed this {singular} after you opened it. Reload the page to see the changes, then try again."
            ),
        }]),
        Kind::UnknownFields
        | Kind::ReadonlyFields
        | Kind::MalformedBody
        | Kind::InvalidReference => Some(general()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: FieldKind, nullable: bool) -> FieldDef {
        FieldDef {
            name: name.to_owned(),
            kind,
            primary: false,
            nullable,
            unique: false,
            default: None,
            hidden: false,
            readonly: false,
            immutable: false,
            owner: false,
            searchable: false,
            references: None,
            read: None,
            login: false,
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn strings_become_typed_json() {
        let age = field("age", FieldKind::Integer, false);
        let ok = field("ok", FieldKind::Bool, false);
        let note = field("note", FieldKind::Text, true);
        let fields = [&age, &ok, &note];
        let body = body(
            &fields,
            WriteMode::Patch,
            &pairs(&[("age", " 42 "), ("note", "")]),
        );
        assert_eq!(
            body.ok(),
            Some(serde_json::json!({"age": 42, "ok": false, "note": null}))
        );
    }

    #[test]
    fn a_bad_number_is_reported_on_its_field() {
        let age = field("age", FieldKind::Integer, false);
        let errors = body(&[&age], WriteMode::Create, &pairs(&[("age", "forty")]))
            .err()
            .unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field.as_deref(), Some("age"));
    }

    #[test]
    fn empty_controls_are_left_out_on_create_and_required_on_edit() {
        let name = field("name", FieldKind::Text, false);
        let secret = field("password", FieldKind::Password, false);
        let fields = [&name, &secret];
        let empty = pairs(&[("name", ""), ("password", "")]);
        assert_eq!(
            body(&fields, WriteMode::Create, &empty).ok(),
            Some(serde_json::json!({}))
        );
        let errors = body(&fields, WriteMode::Patch, &empty)
            .err()
            .unwrap_or_default();
        assert_eq!(
            errors.len(),
            1,
            "only the name: a password left empty is kept"
        );
    }

    #[test]
    fn passwords_are_never_shown_again() {
        let secret = field("password", FieldKind::Password, false);
        let values = values_submitted(&[&secret], &pairs(&[("password", "hunter22")]));
        assert!(values.is_empty());
    }

    #[test]
    fn labels_read_like_words() {
        assert_eq!(label("first_name"), "First name");
        assert_eq!(label(""), "");
    }
}
