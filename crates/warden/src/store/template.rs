//! Statements rendered once per shape and bound per request. A statement's
//! parameters are the values it binds; its shape is everything else it is
//! built from. Building and rendering a select with sea-query costs more
//! than SQLite running it, so a shape is rendered twice, with two sets of
//! marker parameters, and kept as a template only when the two texts are
//! the same and every bound value is either the same in both (a value of
//! the statement's own) or the marker of one parameter in each. A shape
//! that fails this is remembered as such and rendered per request.

use super::Dialect;
use sea_query::Values;
// foldhash: looked up by resource name on every request.
use foldhash::HashMap;
use std::sync::{Arc, RwLock};
use warden_policy::Value;
use warden_policy::parameters::is_parameter;
use warden_policy::sql::build as render;

/// Shapes kept per bucket (a resource and statement kind); more are
/// rendered per request. Shapes differ by which rule branches a caller
/// specialises away, and by list constants, so a few are usual.
const SHAPES_PER_BUCKET: usize = 64;

/// Which of the two marker sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markers {
    First,
    Second,
}

impl Markers {
    /// The marker standing for parameter `index`, of the same kind as
    /// `like` (a parameter: an int, float or text); `like` itself otherwise.
    pub fn marker(self, index: usize, like: &Value) -> Value {
        let set = match self {
            Markers::First => 1,
            Markers::Second => 2,
        };
        let n = i64::try_from(index).unwrap_or(i64::MAX / 4);
        match like {
            Value::Int(_) => Value::Int(i64::MIN / 2 + set * (1 << 40) + n),
            Value::Float(_) => Value::Float(-1.0e15 - (set * (1 << 20) + n) as f64 - 0.25),
            Value::Text(_) => Value::Text(format!("\u{1}w-marker-{set}-{index}")),
            other => other.clone(),
        }
    }
}

/// How a parameter is bound: as sea-query binds the rule compiler's
/// constants and the store's keys of the same kind.
fn bound(value: &Value) -> Option<sea_query::Value> {
    Some(match value {
        Value::Int(i) => sea_query::Value::BigInt(Some(*i)),
        Value::Float(f) => sea_query::Value::Double(Some(*f)),
        Value::Text(text) => sea_query::Value::String(Some(text.clone())),
        _ => return None,
    })
}

/// One shape's SQL text, and what each of its placeholders binds.
#[derive(Debug)]
pub struct Template {
    sql: Arc<str>,
    slots: Vec<Slot>,
}

#[derive(Debug, Clone, PartialEq)]
enum Slot {
    Parameter(usize),
    Fixed(sea_query::Value),
}

impl Template {
    /// The template of a shape rendered with [`Markers::First`] as `first`
    /// and with [`Markers::Second`] as `second`, for `parameters` of these
    /// kinds; `None` when the two renderings differ in more than markers.
    pub fn derive(
        first: (String, Values),
        second: (String, Values),
        parameters: &[Value],
    ) -> Option<Template> {
        let ((sql, first), (other_sql, second)) = (first, second);
        if sql != other_sql || first.0.len() != second.0.len() {
            return None;
        }
        let markers = |set: Markers| -> Vec<Option<sea_query::Value>> {
            parameters
                .iter()
                .enumerate()
                .map(|(index, like)| bound(&set.marker(index, like)))
                .collect()
        };
        let (firsts, seconds) = (markers(Markers::First), markers(Markers::Second));
        let slots = first
            .0
            .into_iter()
            .zip(second.0)
            .map(|(a, b)| {
                if a == b {
                    return Some(Slot::Fixed(a));
                }
                (0..parameters.len())
                    .find(|&i| firsts[i].as_ref() == Some(&a) && seconds[i].as_ref() == Some(&b))
                    .map(Slot::Parameter)
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Template {
            sql: sql.into(),
            slots,
        })
    }

    /// The text and values for these parameters; `None` when one is
    /// missing or not a parameter.
    pub fn bind(&self, parameters: &[Value]) -> Option<(Arc<str>, Values)> {
        let values = self
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Fixed(value) => Some(value.clone()),
                Slot::Parameter(i) => bound(parameters.get(*i)?),
            })
            .collect::<Option<Vec<_>>>()?;
        Some((self.sql.clone(), Values(values)))
    }
}

/// Shapes of type `S` and their templates (or `None`: not templatable),
/// per bucket.
pub struct Templates<S> {
    buckets: RwLock<HashMap<String, Bucket<S>>>,
}

/// Shapes seen, in the order first seen.
type Bucket<S> = Vec<(S, Option<Arc<Template>>)>;

impl<S> Default for Templates<S> {
    fn default() -> Self {
        Self {
            buckets: RwLock::new(HashMap::default()),
        }
    }
}

impl<S> std::fmt::Debug for Templates<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

/// What [`Templates::find`] knows of a shape.
pub enum Found {
    Template(Arc<Template>),
    /// Seen, and rendered per request.
    Untemplatable,
    Unknown,
}

impl<S: PartialEq> Templates<S> {
    pub fn find(&self, bucket: &str, shape: &S) -> Found {
        let buckets = self.buckets.read().unwrap_or_else(|e| e.into_inner());
        match buckets
            .get(bucket)
            .and_then(|shapes| shapes.iter().find(|(known, _)| known == shape))
        {
            Some((_, Some(template))) => Found::Template(template.clone()),
            Some((_, None)) => Found::Untemplatable,
            None => Found::Unknown,
        }
    }

    /// Keeps what a shape's two renderings gave, while the bucket has room.
    pub fn keep(&self, bucket: &str, shape: S, template: Option<Arc<Template>>) {
        let mut buckets = self.buckets.write().unwrap_or_else(|e| e.into_inner());
        let shapes = buckets.entry(bucket.to_owned()).or_default();
        if shapes.len() < SHAPES_PER_BUCKET && !shapes.iter().any(|(known, _)| *known == shape) {
            shapes.push((shape, template));
        }
    }
}

/// What a statement is built from. `replace_parameters` calls `each`
/// only on parameters ([`is_parameter`]), and always in the same order for
/// one shape.
pub trait Shape: Clone + PartialEq {
    fn replace_parameters(&mut self, each: &mut dyn FnMut(Value) -> Value);
}

/// Replaces `value` by what `each` returns for it, if it is a parameter.
pub fn replace_parameter(value: &mut Value, each: &mut dyn FnMut(Value) -> Value) {
    if is_parameter(value) {
        let taken = std::mem::replace(value, Value::Null);
        *value = each(taken);
    }
}

impl<S: Shape> Templates<S> {
    /// The statement `build` makes of `built_from`, rendered for
    /// `dialect`: bound from its shape's template when it has one.
    pub fn statement<E>(
        &self,
        bucket: &str,
        dialect: Dialect,
        built_from: S,
        build: impl Fn(&S) -> Result<sea_query::SelectStatement, E>,
    ) -> Result<(Arc<str>, Values), E> {
        let mut shape = built_from;
        let mut parameters = Vec::new();
        shape.replace_parameters(&mut |value| {
            let marker = Markers::First.marker(parameters.len(), &value);
            parameters.push(value);
            marker
        });
        let template = match self.find(bucket, &shape) {
            Found::Template(template) => Some(template),
            Found::Untemplatable => None,
            Found::Unknown => {
                let mut second = shape.clone();
                let mut index = 0;
                second.replace_parameters(&mut |value| {
                    index += 1;
                    Markers::Second.marker(index - 1, &value)
                });
                // A shape whose markers do not build (a marker is not a
                // valid timestamp, say) is rendered per request, where the
                // request's own values decide.
                let template = match (build(&shape), build(&second)) {
                    (Ok(first), Ok(second)) => Template::derive(
                        render(&first, dialect),
                        render(&second, dialect),
                        &parameters,
                    )
                    .map(Arc::new),
                    _ => None,
                };
                self.keep(bucket, shape.clone(), template.clone());
                template
            }
        };
        if let Some(bound) = template.and_then(|t| t.bind(&parameters)) {
            return Ok(bound);
        }
        let mut values = parameters.into_iter();
        shape.replace_parameters(&mut |marker| values.next().unwrap_or(marker));
        let (sql, values) = render(&build(&shape)?, dialect);
        Ok((sql.into(), values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::{Expr, ExprTrait, Query};

    fn statement(id: &Value, name: &Value, fixed: i64) -> sea_query::SelectStatement {
        let bind = |v: &Value| Expr::val(bound(v).expect("a parameter"));
        Query::select()
            .column("id")
            .from("t")
            .and_where(Expr::col("id").eq(bind(id)))
            .and_where(Expr::col("n").eq(bind(name)))
            .and_where(Expr::col("k").eq(fixed))
            .and_where(Expr::col("id2").eq(bind(id)))
            .to_owned()
    }

    fn derive_for(parameters: &[Value], fixed: [i64; 2]) -> Option<Template> {
        let rendered = |set: Markers, fixed: i64| {
            let m: Vec<Value> = parameters
                .iter()
                .enumerate()
                .map(|(i, v)| set.marker(i, v))
                .collect();
            render(&statement(&m[0], &m[1], fixed), Dialect::Postgres)
        };
        Template::derive(
            rendered(Markers::First, fixed[0]),
            rendered(Markers::Second, fixed[1]),
            parameters,
        )
    }

    #[test]
    fn a_template_binds_like_the_statement_built_with_the_values() {
        let parameters = [Value::Int(7), Value::Text("ann".into())];
        let template = derive_for(&parameters, [3, 3]).expect("templatable");
        let (sql, values) = template.bind(&parameters).expect("binds");
        let built = render(
            &statement(&parameters[0], &parameters[1], 3),
            Dialect::Postgres,
        );
        assert_eq!((sql.to_string(), values), built);
    }

    #[test]
    fn a_value_that_follows_neither_marker_is_not_templated() {
        let parameters = [Value::Int(7), Value::Text("ann".into())];
        assert!(derive_for(&parameters, [3, 4]).is_none());
    }

    #[test]
    fn binding_refuses_a_missing_or_non_parameter_value() {
        let parameters = [Value::Int(7), Value::Text("ann".into())];
        let template = derive_for(&parameters, [3, 3]).expect("templatable");
        assert!(template.bind(&parameters[..1]).is_none());
        assert!(
            template
                .bind(&[Value::Null, parameters[1].clone()])
                .is_none()
        );
    }

    /// A shape of one value, built into `SELECT id FROM t WHERE n = <value>`
    /// only when `accept` says so.
    #[derive(Debug, Clone, PartialEq)]
    struct Probe(Value);

    impl Shape for Probe {
        fn replace_parameters(&mut self, each: &mut dyn FnMut(Value) -> Value) {
            replace_parameter(&mut self.0, each);
        }
    }

    fn probe_select(
        probe: &Probe,
        accept: impl Fn(&Value) -> bool,
    ) -> Result<sea_query::SelectStatement, &'static str> {
        if !accept(&probe.0) {
            return Err("refused");
        }
        Ok(Query::select()
            .column("id")
            .from("t")
            .and_where(Expr::col("n").eq(Expr::val(bound(&probe.0).ok_or("no value")?)))
            .to_owned())
    }

    #[test]
    fn the_second_caller_of_a_shape_is_bound_from_the_first_callers_template() {
        let templates: Templates<Probe> = Templates::default();
        for name in ["ann", "bob"] {
            let probe = Probe(Value::Text(name.into()));
            let (sql, values) = templates
                .statement("t", Dialect::Sqlite, probe.clone(), |p| {
                    probe_select(p, |_| true)
                })
                .expect("built");
            let direct = render(
                &probe_select(&probe, |_| true).expect("built"),
                Dialect::Sqlite,
            );
            assert_eq!((sql.to_string(), values), direct);
        }
        let shape = Probe(Markers::First.marker(0, &Value::Text(String::new())));
        assert!(matches!(templates.find("t", &shape), Found::Template(_)));
    }

    #[test]
    fn a_shape_whose_markers_do_not_build_is_rendered_per_request() {
        let templates: Templates<Probe> = Templates::default();
        let date = Value::Text("2026-01-01".into());
        let only_dates = |v: &Value| matches!(v, Value::Text(t) if t.starts_with("20"));
        let (_, values) = templates
            .statement("t", Dialect::Sqlite, Probe(date.clone()), |p| {
                probe_select(p, only_dates)
            })
            .expect("built from the request's own value");
        assert_eq!(values.0, vec![bound(&date).expect("a parameter")]);
        let shape = Probe(Markers::First.marker(0, &date));
        assert!(matches!(templates.find("t", &shape), Found::Untemplatable));
    }

    #[test]
    fn known_shapes_are_found_and_buckets_are_capped() {
        let templates: Templates<u32> = Templates::default();
        assert!(matches!(templates.find("posts", &1), Found::Unknown));
        templates.keep("posts", 1, None);
        assert!(matches!(templates.find("posts", &1), Found::Untemplatable));
        assert!(matches!(templates.find("users", &1), Found::Unknown));
        for shape in 0..(SHAPES_PER_BUCKET as u32 + 10) {
            templates.keep("posts", shape, None);
        }
        assert!(matches!(
            templates.find("posts", &(SHAPES_PER_BUCKET as u32 + 5)),
            Found::Unknown
        ));
    }
}
