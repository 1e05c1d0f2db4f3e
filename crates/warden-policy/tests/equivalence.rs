//! The central promise of the rule language: for random rules, rows and
//! callers, the SQL predicate selects exactly the rows the in-memory
//! evaluator allows. Runs against SQLite in-process always, and against
//! PostgreSQL when `WARDEN_TEST_POSTGRES` holds a URL (in a database of its
//! own, dropped afterwards). Counterexamples are kept in
//! `tests/equivalence.proptest-regressions` and replayed first.

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use sea_query::{Expr, ExprTrait, PostgresQueryBuilder, Query, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::{Connection, Executor, PgConnection, Row as _, SqliteConnection};
use std::collections::BTreeSet;
use std::str::FromStr;
use warden_policy::{
    Action, CheckOptions, Dataset, Dialect, Env, FieldType, Known, Principal, Residual, Row,
    RuleSet, RuleSource, Schema, SqlTarget, Value,
};

// ---------------------------------------------------------------- schema

fn schema() -> Schema {
    use FieldType::{Bool, Float, Integer, Text};
    let mut s = Schema::new();
    s.resource("items", "id")
        .field("id", Integer, false)
        .field("a", Integer, true)
        .field("b", Integer, true)
        .field("f", Float, true)
        .field("s", Text, true)
        .field("t", Text, true)
        .field("flag", Bool, true)
        .field("owner_id", Integer, true)
        .field("ref_id", Integer, true)
        .to_one("other", "others", "ref_id");
    s.resource("others", "id")
        .field("id", Integer, false)
        .field("a", Integer, true)
        .field("s", Text, true)
        .field("user_id", Integer, true)
        .field("up_id", Integer, true)
        .to_one("up", "others", "up_id");
    s.resource("grants", "id")
        .field("id", Integer, false)
        .field("item_id", Integer, false)
        .field("user_id", Integer, true);
    s.user_attribute("id", Integer, false)
        .user_attribute("level", Integer, true)
        .user_attribute("name", Text, true);
    s
}

const SQLITE_DDL: &str = "
CREATE TABLE items (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, f REAL, s TEXT, t TEXT, flag BOOLEAN, owner_id INTEGER, ref_id INTEGER);
CREATE TABLE others (id INTEGER PRIMARY KEY, a INTEGER, s TEXT, user_id INTEGER, up_id INTEGER);
CREATE TABLE grants (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL, user_id INTEGER);";

const POSTGRES_DDL: &str = "
CREATE TABLE items (id BIGINT PRIMARY KEY, a BIGINT, b BIGINT, f DOUBLE PRECISION, s TEXT, t TEXT, flag BOOLEAN, owner_id BIGINT, ref_id BIGINT);
CREATE TABLE others (id BIGINT PRIMARY KEY, a BIGINT, s TEXT, user_id BIGINT, up_id BIGINT);
CREATE TABLE grants (id BIGINT PRIMARY KEY, item_id BIGINT NOT NULL, user_id BIGINT);";

// ------------------------------------------------------------- rule trees

const TEXTS: [&str; 8] = ["", "a", "A", "ab", "aB", "b", "é", "É b"];
const FLOATS: [f64; 5] = [-1.5, 0.0, 1.0, 2.5, 3.0];

#[derive(Debug, Clone)]
enum Int {
    Lit(i64),
    Row(&'static str),
    Other(&'static str),
    OtherUp,
    User(&'static str),
    It,
}

#[derive(Debug, Clone)]
enum Text {
    Lit(&'static str),
    Row(&'static str),
    OtherS,
    UserName,
}

#[derive(Debug, Clone)]
enum Cond {
    Lit(bool),
    Flag,
    Int(&'static str, Int, Int),
    Float(&'static str, f64),
    Text(&'static str, Text, Text),
    IntNull(Int, bool),
    TextNull(Text, bool),
    InList(Int, Vec<Option<i64>>),
    InScopes(&'static str),
    TextFn(&'static str, Text, Text),
    HasScope(&'static str),
    Anonymous(bool),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    /// `exists(grants where it.item_id == row.id && it.user_id <op> <int> && <cond>)`
    Grant(&'static str, Int, Box<Cond>),
    /// `exists(others where it.user_id == <int> && it.a == row.a)`
    OtherExists(Int),
}

fn render_int(i: &Int) -> String {
    match i {
        Int::Lit(v) => v.to_string(),
        Int::Row(f) => format!("row.{f}"),
        Int::Other(f) => format!("row.other.{f}"),
        Int::OtherUp => "row.other.up.a".to_owned(),
        Int::User(f) => format!("user.{f}"),
        Int::It => "it.user_id".to_owned(),
    }
}

fn render_text(t: &Text) -> String {
    match t {
        Text::Lit(s) => format!("'{s}'"),
        Text::Row(f) => format!("row.{f}"),
        Text::OtherS => "row.other.s".to_owned(),
        Text::UserName => "user.name".to_owned(),
    }
}

fn render(c: &Cond) -> String {
    match c {
        Cond::Lit(b) => b.to_string(),
        Cond::Flag => "row.flag".to_owned(),
        Cond::Int(op, a, b) => format!("{} {op} {}", render_int(a), render_int(b)),
        Cond::Float(op, x) => format!("row.f {op} {x:?}"),
        Cond::Text(op, a, b) => format!("{} {op} {}", render_text(a), render_text(b)),
        Cond::IntNull(i, negated) => format!(
            "{} {} null",
            render_int(i),
            if *negated { "!=" } else { "==" }
        ),
        Cond::TextNull(t, negated) => format!(
            "{} {} null",
            render_text(t),
            if *negated { "!=" } else { "==" }
        ),
        Cond::InList(i, items) => {
            let items: Vec<String> = items
                .iter()
                .map(|v| v.map_or("null".to_owned(), |v| v.to_string()))
                .collect();
            format!("{} in [{}]", render_int(i), items.join(", "))
        }
        Cond::InScopes(s) => format!("'{s}' in user.scopes"),
        Cond::TextFn(f, a, b) => format!("{f}({}, {})", render_text(a), render_text(b)),
        Cond::HasScope(s) => format!("has_scope('{s}')"),
        Cond::Anonymous(negated) => format!("user {} null", if *negated { "!=" } else { "==" }),
        Cond::Not(c) => format!("!({})", render(c)),
        Cond::And(a, b) => format!("({}) && ({})", render(a), render(b)),
        Cond::Or(a, b) => format!("({}) || ({})", render(a), render(b)),
        Cond::Grant(op, i, c) => format!(
            "exists(grants where it.item_id == row.id && it.user_id {op} {} && ({}))",
            render_int(i),
            render(c)
        ),
        Cond::OtherExists(i) => format!(
            "exists(others where it.user_id == {} && it.a == row.a)",
            render_int(i)
        ),
    }
}

fn int_outside() -> impl Strategy<Value = Int> {
    prop_oneof![
        (-2i64..4).prop_map(Int::Lit),
        prop::sample::select(vec!["a", "b", "owner_id", "id", "ref_id"]).prop_map(Int::Row),
        prop::sample::select(vec!["a", "user_id"]).prop_map(Int::Other),
        Just(Int::OtherUp),
        prop::sample::select(vec!["id", "level"]).prop_map(Int::User),
    ]
}

fn int_inside() -> impl Strategy<Value = Int> {
    prop_oneof![int_outside(), Just(Int::It)]
}

fn text() -> impl Strategy<Value = Text> {
    prop_oneof![
        prop::sample::select(TEXTS.to_vec()).prop_map(Text::Lit),
        prop::sample::select(vec!["s", "t"]).prop_map(Text::Row),
        Just(Text::OtherS),
        Just(Text::UserName),
    ]
}

fn op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="])
}

fn leaf() -> impl Strategy<Value = Cond> {
    prop_oneof![
        any::<bool>().prop_map(Cond::Lit),
        Just(Cond::Flag),
        (op(), int_outside(), int_outside()).prop_map(|(o, a, b)| Cond::Int(o, a, b)),
        (op(), prop::sample::select(FLOATS.to_vec())).prop_map(|(o, x)| Cond::Float(o, x)),
        (op(), text(), text()).prop_map(|(o, a, b)| Cond::Text(o, a, b)),
        (int_outside(), any::<bool>()).prop_map(|(i, n)| Cond::IntNull(i, n)),
        (text(), any::<bool>()).prop_map(|(t, n)| Cond::TextNull(t, n)),
        (
            int_outside(),
            prop::collection::vec(prop::option::weighted(0.8, -2i64..4), 0..4)
        )
            .prop_map(|(i, l)| Cond::InList(i, l)),
        prop::sample::select(vec!["x", "y"]).prop_map(Cond::InScopes),
        (
            prop::sample::select(vec!["contains", "starts_with", "ends_with", "icontains"]),
            text(),
            text()
        )
            .prop_map(|(f, a, b)| Cond::TextFn(f, a, b)),
        prop::sample::select(vec!["x", "y"]).prop_map(Cond::HasScope),
        any::<bool>().prop_map(Cond::Anonymous),
        int_outside().prop_map(Cond::OtherExists),
    ]
}

fn cond() -> impl Strategy<Value = Cond> {
    leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
            (op(), int_inside(), inner.clone()).prop_map(|(o, i, c)| Cond::Grant(
                o,
                i,
                Box::new(c)
            )),
            // The shape lists read per alternative: `(owner && a) ||
            // (granted && b)`.
            (inner.clone(), inner).prop_map(|(a, b)| {
                let owner = Cond::Int("==", Int::Row("owner_id"), Int::User("id"));
                let granted = Cond::Grant("==", Int::User("id"), Box::new(Cond::Lit(true)));
                Cond::Or(
                    Box::new(Cond::And(Box::new(owner), Box::new(a))),
                    Box::new(Cond::And(Box::new(granted), Box::new(b))),
                )
            }),
        ]
    })
}

// ------------------------------------------------------------------ data

#[derive(Debug, Clone)]
struct Item {
    a: Option<i64>,
    b: Option<i64>,
    f: Option<f64>,
    s: Option<&'static str>,
    t: Option<&'static str>,
    flag: Option<bool>,
    owner_id: Option<i64>,
    ref_id: Option<i64>,
}

#[derive(Debug, Clone)]
struct Other {
    a: Option<i64>,
    s: Option<&'static str>,
    user_id: Option<i64>,
    up_id: Option<i64>,
}

#[derive(Debug, Clone)]
struct Grant {
    item_id: i64,
    user_id: Option<i64>,
}

#[derive(Debug, Clone)]
struct Caller {
    id: i64,
    level: Option<i64>,
    name: Option<&'static str>,
    scopes: Vec<&'static str>,
}

#[derive(Debug, Clone)]
struct Case {
    rule: Cond,
    items: Vec<Item>,
    others: Vec<Other>,
    grants: Vec<Grant>,
    callers: Vec<Option<Caller>>,
}

fn opt_int() -> impl Strategy<Value = Option<i64>> {
    prop::option::weighted(0.8, -2i64..4)
}

fn opt_text() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::weighted(0.8, prop::sample::select(TEXTS.to_vec()))
}

fn item() -> impl Strategy<Value = Item> {
    (
        opt_int(),
        opt_int(),
        prop::option::weighted(0.8, prop::sample::select(FLOATS.to_vec())),
        opt_text(),
        opt_text(),
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(0.8, 1i64..4),
        prop::option::weighted(0.8, 1i64..5),
    )
        .prop_map(|(a, b, f, s, t, flag, owner_id, ref_id)| Item {
            a,
            b,
            f,
            s,
            t,
            flag,
            owner_id,
            ref_id,
        })
}

fn other() -> impl Strategy<Value = Other> {
    (
        opt_int(),
        opt_text(),
        prop::option::weighted(0.8, 1i64..4),
        prop::option::weighted(0.6, 1i64..5),
    )
        .prop_map(|(a, s, user_id, up_id)| Other {
            a,
            s,
            user_id,
            up_id,
        })
}

fn grant() -> impl Strategy<Value = Grant> {
    (1i64..7, prop::option::weighted(0.9, 1i64..4))
        .prop_map(|(item_id, user_id)| Grant { item_id, user_id })
}

fn caller() -> impl Strategy<Value = Option<Caller>> {
    prop::option::weighted(
        0.85,
        (
            1i64..4,
            opt_int(),
            opt_text(),
            prop::sample::subsequence(vec!["x", "y"], 0..=2),
        )
            .prop_map(|(id, level, name, scopes)| Caller {
                id,
                level,
                name,
                scopes,
            }),
    )
}

fn case() -> impl Strategy<Value = Case> {
    (
        cond(),
        prop::collection::vec(item(), 0..7),
        prop::collection::vec(other(), 0..5),
        prop::collection::vec(grant(), 0..6),
        prop::collection::vec(caller(), 1..4),
    )
        .prop_map(|(rule, items, others, grants, callers)| Case {
            rule,
            items,
            others,
            grants,
            callers,
        })
}

// ------------------------------------------------------------ harness

fn int(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Int)
}

fn text_value(v: Option<&str>) -> Value {
    v.map_or(Value::Null, Value::from)
}

fn row(pairs: Vec<(&str, Value)>) -> Row {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

impl Case {
    fn item_rows(&self) -> Vec<Row> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                row(vec![
                    ("id", Value::Int(i as i64 + 1)),
                    ("a", int(it.a)),
                    ("b", int(it.b)),
                    ("f", it.f.map_or(Value::Null, Value::Float)),
                    ("s", text_value(it.s)),
                    ("t", text_value(it.t)),
                    ("flag", it.flag.map_or(Value::Null, Value::Bool)),
                    ("owner_id", int(it.owner_id)),
                    ("ref_id", int(it.ref_id)),
                ])
            })
            .collect()
    }

    fn dataset(&self) -> Dataset {
        let mut data = Dataset::new();
        for (i, o) in self.others.iter().enumerate() {
            data.insert(
                "others",
                row(vec![
                    ("id", Value::Int(i as i64 + 1)),
                    ("a", int(o.a)),
                    ("s", text_value(o.s)),
                    ("user_id", int(o.user_id)),
                    ("up_id", int(o.up_id)),
                ]),
            );
        }
        for (i, g) in self.grants.iter().enumerate() {
            data.insert(
                "grants",
                row(vec![
                    ("id", Value::Int(i as i64 + 1)),
                    ("item_id", Value::Int(g.item_id)),
                    ("user_id", int(g.user_id)),
                ]),
            );
        }
        data
    }

    fn inserts(&self) -> Vec<sea_query::InsertStatement> {
        let mut statements = Vec::new();
        let table = |name: &str, columns: &[&str]| {
            let mut insert = Query::insert();
            insert
                .into_table(name.to_owned())
                .columns(columns.iter().map(|c| (*c).to_owned()));
            insert
        };
        if !self.items.is_empty() {
            let mut insert = table(
                "items",
                &["id", "a", "b", "f", "s", "t", "flag", "owner_id", "ref_id"],
            );
            for (i, it) in self.items.iter().enumerate() {
                insert.values_panic([
                    Expr::val(i as i64 + 1),
                    Expr::val(it.a),
                    Expr::val(it.b),
                    Expr::val(it.f),
                    Expr::val(it.s.map(str::to_owned)),
                    Expr::val(it.t.map(str::to_owned)),
                    Expr::val(it.flag),
                    Expr::val(it.owner_id),
                    Expr::val(it.ref_id),
                ]);
            }
            statements.push(insert);
        }
        if !self.others.is_empty() {
            let mut insert = table("others", &["id", "a", "s", "user_id", "up_id"]);
            for (i, o) in self.others.iter().enumerate() {
                insert.values_panic([
                    Expr::val(i as i64 + 1),
                    Expr::val(o.a),
                    Expr::val(o.s.map(str::to_owned)),
                    Expr::val(o.user_id),
                    Expr::val(o.up_id),
                ]);
            }
            statements.push(insert);
        }
        if !self.grants.is_empty() {
            let mut insert = table("grants", &["id", "item_id", "user_id"]);
            for (i, g) in self.grants.iter().enumerate() {
                insert.values_panic([
                    Expr::val(i as i64 + 1),
                    Expr::val(g.item_id),
                    Expr::val(g.user_id),
                ]);
            }
            statements.push(insert);
        }
        statements
    }
}

fn principal(caller: &Caller) -> Principal {
    let mut p = Principal::with_id(caller.id)
        .attribute("level", int(caller.level))
        .attribute("name", text_value(caller.name));
    for s in &caller.scopes {
        p = p.scope(s);
    }
    p
}

/// One backend the predicates run on.
enum Db {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Db {
    fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    async fn load(&mut self, case: &Case) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(c) => {
                c.execute("DELETE FROM items; DELETE FROM others; DELETE FROM grants;")
                    .await?;
                for insert in case.inserts() {
                    let (sql, values) = insert.build_sqlx(SqliteQueryBuilder);
                    sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                        .execute(&mut *c)
                        .await?;
                }
            }
            Db::Postgres(c) => {
                c.execute("TRUNCATE items, others, grants").await?;
                for insert in case.inserts() {
                    let (sql, values) = insert.build_sqlx(PostgresQueryBuilder);
                    sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                        .execute(&mut *c)
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn ids(
        &mut self,
        select: &sea_query::SelectStatement,
    ) -> Result<BTreeSet<i64>, sqlx::Error> {
        Ok(self.ordered_ids(select).await?.into_iter().collect())
    }

    /// The first column of every row, in the order the query returns.
    async fn ordered_ids(
        &mut self,
        select: &sea_query::SelectStatement,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let rows = match self {
            Db::Sqlite(c) => {
                let (sql, values) = select.build_sqlx(SqliteQueryBuilder);
                sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                    .fetch_all(&mut *c)
                    .await?
                    .iter()
                    .map(|r| r.try_get::<i64, _>(0))
                    .collect::<Result<_, _>>()?
            }
            Db::Postgres(c) => {
                let (sql, values) = select.build_sqlx(PostgresQueryBuilder);
                sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                    .fetch_all(&mut *c)
                    .await?
                    .iter()
                    .map(|r| r.try_get::<i64, _>(0))
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(rows)
    }
}

/// A page as the engine's list reads it when the rule splits into
/// alternatives: the keys of each alternative's own first page, unioned,
/// then the page itself. Ordered by key, or by `a` (nulls first) then key.
fn paged(
    alternatives: &[warden_policy::Alternative],
    limit: u64,
    after: i64,
    by_a: bool,
) -> sea_query::SelectStatement {
    let page = |select: &mut sea_query::SelectStatement, key: Expr| {
        if by_a {
            select.order_by_expr_with_nulls(
                Expr::col(("items".to_owned(), "a".to_owned())),
                sea_query::Order::Asc,
                sea_query::NullOrdering::First,
            );
        } else {
            select.and_where(Expr::col(("items".to_owned(), "id".to_owned())).gt(after));
        }
        select
            .order_by_expr(key, sea_query::Order::Asc)
            .limit(limit);
    };
    let mut union: Option<sea_query::SelectStatement> = None;
    for (i, alternative) in alternatives.iter().enumerate() {
        let mut select = alternative.select.clone();
        select.expr_as(alternative.key.clone(), "w_key".to_owned());
        if by_a {
            select.expr(Expr::col(("items".to_owned(), "a".to_owned())));
        }
        if alternative.repeats {
            select.distinct();
        }
        page(&mut select, alternative.key.clone());
        let keys = Query::select()
            .column("w_key".to_owned())
            .from_subquery(select, format!("w_alt{i}"))
            .to_owned();
        union = Some(match union {
            None => keys,
            Some(mut union) => {
                union.union(sea_query::UnionType::All, keys);
                union
            }
        });
    }
    let mut select = Query::select();
    select
        .column(("items".to_owned(), "id".to_owned()))
        .from("items".to_owned());
    if let Some(union) = union {
        select.and_where(Expr::col(("items".to_owned(), "id".to_owned())).in_subquery(union));
    }
    page(
        &mut select,
        Expr::col(("items".to_owned(), "id".to_owned())),
    );
    select
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

async fn check_case(db: &mut Db, case: &Case) -> Result<(), TestCaseError> {
    let text = render(&case.rule);
    let mut rules = RuleSet::new(schema());
    let rule = rules
        .compile(
            "items",
            Action::Read,
            "prop",
            RuleSource {
                text: text.clone(),
                location: None,
            },
            CheckOptions {
                in_memory: true,
                sql_functions: false,
            },
        )
        .map_err(|d| fail(format!("generated rule does not check: {text}: {d:?}")))?;
    db.load(case)
        .await
        .map_err(|e| fail(format!("load: {e}")))?;
    let rows = case.item_rows();
    let data = case.dataset();
    let target = SqlTarget::new(db.dialect(), "items");
    for caller in &case.callers {
        let user = caller.as_ref().map(principal);
        let expected: BTreeSet<i64> = rows
            .iter()
            .filter(|r| rule.evaluate(&Env::new(user.as_ref(), Some(r)).with_data(&data)))
            .filter_map(|r| match r.get("id") {
                Some(Value::Int(id)) => Some(*id),
                _ => None,
            })
            .collect();
        // 1. The list query: specialised on the caller, filtered in SQL.
        let residual = rule.specialize(user.as_ref());
        let selected = match &residual {
            Residual::Always(true) => rows.iter().enumerate().map(|(i, _)| i as i64 + 1).collect(),
            Residual::Always(false) => BTreeSet::new(),
            Residual::Predicate(_) => {
                let predicate = residual
                    .to_sql(&target)
                    .map_err(|e| fail(format!("compile: {e}")))?;
                let select = Query::select()
                    .column(("items".to_owned(), "id".to_owned()))
                    .from("items".to_owned())
                    .and_where(predicate)
                    .to_owned();
                db.ids(&select).await.map_err(|e| {
                    let sql = residual
                        .to_sql_string(&target)
                        .map(|(sql, _)| sql)
                        .unwrap_or_default();
                    fail(format!("query failed for `{text}`: {e}\nSQL: {sql}"))
                })?
            }
        };
        if selected != expected {
            let (sql, values) = residual
                .to_sql_string(&target)
                .map(|(sql, values)| (sql, format!("{values:?}")))
                .unwrap_or_default();
            return Err(fail(format!(
                "{:?}: rule `{text}` for {caller:?}\nevaluator allows {expected:?}\nSQL selects    {selected:?}\nSQL: {sql}\nparams: {values:?}",
                db.dialect()
            )));
        }
        // 1b. The same list with `exists` as a correlated probe (how
        // per-row flags compile) instead of a semi-join.
        if let Residual::Predicate(_) = &residual {
            let correlated = target.correlated();
            let predicate = residual
                .to_sql(&correlated)
                .map_err(|e| fail(format!("compile: {e}")))?;
            let select = Query::select()
                .column(("items".to_owned(), "id".to_owned()))
                .from("items".to_owned())
                .and_where(predicate)
                .to_owned();
            let probed = db
                .ids(&select)
                .await
                .map_err(|e| fail(format!("correlated query failed for `{text}`: {e}")))?;
            if probed != expected {
                return Err(fail(format!(
                    "{:?}: rule `{text}` for {caller:?} (correlated exists)\nevaluator allows {expected:?}\nSQL selects    {probed:?}",
                    db.dialect()
                )));
            }
        }
        // 1c. The list read per alternative (when the rule splits): every
        // page equals the evaluator's rows in page order, cut the same way.
        if let Some(alternatives) = residual
            .alternatives(&target, "id")
            .map_err(|e| fail(format!("alternatives: {e}")))?
        {
            let a_of = |id: i64| case.items[(id - 1) as usize].a;
            for (limit, after, by_a) in [(1, 0, false), (2, 2, false), (2, 0, true), (50, 0, false)]
            {
                let mut want: Vec<i64> = expected
                    .iter()
                    .copied()
                    .filter(|id| by_a || *id > after)
                    .collect();
                if by_a {
                    want.sort_by_key(|id| (a_of(*id), *id));
                }
                want.truncate(limit as usize);
                let select = paged(&alternatives, limit, after, by_a);
                let got = db.ordered_ids(&select).await.map_err(|e| {
                    let (sql, _) = warden_policy::sql::build(&select, db.dialect());
                    fail(format!("paged query failed for `{text}`: {e}\nSQL: {sql}"))
                })?;
                if got != want {
                    let (sql, _) = warden_policy::sql::build(&select, db.dialect());
                    return Err(fail(format!(
                        "{:?}: rule `{text}` for {caller:?}, page of {limit} after {after} (by a: {by_a})\nevaluator allows {want:?}\nSQL selects    {got:?}\nSQL: {sql}",
                        db.dialect()
                    )));
                }
            }
        }
        // 2. The create/update path: the row itself known, the rest in SQL.
        for r in &rows {
            let wanted = rule.evaluate(&Env::new(user.as_ref(), Some(r)).with_data(&data));
            let known = Known {
                user: user.as_ref(),
                row: Some(r),
                new: None,
            };
            let residual = rule.specialize_with(&known);
            let got = match &residual {
                Residual::Always(b) => *b,
                Residual::Predicate(_) => {
                    let predicate = residual
                        .to_sql(&target)
                        .map_err(|e| fail(format!("compile known row: {e}")))?;
                    let select = Query::select()
                        .expr(Expr::val(1i64))
                        .and_where(predicate)
                        .to_owned();
                    !db.ids(&select)
                        .await
                        .map_err(|e| fail(format!("known-row query failed for `{text}`: {e}")))?
                        .is_empty()
                }
            };
            if got != wanted {
                return Err(fail(format!(
                    "{:?}: rule `{text}` on known row {r:?} for {caller:?}: evaluator {wanted}, specialised {got}",
                    db.dialect()
                )));
            }
        }
    }
    Ok(())
}

fn cases(default: u32) -> u32 {
    std::env::var("WARDEN_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn run(runtime: &tokio::runtime::Runtime, db: Db, count: u32) {
    let db = std::cell::RefCell::new(db);
    let config = Config {
        cases: count,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/equivalence.proptest-regressions",
        ))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |case| {
        runtime.block_on(check_case(&mut db.borrow_mut(), &case))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn sql_predicate_selects_exactly_the_rows_the_evaluator_allows_on_sqlite() {
    let runtime = runtime();
    let conn = runtime.block_on(async {
        let mut c = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("sqlite");
        c.execute(SQLITE_DDL).await.expect("ddl");
        c
    });
    run(&runtime, Db::Sqlite(conn), cases(3000));
}

#[test]
fn sql_predicate_selects_exactly_the_rows_the_evaluator_allows_on_postgres() {
    let Ok(url) = std::env::var("WARDEN_TEST_POSTGRES") else {
        eprintln!(
            "skipped: WARDEN_TEST_POSTGRES not set; PostgreSQL equivalence cases did not run"
        );
        return;
    };
    let runtime = runtime();
    let name = format!("warden_policy_eq_{}_{}", std::process::id(), rand_suffix());
    let admin_options =
        sqlx::postgres::PgConnectOptions::from_str(&url).expect("WARDEN_TEST_POSTGRES is a URL");
    let conn = runtime.block_on(async {
        let mut admin = PgConnection::connect_with(&admin_options).await.expect("connect to PostgreSQL");
        // A linguistic collation (where 'a' < 'B') proves text order is
        // pinned to bytes; fall back to the server default without ICU.
        let icu = format!("CREATE DATABASE \"{name}\" LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' TEMPLATE template0");
        if admin.execute(sqlx::AssertSqlSafe(icu)).await.is_err() {
            eprintln!("note: ICU unavailable; PostgreSQL cases use the server's default collation");
            admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).await.expect("create database");
        }
        let mut c = PgConnection::connect_with(&admin_options.clone().database(&name)).await.expect("connect");
        c.execute(POSTGRES_DDL).await.expect("ddl");
        c
    });
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(&runtime, Db::Postgres(conn), cases(1000))
    }));
    runtime.block_on(async {
        let mut admin = PgConnection::connect_with(&admin_options)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .await
            .expect("drop database");
    });
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}
