//! Runtime values and static types of the rule language. Values are what the
//! evaluator computes and what the SQL compiler binds as parameters.

use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;

/// A value seen by a rule: a field of a row, an attribute of the principal, a
/// literal. Timestamps travel as RFC 3339 text in UTC, fixed width, so that
/// text order is time order in every backend.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Truthiness used wherever a rule needs a decision: only `true` allows.
    pub fn is_true(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// Equality as the rule language defines it: numbers compare by value
    /// across int and float; anything else needs the same variant. Null is
    /// never equal to anything here (the caller handles the null rule).
    pub fn rule_eq(&self, other: &Value) -> bool {
        self.rule_cmp(other) == Some(Ordering::Equal)
    }

    /// Ordering as the rule language defines it; `None` when incomparable
    /// (a null operand, or two different kinds).
    pub fn rule_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
            (Value::Int(a), Value::Float(b)) => cmp_int_float(*a, *b),
            (Value::Float(a), Value::Int(b)) => cmp_int_float(*b, *a).map(Ordering::reverse),
            (Value::Text(a), Value::Text(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// Compares an integer with a float exactly, as SQLite and PostgreSQL do.
fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // 2^63 as f64; every f64 at or beyond it is out of i64's range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let truncated = f.trunc() as i64;
    match i.cmp(&truncated) {
        Ordering::Equal => {
            let frac = f - f.trunc();
            if frac > 0.0 {
                Some(Ordering::Less)
            } else if frac < 0.0 {
                Some(Ordering::Greater)
            } else {
                Some(Ordering::Equal)
            }
        }
        other => Some(other),
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Text(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// The type of a field column in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Bool,
    Integer,
    Float,
    Text,
    Timestamp,
    Json,
}

impl FieldType {
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Bool => "bool",
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Text => "text",
            FieldType::Timestamp => "timestamp",
            FieldType::Json => "json",
        }
    }
}

/// The static type of a rule expression, as the checker infers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    Float,
    Text,
    Timestamp,
    Json,
    /// The `null` literal: compatible with every type in `== null`.
    Null,
    /// A list whose elements have this type (`Null` for the empty list).
    List(Box<Type>),
    /// `user` itself: only comparable with `null`.
    Principal,
}

impl Type {
    pub fn of_field(ty: FieldType) -> Type {
        match ty {
            FieldType::Bool => Type::Bool,
            FieldType::Integer => Type::Int,
            FieldType::Float => Type::Float,
            FieldType::Text => Type::Text,
            FieldType::Timestamp => Type::Timestamp,
            FieldType::Json => Type::Json,
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }

    /// Whether `==`/`!=` between these types is meaningful.
    pub fn comparable_with(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Null, _) | (_, Type::Null) => true,
            (a, b) if a.is_numeric() && b.is_numeric() => true,
            // Timestamps are written as fixed-width RFC 3339 text.
            (Type::Timestamp, Type::Text) | (Type::Text, Type::Timestamp) => true,
            (Type::Json, _) | (_, Type::Json) | (Type::Principal, _) | (_, Type::Principal) => {
                false
            }
            (Type::List(_), _) | (_, Type::List(_)) => false,
            (a, b) => a == b,
        }
    }

    /// Whether `< <= > >=` between these types is meaningful.
    pub fn orderable_with(&self, other: &Type) -> bool {
        match (self, other) {
            (a, b) if a.is_numeric() && b.is_numeric() => true,
            (Type::Text, Type::Text)
            | (Type::Timestamp, Type::Timestamp)
            | (Type::Timestamp, Type::Text)
            | (Type::Text, Type::Timestamp) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("integer"),
            Type::Float => f.write_str("float"),
            Type::Text => f.write_str("text"),
            Type::Timestamp => f.write_str("timestamp"),
            Type::Json => f.write_str("json"),
            Type::Null => f.write_str("null"),
            Type::List(inner) => write!(f, "list of {inner}"),
            Type::Principal => f.write_str("user"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_float_comparison_is_exact() {
        assert_eq!(
            Value::Int(3).rule_cmp(&Value::Float(3.5)),
            Some(Ordering::Less)
        );
        assert_eq!(
            Value::Float(3.0).rule_cmp(&Value::Int(3)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            Value::Int(-3).rule_cmp(&Value::Float(-3.5)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Value::Int(i64::MAX).rule_cmp(&Value::Float(9.3e18)),
            Some(Ordering::Less)
        );
        assert_eq!(Value::Int(1).rule_cmp(&Value::Float(f64::NAN)), None);
    }

    #[test]
    fn null_and_mixed_kinds_are_incomparable() {
        assert_eq!(Value::Null.rule_cmp(&Value::Null), None);
        assert_eq!(Value::Int(1).rule_cmp(&Value::Text("1".into())), None);
        assert!(!Value::Null.rule_eq(&Value::Null));
    }

    #[test]
    fn text_orders_bytewise() {
        assert_eq!(
            Value::from("B").rule_cmp(&Value::from("a")),
            Some(Ordering::Less)
        );
    }
}
