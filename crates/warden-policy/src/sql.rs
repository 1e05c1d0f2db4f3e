//! Checked (and usually specialised) rule -> SQL predicate, built with
//! sea-query so every value is a bound parameter. Keeps the evaluator's
//! two-valued logic: wherever SQL's NULL could flip a `NOT`, the operand is
//! wrapped in `IS TRUE`; in plain positive positions it is left bare so
//! indexes stay usable.

use crate::ir::{CompareOp, FieldRef, Node, NodeKind, Start, TextOp};
use crate::partial::Residual;
use crate::value::{Type, Value};
use sea_query::{
    Expr, ExprTrait, Func, PostgresQueryBuilder, Query, SelectStatement, SqliteQueryBuilder,
    SubQueryStatement, Values,
};
use std::cell::Cell;

/// The SQL flavour to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Why a residual cannot become SQL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    #[error("`{0}` must be known before compiling to SQL; specialise the rule first")]
    Unbound(&'static str),
    #[error("a list value cannot be bound as one SQL parameter")]
    ListValue,
}

/// How `row` is named in the surrounding query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlTarget {
    pub dialect: Dialect,
    /// Table name or alias of the rows being filtered.
    pub row: String,
    /// Table name or alias `new.<field>` reads, when the proposal is a row
    /// of the query rather than known values (row-level security checks).
    pub new: Option<String>,
    /// Where `user` comes from when it was not specialised away.
    pub principal: PrincipalSql,
    /// Whether `exists(t where it.f == row.col && ...)` may become
    /// `row.col IN (SELECT f FROM t ...)`: right for filtering many rows
    /// (the planner starts from the index on `t`), wrong for one row
    /// looked up by key (SQLite then materialises the whole subquery
    /// instead of one index probe). On by default.
    pub semi_join: bool,
}

/// How an unspecialised `user` reaches SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSql {
    /// It must have been specialised away (every request of the API).
    Specialised,
    /// From session settings, for PostgreSQL row-level security: the id in
    /// `warden.user_id`, scopes and roles space-separated in
    /// `warden.scopes` / `warden.roles`, and each other attribute through a
    /// function `<prefix><attr>()` the caller defines (security definer, so
    /// reading the users table is not itself subject to its policies).
    Session {
        id_type: &'static str,
        function_prefix: String,
    },
}

impl SqlTarget {
    pub fn new(dialect: Dialect, row: impl Into<String>) -> Self {
        Self {
            dialect,
            row: row.into(),
            new: None,
            principal: PrincipalSql::Specialised,
            semi_join: true,
        }
    }

    /// The same target, compiling `exists` as a correlated probe.
    pub fn correlated(&self) -> Self {
        Self {
            semi_join: false,
            ..self.clone()
        }
    }
}

/// The session setting holding the caller's id under row-level security.
pub const SESSION_USER_ID: &str = "warden.user_id";

impl Residual {
    /// The predicate as a sea-query expression, for `and_where`.
    pub fn to_sql(&self, target: &SqlTarget) -> Result<Expr, SqlError> {
        match self {
            Residual::Always(b) => Ok(boolean(*b)),
            Residual::Predicate(node) => Compiler::new(target).condition(node, false),
        }
    }

    /// The predicate as text with values written inline, for DDL that
    /// cannot take parameters (row-level security policies generated from
    /// the config's own rules; never for request data).
    pub fn to_sql_inline(&self, target: &SqlTarget) -> Result<String, SqlError> {
        let expr = self.to_sql(target)?;
        let select = Query::select().expr(expr).to_owned();
        let sql = match target.dialect {
            Dialect::Sqlite => select.to_string(SqliteQueryBuilder),
            Dialect::Postgres => select.to_string(PostgresQueryBuilder),
        };
        Ok(sql.strip_prefix("SELECT ").unwrap_or(&sql).to_owned())
    }

    /// The predicate as text plus its parameters, for logs, `explain` and
    /// tests. Queries should use [`Residual::to_sql`] instead.
    pub fn to_sql_string(&self, target: &SqlTarget) -> Result<(String, Values), SqlError> {
        let expr = self.to_sql(target)?;
        let select = Query::select().expr(expr).to_owned();
        let (sql, values) = build(&select, target.dialect);
        Ok((
            sql.strip_prefix("SELECT ").unwrap_or(&sql).to_owned(),
            values,
        ))
    }
}

/// Renders a statement for a dialect.
pub fn build(select: &SelectStatement, dialect: Dialect) -> (String, Values) {
    match dialect {
        Dialect::Sqlite => select.build(SqliteQueryBuilder),
        Dialect::Postgres => select.build(PostgresQueryBuilder),
    }
}

fn boolean(b: bool) -> Expr {
    Expr::cust(if b { "TRUE" } else { "FALSE" })
}

/// `template` with `{}` where the expression goes; sea-query's placeholder
/// differs per backend.
fn wrap(dialect: Dialect, template: &'static str, e: Expr) -> Expr {
    let placeholder = match dialect {
        Dialect::Sqlite => "?",
        Dialect::Postgres => "$1",
    };
    Expr::cust_with_expr(template.replace("{}", placeholder), e)
}

pub(crate) struct Compiler<'t> {
    target: &'t SqlTarget,
    next_alias: Cell<usize>,
}

impl<'t> Compiler<'t> {
    pub(crate) fn new(target: &'t SqlTarget) -> Self {
        Self {
            target,
            next_alias: Cell::new(0),
        }
    }

    fn fresh_alias(&self) -> String {
        let n = self.next_alias.get();
        self.next_alias.set(n + 1);
        format!("w_rel{n}")
    }

    /// A condition. `strict`: the result must never be NULL (we are under a
    /// `NOT`, or the value is compared).
    pub(crate) fn condition(&self, node: &Node, strict: bool) -> Result<Expr, SqlError> {
        let dialect = self.target.dialect;
        let guard = |e: Expr| {
            if strict && node.nullable {
                wrap(dialect, "({}) IS TRUE", e)
            } else {
                e
            }
        };
        Ok(match &node.kind {
            NodeKind::And(l, r) => self.condition(l, strict)?.and(self.condition(r, strict)?),
            NodeKind::Or(l, r) => self.condition(l, strict)?.or(self.condition(r, strict)?),
            NodeKind::Not(inner) => self.condition(inner, true)?.not(),
            NodeKind::Const(v) => boolean(v.is_true()),
            NodeKind::Compare(op, l, r) => guard(self.compare(*op, l, r)?),
            NodeKind::IsNull { operand, negated } => {
                let v = match operand.kind {
                    NodeKind::Principal => self.session_id()?,
                    _ => self.value(operand)?,
                };
                if *negated {
                    v.is_not_null()
                } else {
                    v.is_null()
                }
            }
            NodeKind::In(l, r) => guard(self.membership(l, r)?),
            NodeKind::Text(op, h, n) => guard(self.text(*op, h, n)?),
            NodeKind::Exists {
                table,
                condition,
                depth,
                ..
            } => {
                let alias = exists_alias(*depth);
                // `exists(acl where it.article_id == row.id && <only acl>)`
                // becomes `row.id IN (SELECT article_id FROM acl WHERE …)`:
                // the same rows, but the planner can start from the index
                // on acl instead of probing it once per outer row.
                if let Some((inner, outer, rest)) =
                    semi_join(condition, *depth).filter(|_| self.target.semi_join)
                {
                    let mut select = Query::select();
                    select
                        .column((alias.clone(), inner.to_owned()))
                        .from_as(table.clone(), alias);
                    for conjunct in rest {
                        select.and_where(self.condition(conjunct, false)?);
                    }
                    let membership = self.value(outer)?.in_subquery(select);
                    return Ok(if strict {
                        wrap(dialect, "({}) IS TRUE", membership)
                    } else {
                        membership
                    });
                }
                let mut select = Query::select();
                select
                    .expr(Expr::cust("1"))
                    .from_as(table.clone(), alias)
                    .and_where(self.condition(condition, false)?);
                Expr::exists(select)
            }
            NodeKind::Field(_) | NodeKind::SqlCall { .. } => guard(self.value(node)?),
            NodeKind::HasScope(scope) => {
                self.session()?;
                Expr::val(scope.clone()).eq(Expr::cust(
                    "ANY(string_to_array(coalesce(current_setting('warden.scopes', true), ''), ' '))",
                ))
            }
            NodeKind::Principal | NodeKind::UserAttr(_) => guard(self.value(node)?),
            NodeKind::List(_) => return Err(SqlError::ListValue),
        })
    }

    fn session(&self) -> Result<&PrincipalSql, SqlError> {
        match &self.target.principal {
            PrincipalSql::Specialised => Err(SqlError::Unbound("user")),
            session => Ok(session),
        }
    }

    /// `user.id` under row-level security: null when the setting is unset
    /// or empty (anonymous).
    fn session_id(&self) -> Result<Expr, SqlError> {
        let PrincipalSql::Session { id_type, .. } = self.session()? else {
            return Err(SqlError::Unbound("user"));
        };
        Ok(Expr::cust(format!(
            "NULLIF(current_setting('{SESSION_USER_ID}', true), '')::{id_type}"
        )))
    }

    fn compare(&self, op: CompareOp, l: &Node, r: &Node) -> Result<Expr, SqlError> {
        let (mut a, mut b) = (self.value(l)?, self.value(r)?);
        if self.target.dialect == Dialect::Postgres {
            // Text order must be byte order, as in the evaluator and SQLite.
            let ordering = !matches!(op, CompareOp::Eq | CompareOp::Ne);
            if ordering && l.ty == Type::Text && r.ty == Type::Text {
                a = wrap(Dialect::Postgres, "{} COLLATE \"C\"", a);
            }
            // Timestamps travel as text: cast the text side (a literal the
            // checker normalised, or a text value) to the column's type.
            let text_time = |n: &Node| {
                n.ty == Type::Text
                    || (n.ty == Type::Timestamp && matches!(n.kind, NodeKind::Const(_)))
            };
            let column_time =
                |n: &Node| n.ty == Type::Timestamp && !matches!(n.kind, NodeKind::Const(_));
            if column_time(l) && text_time(r) {
                b = b.cast_as("timestamptz");
            }
            if text_time(l) && column_time(r) {
                a = a.cast_as("timestamptz");
            }
        }
        Ok(match op {
            CompareOp::Eq => a.eq(b),
            CompareOp::Ne => a.ne(b),
            CompareOp::Lt => a.lt(b),
            CompareOp::Le => a.lte(b),
            CompareOp::Gt => a.gt(b),
            CompareOp::Ge => a.gte(b),
        })
    }

    fn membership(&self, l: &Node, r: &Node) -> Result<Expr, SqlError> {
        let needle = self.value(l)?;
        let items: Vec<Expr> = match &r.kind {
            NodeKind::List(items) => items
                .iter()
                .map(|i| self.value(i))
                .collect::<Result<_, _>>()?,
            NodeKind::Const(Value::List(values)) => {
                values.iter().map(bind).collect::<Result<_, _>>()?
            }
            NodeKind::UserAttr(list) if list == "scopes" || list == "roles" => {
                self.session()?;
                let any = format!(
                    "ANY(string_to_array(coalesce(current_setting('warden.{list}', true), ''), ' '))"
                );
                return Ok(needle.eq(Expr::cust(any)));
            }
            _ => return Err(SqlError::ListValue),
        };
        if items.is_empty() {
            return Ok(boolean(false));
        }
        Ok(needle.is_in(items))
    }

    fn text(&self, op: TextOp, h: &Node, n: &Node) -> Result<Expr, SqlError> {
        Ok(text_test(
            self.target.dialect,
            op,
            self.value(h)?,
            self.value(n)?,
        ))
    }

    fn value(&self, node: &Node) -> Result<Expr, SqlError> {
        match &node.kind {
            NodeKind::Const(v) => bind(v),
            NodeKind::Field(field) => self.field(field),
            NodeKind::SqlCall { function, args } => {
                let args: Vec<Expr> = args
                    .iter()
                    .map(|a| self.value(a))
                    .collect::<Result<_, _>>()?;
                Ok(Expr::expr(Func::cust(function.clone()).args(args)))
            }
            NodeKind::UserAttr(name) if name == "id" => self.session_id(),
            NodeKind::UserAttr(name) if name != "scopes" && name != "roles" => {
                let prefix = match self.session()? {
                    PrincipalSql::Session {
                        function_prefix, ..
                    } => function_prefix.clone(),
                    PrincipalSql::Specialised => return Err(SqlError::Unbound("user")),
                };
                Ok(Expr::expr(Func::cust(format!("{prefix}{name}"))))
            }
            NodeKind::Principal | NodeKind::UserAttr(_) => Err(SqlError::Unbound("user")),
            NodeKind::List(_) => Err(SqlError::ListValue),
            // A condition used as a value: never NULL, as in the evaluator.
            _ => self.condition(node, true),
        }
    }

    fn field(&self, field: &FieldRef) -> Result<Expr, SqlError> {
        let start_alias = match &field.start {
            Start::Row => Some(self.target.row.clone()),
            Start::It(depth) => Some(exists_alias(*depth)),
            Start::New => match &self.target.new {
                Some(alias) => Some(alias.clone()),
                None => return Err(SqlError::Unbound("new")),
            },
            Start::Key(_) => None,
        };
        let Some((first, _)) = field.hops.split_first() else {
            return match (&field.start, start_alias) {
                (Start::Key(v), _) => bind(v),
                (_, Some(alias)) => Ok(Expr::col((alias, field.field.clone()))),
                (_, None) => Err(SqlError::Unbound("row")),
            };
        };
        let mut key = match (&field.start, start_alias) {
            (Start::Key(v), _) => bind(v)?,
            (_, Some(alias)) => Expr::col((alias, first.via.clone())),
            (_, None) => return Err(SqlError::Unbound("row")),
        };
        for (i, hop) in field.hops.iter().enumerate() {
            let alias = self.fresh_alias();
            let column = field.hops.get(i + 1).map_or(&field.field, |next| &next.via);
            let mut select = Query::select();
            select
                .column((alias.clone(), column.clone()))
                .from_as(hop.table.clone(), alias.clone())
                .and_where(Expr::col((alias, hop.key.clone())).eq(key));
            key = Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(select)));
        }
        Ok(key)
    }
}

/// A text test (`contains`, `icontains`, …) on two SQL expressions, as the
/// evaluator defines it: also used for list `search=`.
pub fn text_test(dialect: Dialect, op: TextOp, h: Expr, n: Expr) -> Expr {
    match (dialect, op) {
        (Dialect::Sqlite, TextOp::Contains) => Expr::expr(Func::cust("instr").arg(h).arg(n)).gt(0),
        (Dialect::Postgres, TextOp::Contains) => {
            Expr::expr(Func::cust("strpos").arg(h).arg(n)).gt(0)
        }
        (Dialect::Sqlite, TextOp::IContains) => {
            Expr::expr(Func::cust("instr").arg(Func::lower(h)).arg(Func::lower(n))).gt(0)
        }
        (Dialect::Postgres, TextOp::IContains) => Expr::expr(
            Func::cust("strpos")
                .arg(Func::lower(wrap(Dialect::Postgres, "{} COLLATE \"C\"", h)))
                .arg(Func::lower(wrap(Dialect::Postgres, "{} COLLATE \"C\"", n))),
        )
        .gt(0),
        (Dialect::Sqlite, TextOp::StartsWith) => Expr::expr(
            Func::cust("substr")
                .arg(h)
                .arg(1)
                .arg(Func::cust("length").arg(n.clone())),
        )
        .eq(n),
        (Dialect::Postgres, TextOp::StartsWith) => Expr::expr(
            Func::cust("left")
                .arg(h)
                .arg(Func::cust("length").arg(n.clone())),
        )
        .eq(n),
        (Dialect::Sqlite, TextOp::EndsWith) => {
            let from = Expr::expr(Func::cust("length").arg(h.clone()))
                .sub(Func::cust("length").arg(n.clone()))
                .add(1);
            Expr::expr(Func::cust("length").arg(n.clone()))
                .lte(Func::cust("length").arg(h.clone()))
                .and(Expr::expr(Func::cust("substr").arg(h).arg(from)).eq(n))
        }
        (Dialect::Postgres, TextOp::EndsWith) => Expr::expr(
            Func::cust("right")
                .arg(h)
                .arg(Func::cust("length").arg(n.clone())),
        )
        .eq(n),
    }
}

/// Splits an `exists` condition of the shape `it.f == <outer column> &&
/// rest` where `rest` reads only the inner row (and constants): returns
/// the inner field, the outer column and the other conjuncts.
pub(crate) fn semi_join(condition: &Node, depth: usize) -> Option<(&str, &Node, Vec<&Node>)> {
    let mut conjuncts = Vec::new();
    flatten_and(condition, &mut conjuncts);
    let position = conjuncts.iter().position(|c| link(c, depth).is_some())?;
    let (inner, outer) = link(conjuncts[position], depth)?;
    let rest: Vec<&Node> = conjuncts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != position)
        .map(|(_, c)| *c)
        .collect();
    rest.iter()
        .all(|c| local_to(c, depth))
        .then_some((inner, outer, rest))
}

pub(crate) fn flatten_and<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
    match &node.kind {
        NodeKind::And(a, b) => {
            flatten_and(a, out);
            flatten_and(b, out);
        }
        _ => out.push(node),
    }
}

/// `it.f == outer` (either way round), `outer` a plain column of an
/// enclosing row.
fn link(node: &Node, depth: usize) -> Option<(&str, &Node)> {
    let NodeKind::Compare(CompareOp::Eq, a, b) = &node.kind else {
        return None;
    };
    fn inner_field(n: &Node, depth: usize) -> Option<&str> {
        match &n.kind {
            NodeKind::Field(FieldRef {
                start: Start::It(d),
                hops,
                field,
            }) if *d == depth && hops.is_empty() => Some(field.as_str()),
            _ => None,
        }
    }
    let outer_column = |n: &Node| match &n.kind {
        NodeKind::Field(FieldRef {
            start: Start::Row,
            hops,
            ..
        }) => hops.is_empty(),
        NodeKind::Field(FieldRef {
            start: Start::It(d),
            hops,
            ..
        }) => *d < depth && hops.is_empty(),
        _ => false,
    };
    match (inner_field(a, depth), inner_field(b, depth)) {
        (Some(f), None) if outer_column(b) => Some((f, b)),
        (None, Some(f)) if outer_column(a) => Some((f, a)),
        _ => None,
    }
}

/// Whether `node` reads no row outside the `exists` at `depth`.
fn local_to(node: &Node, depth: usize) -> bool {
    match &node.kind {
        NodeKind::Field(FieldRef {
            start: Start::It(d),
            ..
        }) => *d >= depth,
        NodeKind::Field(FieldRef {
            start: Start::Key(_),
            ..
        }) => true,
        NodeKind::Field(_) => false,
        NodeKind::Const(_)
        | NodeKind::Principal
        | NodeKind::UserAttr(_)
        | NodeKind::HasScope(_) => true,
        NodeKind::List(items) | NodeKind::SqlCall { args: items, .. } => {
            items.iter().all(|i| local_to(i, depth))
        }
        NodeKind::Not(a) | NodeKind::IsNull { operand: a, .. } => local_to(a, depth),
        NodeKind::Exists { condition, .. } => local_to(condition, depth),
        NodeKind::And(a, b)
        | NodeKind::Or(a, b)
        | NodeKind::Compare(_, a, b)
        | NodeKind::In(a, b)
        | NodeKind::Text(_, a, b) => local_to(a, depth) && local_to(b, depth),
    }
}

pub(crate) fn exists_alias(depth: usize) -> String {
    format!("w_it{depth}")
}

/// A value as a bound parameter.
fn bind(v: &Value) -> Result<Expr, SqlError> {
    Ok(match v {
        Value::Null => Expr::null(),
        Value::Bool(b) => Expr::val(*b),
        Value::Int(i) => Expr::val(*i),
        Value::Float(x) => Expr::val(*x),
        Value::Text(s) => Expr::val(s.clone()),
        Value::List(_) => return Err(SqlError::ListValue),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Action;
    use crate::eval::Principal;
    use crate::fixtures::compile;

    fn sql(text: &str, dialect: Dialect, user: &Principal) -> (String, Values) {
        compile("posts", Action::Read, text)
            .specialize(Some(user))
            .to_sql_string(&SqlTarget::new(dialect, "posts"))
            .expect("compiles")
    }

    #[test]
    fn owner_rule_binds_the_principal() {
        let user = Principal::with_id(23).attribute("is_superuser", false);
        let (text, values) = sql(
            "row.owner_id == user.id || user.is_superuser",
            Dialect::Sqlite,
            &user,
        );
        assert_eq!(text, r#""posts"."owner_id" = ?"#);
        assert_eq!(values.0, vec![sea_query::Value::BigInt(Some(23))]);
        let (text, _) = sql("row.owner_id == user.id", Dialect::Postgres, &user);
        assert_eq!(text, r#""posts"."owner_id" = $1"#);
    }

    #[test]
    fn negation_guards_nullable_operands() {
        let user = Principal::with_id(23);
        let (text, _) = sql("!(row.assignee_id == user.id)", Dialect::Sqlite, &user);
        assert_eq!(text, r#"NOT (("posts"."assignee_id" = ?) IS TRUE)"#);
        let (text, _) = sql("!(row.owner_id == user.id)", Dialect::Sqlite, &user);
        assert_eq!(text, r#"NOT "posts"."owner_id" = ?"#);
        let (text, _) = sql("!row.published", Dialect::Postgres, &user);
        assert_eq!(text, r#"NOT (("posts"."published") IS TRUE)"#);
    }

    #[test]
    fn exists_relations_text_and_lists() {
        let user = Principal::with_id(23).scope("a");
        let (text, values) = sql(
            "exists(article_read_access where it.article_id == row.id && it.user_id == user.id)",
            Dialect::Postgres,
            &user,
        );
        assert_eq!(
            text,
            r#""posts"."id" IN (SELECT "w_it0"."article_id" FROM "article_read_access" AS "w_it0" WHERE "w_it0"."user_id" = $1)"#
        );
        assert_eq!(values.0.len(), 1);
        // A condition that reads the outer row elsewhere stays an EXISTS.
        let (text, _) = sql(
            "exists(article_read_access where it.article_id == row.id && it.user_id == row.owner_id)",
            Dialect::Sqlite,
            &user,
        );
        assert!(text.starts_with("EXISTS(SELECT 1"), "{text}");
        let (text, _) = sql(
            "!exists(article_read_access where it.article_id == row.id)",
            Dialect::Sqlite,
            &user,
        );
        assert_eq!(
            text,
            r#"NOT (("posts"."id" IN (SELECT "w_it0"."article_id" FROM "article_read_access" AS "w_it0")) IS TRUE)"#
        );
        let (text, _) = sql("row.owner.email == 'x'", Dialect::Sqlite, &user);
        assert_eq!(
            text,
            r#"(SELECT "w_rel0"."email" FROM "users" AS "w_rel0" WHERE "w_rel0"."id" = "posts"."owner_id") = ?"#
        );
        let (text, values) = sql("row.title in user.scopes", Dialect::Sqlite, &user);
        assert_eq!(text, r#""posts"."title" IN (?)"#);
        assert_eq!(values.0, vec![sea_query::Value::String(Some("a".into()))]);
        let (text, _) = sql("row.title < 'b'", Dialect::Postgres, &user);
        assert_eq!(text, r#"("posts"."title" COLLATE "C") < $1"#);
        let (text, _) = sql("icontains(row.title, 'b')", Dialect::Postgres, &user);
        assert_eq!(
            text,
            r#"strpos(LOWER("posts"."title" COLLATE "C"), LOWER($1 COLLATE "C")) > $2"#
        );
    }

    #[test]
    fn no_value_is_ever_pasted_into_sql() {
        let user = Principal::with_id(23).attribute("email", "'; DROP TABLE posts; --");
        let (text, values) = sql(
            "row.title == user.email || contains(row.title, 'x\\'y')",
            Dialect::Sqlite,
            &user,
        );
        assert!(!text.contains("DROP"), "{text}");
        assert!(!text.contains("x'y"), "{text}");
        let bound: Vec<String> = values.0.iter().map(|v| format!("{v:?}")).collect();
        assert!(bound.iter().any(|v| v.contains("DROP TABLE")), "{bound:?}");
        assert!(bound.iter().any(|v| v.contains("x'y")), "{bound:?}");
    }

    #[test]
    fn unspecialised_user_is_an_error() {
        let rule = compile("posts", Action::Read, "row.owner_id == user.id");
        let residual = Residual::Predicate(rule.root().clone());
        assert_eq!(
            residual.to_sql(&SqlTarget::new(Dialect::Sqlite, "p")).err(),
            Some(SqlError::Unbound("user"))
        );
    }
}
