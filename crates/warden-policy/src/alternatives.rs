//! A list rule split into its alternatives (`a || b || …`): one select of
//! row keys per alternative, each of which the database can read from an
//! index in key order and stop at a LIMIT. Written as one `OR`, SQLite
//! gathers every visible row from both indexes and sorts them all before
//! the LIMIT, so page 1 costs as much as the caller's whole visible set.
//!
//! Builds statements only: the caller adds its own conditions, ORDER BY and
//! LIMIT to each alternative and takes the union of their keys. The union
//! of each alternative's first n rows holds the first n rows of the whole.

use crate::index::narrows_row;
use crate::ir::{FieldRef, Node, NodeKind, Start};
use crate::partial::Residual;
use crate::sql::{Compiler, SqlError, SqlTarget, exists_alias, flatten_and, semi_join};
use sea_query::{Expr, ExprTrait, Query, SelectStatement};

/// The rows one alternative of a rule allows.
#[derive(Debug, Clone)]
pub struct Alternative {
    /// `SELECT FROM <table> WHERE <alternative>`, or for a grant table
    /// `SELECT FROM <grants> JOIN <table> ON <key> = <grant column> WHERE
    /// …`; no result columns, order or limit yet.
    pub select: SelectStatement,
    /// The row's key as this select should order by it: for a join, the
    /// grant table's column, so an index on (caller column, that column)
    /// yields the rows already in key order.
    pub key: Expr,
    /// Whether a row can come out more than once (several matching grant
    /// rows): select DISTINCT, or a LIMIT would count a row twice.
    pub repeats: bool,
}

impl Residual {
    /// The alternatives of a list rule over `target.row` (the table's own
    /// name) keyed by `key`, or `None` when splitting cannot help: a
    /// predicate that is one alternative with no grant table to walk, or
    /// one with an alternative that no index narrows (its select alone
    /// could scan the table where the whole `OR` stops early).
    pub fn alternatives(
        &self,
        target: &SqlTarget,
        key: &str,
    ) -> Result<Option<Vec<Alternative>>, SqlError> {
        let Residual::Predicate(node) = self else {
            return Ok(None);
        };
        let mut parts = Vec::new();
        flatten_or(node, &mut parts);
        if !parts.iter().all(|part| narrows_row(part)) {
            return Ok(None);
        }
        let walks: Vec<Option<Walk<'_>>> = parts.iter().map(|p| grant_walk(p, key)).collect();
        if parts.len() < 2 && walks.iter().all(Option::is_none) {
            return Ok(None);
        }
        parts
            .iter()
            .zip(walks)
            .map(|(part, walk)| alternative(part, walk, target, key))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

fn flatten_or<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
    match &node.kind {
        NodeKind::Or(a, b) => {
            flatten_or(a, out);
            flatten_or(b, out);
        }
        _ => out.push(node),
    }
}

/// A grant table to walk: which conjunct of `part` is `exists(g where
/// it.f == row.<key> && <only g>)`, with `g`, `f` and the other conditions
/// on `g`. The rows it allows are the grant rows joined to the table.
struct Walk<'n> {
    conjunct: usize,
    grants: &'n str,
    column: &'n str,
    rest: Vec<&'n Node>,
}

fn grant_walk<'n>(part: &'n Node, key: &str) -> Option<Walk<'n>> {
    let mut conjuncts = Vec::new();
    flatten_and(part, &mut conjuncts);
    conjuncts.iter().enumerate().find_map(|(i, c)| {
        let NodeKind::Exists {
            depth: 0,
            condition,
            table,
            ..
        } = &c.kind
        else {
            return None;
        };
        let (column, outer, rest) = semi_join(condition, 0)?;
        matches!(&outer.kind, NodeKind::Field(FieldRef { start: Start::Row, hops, field })
            if hops.is_empty() && field == key)
        .then(|| Walk {
            conjunct: i,
            grants: table,
            column,
            rest,
        })
    })
}

fn alternative(
    part: &Node,
    walk: Option<Walk<'_>>,
    target: &SqlTarget,
    key: &str,
) -> Result<Alternative, SqlError> {
    let compiler = Compiler::new(target);
    let table = target.row.clone();
    let Some(walk) = walk else {
        let mut select = Query::select();
        select
            .from(table.clone())
            .and_where(compiler.condition(part, false)?);
        return Ok(Alternative {
            select,
            key: Expr::col((table, key.to_owned())),
            repeats: false,
        });
    };
    let alias = exists_alias(0);
    let grant_key = Expr::col((alias.clone(), walk.column.to_owned()));
    let mut select = Query::select();
    select.from_as(walk.grants.to_owned(), alias).inner_join(
        table.clone(),
        Expr::col((table, key.to_owned())).eq(grant_key.clone()),
    );
    for conjunct in walk.rest {
        select.and_where(compiler.condition(conjunct, false)?);
    }
    let mut conjuncts = Vec::new();
    flatten_and(part, &mut conjuncts);
    for (i, conjunct) in conjuncts.into_iter().enumerate() {
        if i != walk.conjunct {
            select.and_where(compiler.condition(conjunct, false)?);
        }
    }
    Ok(Alternative {
        select,
        key: grant_key,
        repeats: true,
    })
}
