//! The account's daily D1 budget: what this isolate knows the day has spent,
//! and the gate that sheds requests as it runs low (the order and the
//! arithmetic are in [`protocol::quota`]).
//!
//! # Accounting without a write per message
//! Every D1 result already carries `meta.rows_read` / `meta.rows_written`;
//! `store::d1` adds each one to this isolate's pending counters (memory
//! only, `d1::pending`). An isolate adds its pending rows to the
//! day's single row in `daily_usage` with one UPSERT, batched with a SELECT of
//! the day's total, at most every [`quota::FLUSH_EVERY_MS`] (sooner once it
//! holds 1 % of the write budget), and re-reads the total every
//! [`quota::REFRESH_EVERY_MS`]. Its estimate of the day is that total plus
//! its own pending rows, so within one isolate it is exact, and another
//! isolate's spend shows up within a flush interval. A cold isolate reads the
//! total before it answers its first request (one extra round trip, once);
//! afterwards refreshes run after the response (`wait_until`).
//!
//! What it costs: one row written per flush (≤ 288 a day for an isolate busy
//! all day) and one or two rows read per refresh (≤ 8,640 a day), counted
//! against the budget like any other query, since they go through `Db` too.
//!
//! What it misses: rows an isolate counted but did not flush before it was
//! evicted (at most 5 minutes' or 1 % of the budget's worth), and queries made
//! in isolates that never serve a request (a Durable Object's own pushes, the
//! scheduled purge) unless they call [`flush_now`]. The 5 % reserve below the
//! plan's limit ([`quota::WRITES_STOP_PCT`]) is there for these.

use std::cell::RefCell;

use protocol::quota::{self, Budget, Kind, Spent};
use protocol::route::Endpoint;
use protocol::ErrorCode;
use worker::Env;

use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::store::d1::{self, rows, Arg, Db};

/// The day's total as last read from D1: every flush so far, ours included.
#[derive(Clone, Copy)]
struct Known {
    day: i64,
    total: Spent,
    at_ms: i64,
}

#[derive(Default)]
struct Isolate {
    /// When this isolate last flushed (0: never).
    flushed_ms: i64,
    known: Option<Known>,
    /// When the refresh in flight started; concurrent requests do not start
    /// another. A time, not a flag, so a refresh whose future was dropped
    /// cannot block refreshes for the isolate's life.
    refreshing_ms: Option<i64>,
}

thread_local! {
    // Workers run one thread per isolate: this is the isolate's memory.
    static ISOLATE: RefCell<Isolate> = RefCell::new(Isolate::default());
}

/// This isolate's estimate of what the account spent today.
pub fn estimate(now_ms: i64) -> Spent {
    ISOLATE.with(|i| {
        let i = i.borrow();
        let base = i
            .known
            .filter(|k| k.day == quota::day_of(now_ms))
            .map(|k| k.total)
            .unwrap_or_default();
        let pending = d1::pending();
        Spent {
            rows_read: base.rows_read.saturating_add(pending.rows_read),
            rows_written: base.rows_written.saturating_add(pending.rows_written),
        }
    })
}

/// The per-key daily send cap the send path should enforce now: the key's
/// normal cap while the budget is healthy, its fair share once the write
/// budget is at [`quota::FAIR_SHARE_PCT`]. Meant to be passed as the send's
/// `daily_cap` (the per-key daily quota counted inside the send's own writes);
/// it costs no query, since the gate has already refreshed the estimate.
pub fn daily_cap(ctx: &Ctx, normal_cap: u32) -> u32 {
    quota::fair_share_cap(normal_cap, ctx.config.budget, estimate(ctx.now_ms))
}

/// Refreshes the estimate when due, then refuses the request if the day's
/// budget sheds it (429 with the quota's code and `Retry-After` at 00:00 UTC).
pub async fn gate(ctx: &Ctx, endpoint: &Endpoint) -> AppResult<()> {
    ensure_fresh(ctx).await;
    check(ctx, quota::classify(endpoint))
}

/// Refuses a request of `kind` if the day's budget sheds it. MCP calls this
/// per tool, since one route carries both reads and writes.
pub fn check(ctx: &Ctx, kind: Kind) -> AppResult<()> {
    let anonymous = !crate::budget_client::has_credential(ctx);
    match quota::shed(kind, anonymous, ctx.config.budget, estimate(ctx.now_ms)) {
        None => Ok(()),
        Some(code) => Err(AppError::too_many(
            code,
            refusal_text(code),
            quota::seconds_to_reset(ctx.now_ms),
        )),
    }
}

/// Turns D1's own "daily limit exceeded" failure (our estimate lagged) into
/// the same 429 the gate gives, rather than a 500; other errors pass as they are.
pub fn d1_limit_as_refusal(error: AppError, now_ms: i64) -> AppError {
    match &error {
        AppError::Internal(cause) => match quota::d1_limit_code(cause) {
            Some(code) => {
                worker::console_warn!("D1 refused on its daily limit: {cause}");
                AppError::too_many(code, refusal_text(code), quota::seconds_to_reset(now_ms))
            }
            None => error,
        },
        AppError::Client { .. } => error,
    }
}

fn refusal_text(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::DailyBudgetLow => {
            "the service's daily database budget is running low: new keys, rooms and \
             members are paused until 00:00 UTC; everything else works"
        }
        ErrorCode::DailyWritesSpent => {
            "the service's daily database write budget is spent: sending and other \
             writes resume at 00:00 UTC; reading still works"
        }
        ErrorCode::DailyReadsLow => {
            "the service's daily database read budget is running low: reading without \
             a key is paused until 00:00 UTC"
        }
        _ => "the service's daily database read budget is spent: it resumes at 00:00 UTC",
    }
}

/// Reads the day's total now if this isolate does not know it (cold, or a new
/// day); otherwise, if it is stale or a flush is due, refreshes after the
/// response. A failed refresh is logged and the request goes on: accounting
/// must never be what takes the service down.
async fn ensure_fresh(ctx: &Ctx) {
    let now = ctx.now_ms;
    let budget = ctx.config.budget;
    let (cold, due) = ISOLATE.with(|i| {
        let i = i.borrow();
        let cold = i.known.is_none_or(|k| k.day != quota::day_of(now));
        let stale = i
            .known
            .is_some_and(|k| now - k.at_ms >= quota::REFRESH_EVERY_MS);
        let flush = quota::flush_due(d1::pending(), now - i.flushed_ms, budget);
        let idle = i
            .refreshing_ms
            .is_none_or(|t| now - t >= quota::REFRESH_EVERY_MS * 3);
        (cold, idle && (stale || flush))
    });
    if cold {
        if let Err(e) = refresh(&ctx.env, now, budget).await {
            worker::console_warn!("budget refresh failed: {e:?}");
        }
    } else if due {
        ctx.after_response("budget refresh", move |env| async move {
            refresh(&env, now, budget).await
        });
    }
}

/// Adds this isolate's pending rows to the day now, whatever the interval: for
/// invocations that serve no request (a scheduled purge, a Durable Object)
/// and would otherwise take their counts with them.
pub async fn flush_now(env: &Env, now_ms: i64) -> AppResult<()> {
    refresh_with(env, now_ms, true).await
}

async fn refresh(env: &Env, now_ms: i64, budget: Budget) -> AppResult<()> {
    let flush = ISOLATE.with(|i| {
        let i = i.borrow();
        quota::flush_due(d1::pending(), now_ms - i.flushed_ms, budget)
    });
    refresh_with(env, now_ms, flush).await
}

#[derive(serde::Deserialize)]
struct TotalRow {
    rows_read: i64,
    rows_written: i64,
}

/// One round trip: the UPSERT of the pending rows (when flushing) and the
/// SELECT of the day's total.
async fn refresh_with(env: &Env, now_ms: i64, flush: bool) -> AppResult<()> {
    let day = quota::day_of(now_ms);
    let taken = ISOLATE.with(|i| {
        let mut i = i.borrow_mut();
        i.refreshing_ms = Some(now_ms);
        if flush {
            i.flushed_ms = now_ms;
            d1::take_pending()
        } else {
            Spent::default()
        }
    });
    let result = async {
        let db = Db::from_env(env)?;
        let mut stmts = Vec::with_capacity(2);
        if taken != Spent::default() {
            stmts.push(db.prepare(
                "INSERT INTO daily_usage (day, rows_read, rows_written, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT(day) DO UPDATE SET \
                 rows_read = rows_read + excluded.rows_read, \
                 rows_written = rows_written + excluded.rows_written, \
                 updated_ms = excluded.updated_ms",
                &[
                    Arg::Int(day),
                    Arg::Int(i64::try_from(taken.rows_read).unwrap_or(i64::MAX)),
                    Arg::Int(i64::try_from(taken.rows_written).unwrap_or(i64::MAX)),
                    Arg::Int(now_ms),
                ],
            )?);
        }
        stmts.push(db.prepare(
            "SELECT rows_read, rows_written FROM daily_usage WHERE day = ?1",
            &[Arg::Int(day)],
        )?);
        let results = db.batch(stmts).await?;
        let total: Option<TotalRow> = rows(results.last())?.into_iter().next();
        AppResult::Ok(total.map_or_else(Spent::default, |t| Spent {
            rows_read: u64::try_from(t.rows_read).unwrap_or(0),
            rows_written: u64::try_from(t.rows_written).unwrap_or(0),
        }))
    }
    .await;
    ISOLATE.with(|i| {
        let mut i = i.borrow_mut();
        i.refreshing_ms = None;
        match &result {
            Ok(total) => {
                i.known = Some(Known {
                    day,
                    total: *total,
                    at_ms: now_ms,
                })
            }
            Err(_) => {
                // Not flushed after all: keep the rows for the next attempt.
                d1::add_pending(taken);
            }
        }
    });
    result.map(|_| ())
}
