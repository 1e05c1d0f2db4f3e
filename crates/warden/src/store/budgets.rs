//! Rows of attempt budgets (`_warden_attempt_budgets`): one row per key
//! digest holding the time its budget is whole again, in milliseconds (the
//! "theoretical arrival time" of the generic cell rate algorithm). Taking
//! a slot checks and consumes in one statement, so concurrent attempts
//! cannot both pass a check that only one of them fits. It must not decide
//! limits nor see a login name or address in clear: `auth::limit` does.

use super::ddl::ATTEMPT_BUDGETS_TABLE;
use super::rows::{int, take};
use super::{Store, StoreError};
use crate::config::FieldKind;
use sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict, Query};

/// One slot to take from one key's budget.
#[derive(Debug, Clone, Copy)]
pub struct Draw<'a> {
    pub key: &'a str,
    /// How long a used slot takes to come back.
    pub slot_ms: i64,
    /// How far ahead of now the budget's refill time may lie and one more
    /// slot still fit: `(slots - 1) * slot_ms`.
    pub tolerance_ms: i64,
}

/// Rows the clean-up forgets in one statement, so it stays short.
const FORGET_BATCH: u64 = 1000;

const REFILLED_AT: &str = "refilled_at";

impl Store {
    /// Takes one slot from every budget in `draws`, in one transaction:
    /// all or none. `None` when taken; else the milliseconds until every
    /// one of them has a slot again (as things stand; at least 1).
    ///
    /// Each draw is one upsert whose `DO UPDATE ... WHERE` is the check:
    /// the database evaluates it on the locked, latest row, so the check
    /// and the consumption cannot be separated by another attempt. Draws
    /// are taken in the order given; callers keep one order (account
    /// before address) so two transactions never wait on each other.
    pub async fn draw_slots(
        &self,
        draws: &[Draw<'_>],
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin().await?;
        for draw in draws {
            if tx.execute(&draw_statement(draw, now_ms)).await? == 0 {
                drop(tx);
                let mut wait = 1;
                for draw in draws {
                    if let Some(refilled_at) = self.refilled_at(draw.key).await? {
                        let free_at = refilled_at.saturating_sub(draw.tolerance_ms);
                        wait = Ord::max(wait, free_at.saturating_sub(now_ms));
                    }
                }
                return Ok(Some(wait));
            }
        }
        tx.commit().await?;
        Ok(None)
    }

    /// Gives one slot back to `key`'s budget (an attempt that does not
    /// count after all).
    pub async fn return_slot(&self, key: &str, slot_ms: i64) -> Result<(), StoreError> {
        let column = Expr::col((ATTEMPT_BUDGETS_TABLE, REFILLED_AT));
        self.execute(
            Query::update()
                .table(ATTEMPT_BUDGETS_TABLE)
                .value(REFILLED_AT, column.sub(slot_ms))
                .and_where(Expr::col("key_hash").eq(Expr::val(key.to_owned()))),
        )
        .await?;
        Ok(())
    }

    /// Forgets budgets that are whole again (a missing row is a whole
    /// budget). Rows another transaction holds are skipped, not waited
    /// for: waiting here while that transaction waits for a row this
    /// statement locked would deadlock on PostgreSQL.
    pub async fn forget_whole_budgets(&self, now_ms: i64) -> Result<(), StoreError> {
        let whole = Query::select()
            .column("key_hash")
            .from(ATTEMPT_BUDGETS_TABLE)
            .and_where(Expr::col(REFILLED_AT).lte(now_ms))
            .limit(FORGET_BATCH)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        self.execute(
            Query::delete()
                .from_table(ATTEMPT_BUDGETS_TABLE)
                .and_where(Expr::col("key_hash").in_subquery(whole)),
        )
        .await?;
        Ok(())
    }

    /// When `key`'s budget is whole again, if it has a row.
    async fn refilled_at(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let select = Query::select()
            .column(REFILLED_AT)
            .from(ATTEMPT_BUDGETS_TABLE)
            .and_where(Expr::col("key_hash").eq(Expr::val(key.to_owned())))
            .to_owned();
        let read = self
            .fetch_optional_as(self.build(&select), &|_| Some(FieldKind::Integer))
            .await?;
        Ok(match read {
            Some(mut row) => Some(take(&mut row, REFILLED_AT, int)?),
            None => None,
        })
    }
}

/// `INSERT (key, now + slot) ON CONFLICT (key) DO UPDATE SET refilled_at =
/// max(refilled_at, now) + slot WHERE refilled_at <= now + tolerance`: a
/// new key always has a slot; a known one only while its refill time lies
/// at most `tolerance` ahead. No row changes when the check fails.
fn draw_statement(draw: &Draw<'_>, now_ms: i64) -> sea_query::InsertStatement {
    let current = Expr::col((ATTEMPT_BUDGETS_TABLE, REFILLED_AT));
    // CASE, not GREATEST/MAX: the one spelling both backends share.
    let from: Expr = Expr::case(current.clone().gt(now_ms), current.clone())
        .finally(Expr::val(now_ms))
        .into();
    Query::insert()
        .into_table(ATTEMPT_BUDGETS_TABLE)
        .columns(["key_hash", REFILLED_AT])
        .values_panic([
            Expr::val(draw.key.to_owned()),
            Expr::val(now_ms.saturating_add(draw.slot_ms)),
        ])
        .on_conflict(
            OnConflict::column("key_hash")
                .value(REFILLED_AT, from.add(draw.slot_ms))
                .action_and_where(current.lte(now_ms.saturating_add(draw.tolerance_ms)))
                .to_owned(),
        )
        .to_owned()
}
