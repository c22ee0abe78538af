//! The account's daily D1 budget, as pure arithmetic: how much of the day is
//! spent, which requests are shed as it runs low, each key's fair share of
//! sends, and when the day resets.
//!
//! D1's free plan gives the whole account 100,000 rows written and 5,000,000
//! rows read a day, reset at 00:00 UTC; past either, every query fails until
//! the reset. One party must not be able to spend that for everyone, so the
//! Worker sheds load in a fixed order as the day's spend climbs (percent of
//! the configured budget):
//!
//! 1. [`GROWTH_STOP_PCT`] of writes or reads: no new keys, rooms or members
//!    (`daily_budget_low`). Existing users keep everything.
//! 2. [`FAIR_SHARE_PCT`] of writes: a key's daily send cap drops to its fair
//!    share ([`fair_share_cap`]); keys that sent more today are refused.
//!    [`ANON_READS_STOP_PCT`] of reads: anonymous reads (public rooms, the
//!    featured room) stop (`daily_reads_low`).
//! 3. [`WRITES_STOP_PCT`] of writes: every write but a revocation is refused
//!    (`daily_writes_spent`); reads keep working.
//!    [`READS_STOP_PCT`] of reads: every read is refused too
//!    (`daily_reads_spent`): D1 would fail it anyway.
//!
//! A refusal is a 429 whose `Retry-After` is the time to the next reset
//! ([`seconds_to_reset`]). A budget of 0 turns its side off.

use serde::{Deserialize, Serialize};

use crate::ratelimit::DAY_MS;
use crate::route::Endpoint;
use crate::ErrorCode;

/// The free plan's rows written per day, account-wide (the default budget).
pub const FREE_ROWS_WRITTEN_PER_DAY: u64 = 100_000;
/// The free plan's rows read per day, account-wide (the default budget).
pub const FREE_ROWS_READ_PER_DAY: u64 = 5_000_000;

/// Percent of either budget at which new keys, rooms and members stop.
pub const GROWTH_STOP_PCT: u64 = 80;
/// Percent of the write budget at which sends are capped at the fair share.
pub const FAIR_SHARE_PCT: u64 = 90;
/// Percent of the write budget at which writes stop. The 5 % left is the
/// reserve for what is never refused (revocations, the retention purge, the
/// accounting itself) and for other isolates' not yet flushed counts.
pub const WRITES_STOP_PCT: u64 = 95;
/// Percent of the read budget at which anonymous reads stop.
pub const ANON_READS_STOP_PCT: u64 = 90;
/// Percent of the read budget at which keyed reads stop as well.
pub const READS_STOP_PCT: u64 = 98;

/// D1 rows written by one message that mentions nobody (the schema's target),
/// used to turn a row budget into messages.
pub const ROWS_PER_MESSAGE: u64 = 3;
/// The fair share splits the day's write budget as if among this many busy
/// keys: on the free plan 100,000 / 3 / 100 = 333 messages a key.
pub const FAIR_SHARE_KEYS: u64 = 100;

/// How often an isolate adds its rows to the shared daily row at most.
pub const FLUSH_EVERY_MS: i64 = 5 * 60 * 1000;
/// An isolate flushes early once it holds this permille of the write budget.
pub const FLUSH_EARLY_PERMILLE: u64 = 10;
/// How long an isolate trusts the day's total it last read.
pub const REFRESH_EVERY_MS: i64 = 10 * 1000;

/// The day's allowance in D1 rows; 0 on a side means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub rows_written: u64,
    pub rows_read: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            rows_written: FREE_ROWS_WRITTEN_PER_DAY,
            rows_read: FREE_ROWS_READ_PER_DAY,
        }
    }
}

/// Rows spent so far today (this isolate's estimate of the account's total).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spent {
    pub rows_written: u64,
    pub rows_read: u64,
}

/// Whether `spent` has reached `pct` percent of `budget` (never, when off).
pub fn reached(spent: u64, budget: u64, pct: u64) -> bool {
    budget > 0 && u128::from(spent) * 100 >= u128::from(budget) * u128::from(pct)
}

/// The write side's shedding step, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteStage {
    Normal,
    /// No new keys, rooms or members.
    GrowthPaused,
    /// And sends capped at each key's fair share.
    FairShare,
    /// And no writes but revocations.
    WritesSpent,
}

/// The read side's shedding step, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadStage {
    Normal,
    /// No new keys, rooms or members.
    GrowthPaused,
    /// And no anonymous reads.
    AnonymousPaused,
    /// And no reads at all.
    ReadsSpent,
}

pub fn write_stage(budget: Budget, spent: Spent) -> WriteStage {
    let at = |pct| reached(spent.rows_written, budget.rows_written, pct);
    if at(WRITES_STOP_PCT) {
        WriteStage::WritesSpent
    } else if at(FAIR_SHARE_PCT) {
        WriteStage::FairShare
    } else if at(GROWTH_STOP_PCT) {
        WriteStage::GrowthPaused
    } else {
        WriteStage::Normal
    }
}

pub fn read_stage(budget: Budget, spent: Spent) -> ReadStage {
    let at = |pct| reached(spent.rows_read, budget.rows_read, pct);
    if at(READS_STOP_PCT) {
        ReadStage::ReadsSpent
    } else if at(ANON_READS_STOP_PCT) {
        ReadStage::AnonymousPaused
    } else if at(GROWTH_STOP_PCT) {
        ReadStage::GrowthPaused
    } else {
        ReadStage::Normal
    }
}

/// The code for a D1 failure that says the account's daily limit is already
/// spent (D1 enforces it on the free plan from 2026-09-01: "Your account has
/// exceeded daily row read limit." / "... row write limit."). The Worker's
/// own estimate can lag other isolates', so this maps the real refusal to the
/// same 429 instead of a 500.
pub fn d1_limit_code(d1_message: &str) -> Option<ErrorCode> {
    let m = d1_message.to_ascii_lowercase();
    if m.contains("daily row write limit") {
        Some(ErrorCode::DailyWritesSpent)
    } else if m.contains("daily row read limit") {
        Some(ErrorCode::DailyReadsSpent)
    } else {
        None
    }
}

/// What a request costs the budget, for deciding whom to shed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Never refused by the budget: liveness, the usage report itself, and
    /// revocation (a leaked key must always be revocable).
    Exempt,
    /// Creates a key, a room or a member: the first to go.
    Growth,
    /// Writes rows for an existing key: sends, settings, read cursors, decisions.
    Write,
    /// Reads only (as far as the route can tell; MCP decides per tool).
    Read,
}

/// The budget kind of each endpoint.
pub fn classify(endpoint: &Endpoint) -> Kind {
    use Endpoint::*;
    match endpoint {
        // The OpenAPI document is a static asset: no D1 at all.
        Health | Usage | RevokeKey | OpenApi => Kind::Exempt,
        CreateKey | CreateRoom | AddMember(_) => Kind::Growth,
        SendMessage(_) | UpdateRoom(_) | RemoveMember(..) | ReissueToken(..) | MarkRead(_)
        | Decisions(_) | DecisionAnswer(..) | DecisionCancel(..) => Kind::Write,
        Mcp | ListRooms | GetRoom(_) | Featured | ListMessages(_) | Events(_) | Socket(_)
        | WhoAmI | ListMembers(_) | Inbox(_) | Wait(_) | Decision(..) | DecisionWait(..) => {
            Kind::Read
        }
        // A ticket writes one short-lived row, but it is how the web UI opens
        // a stream: shedding it would shed existing keys' reads, which go last.
        StreamTicket(_) => Kind::Read,
    }
}

/// Whether the day's budget sheds this request, and with which code.
/// `anonymous`: the request presents no credential.
pub fn shed(kind: Kind, anonymous: bool, budget: Budget, spent: Spent) -> Option<ErrorCode> {
    if kind == Kind::Exempt {
        return None;
    }
    let (writes, reads) = (write_stage(budget, spent), read_stage(budget, spent));
    if reads == ReadStage::ReadsSpent {
        // Every request reads (if only the key): D1 would refuse it anyway.
        return Some(ErrorCode::DailyReadsSpent);
    }
    match kind {
        Kind::Exempt => None,
        Kind::Read if anonymous && reads >= ReadStage::AnonymousPaused => {
            Some(ErrorCode::DailyReadsLow)
        }
        Kind::Read => None,
        Kind::Growth | Kind::Write if writes == WriteStage::WritesSpent => {
            Some(ErrorCode::DailyWritesSpent)
        }
        Kind::Growth if writes >= WriteStage::GrowthPaused || reads >= ReadStage::GrowthPaused => {
            Some(ErrorCode::DailyBudgetLow)
        }
        Kind::Growth | Kind::Write => None,
    }
}

/// Messages a day a key may send once the write budget is at
/// [`FAIR_SHARE_PCT`]: the day's messages split among [`FAIR_SHARE_KEYS`]
/// busy keys, at least 1.
pub fn fair_share(budget: Budget) -> u32 {
    let share = budget.rows_written / ROWS_PER_MESSAGE / FAIR_SHARE_KEYS;
    u32::try_from(share).unwrap_or(u32::MAX).max(1)
}

/// The per-key daily send cap to pass to the send: `normal_cap` while the
/// budget is healthy, the smaller of it and [`fair_share`] once the write
/// budget reaches [`FAIR_SHARE_PCT`]. A `normal_cap` of 0 means "no cap",
/// and so does the result 0 (it is only returned for an input 0 while the
/// budget is healthy): a low budget never turns the cap off.
pub fn fair_share_cap(normal_cap: u32, budget: Budget, spent: Spent) -> u32 {
    if write_stage(budget, spent) < WriteStage::FairShare {
        return normal_cap;
    }
    match normal_cap {
        0 => fair_share(budget),
        cap => cap.min(fair_share(budget)),
    }
}

/// The UTC day `now_ms` falls in, as days since the epoch.
pub fn day_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(DAY_MS)
}

/// Seconds until the next 00:00 UTC, rounded up and at least 1.
pub fn seconds_to_reset(now_ms: i64) -> u64 {
    let left = DAY_MS - now_ms.rem_euclid(DAY_MS);
    (left as u64).div_ceil(1000).max(1)
}

/// Whether an isolate holding `pending` unflushed rows, `since_ms` after its
/// last flush, adds them to the shared daily row now: every
/// [`FLUSH_EVERY_MS`], or at once when it holds [`FLUSH_EARLY_PERMILLE`] of
/// the write budget (so a hot isolate's spend reaches the others early).
pub fn flush_due(pending: Spent, since_ms: i64, budget: Budget) -> bool {
    if pending == Spent::default() {
        return false;
    }
    let heavy = budget.rows_written > 0
        && u128::from(pending.rows_written) * 1000
            >= u128::from(budget.rows_written) * u128::from(FLUSH_EARLY_PERMILLE);
    heavy || since_ms >= FLUSH_EVERY_MS
}

/// One side of the day's budget, as `GET /api/usage` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    pub spent: u64,
    /// 0: this side is not limited.
    pub budget: u64,
    /// Whole percent spent (0 when not limited).
    pub percent: u32,
}

impl Meter {
    pub fn new(spent: u64, budget: u64) -> Meter {
        let percent = if budget == 0 {
            0
        } else {
            u32::try_from(u128::from(spent) * 100 / u128::from(budget)).unwrap_or(u32::MAX)
        };
        Meter {
            spent,
            budget,
            percent,
        }
    }
}

/// `GET /api/usage`: how much of the day's D1 budget is spent, and what is
/// being shed because of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// The UTC day counted, `YYYY-MM-DD`.
    pub day: String,
    /// The next reset (00:00 UTC), RFC 3339.
    pub resets_at: String,
    pub reset_in_secs: u64,
    pub rows_written: Meter,
    pub rows_read: Meter,
    pub writes: WriteStage,
    pub reads: ReadStage,
    /// The key's fair share of sends a day, enforced once `writes` is
    /// `fair_share`.
    pub fair_share: u32,
}

impl Usage {
    pub fn new(budget: Budget, spent: Spent, now_ms: i64) -> Usage {
        let day_start = day_of(now_ms) * DAY_MS;
        let day = crate::time::rfc3339_millis(day_start);
        Usage {
            day: day.get(..10).unwrap_or("").to_owned(),
            resets_at: crate::time::rfc3339_millis(day_start + DAY_MS),
            reset_in_secs: seconds_to_reset(now_ms),
            rows_written: Meter::new(spent.rows_written, budget.rows_written),
            rows_read: Meter::new(spent.rows_read, budget.rows_read),
            writes: write_stage(budget, spent),
            reads: read_stage(budget, spent),
            fair_share: fair_share(budget),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Budget = Budget {
        rows_written: 1000,
        rows_read: 10_000,
    };

    fn spent(w: u64, r: u64) -> Spent {
        Spent {
            rows_written: w,
            rows_read: r,
        }
    }

    #[test]
    fn defaults_are_the_free_plan() {
        assert_eq!(Budget::default().rows_written, 100_000);
        assert_eq!(Budget::default().rows_read, 5_000_000);
        assert_eq!(fair_share(Budget::default()), 333);
    }

    #[test]
    fn thresholds_are_inclusive_and_off_at_zero() {
        assert!(!reached(799, 1000, 80));
        assert!(reached(800, 1000, 80));
        assert!(!reached(u64::MAX, 0, 1));
        assert!(reached(u64::MAX, u64::MAX, 100));
    }

    #[test]
    fn write_stages_climb_in_order() {
        assert_eq!(write_stage(B, spent(0, 0)), WriteStage::Normal);
        assert_eq!(write_stage(B, spent(799, 0)), WriteStage::Normal);
        assert_eq!(write_stage(B, spent(800, 0)), WriteStage::GrowthPaused);
        assert_eq!(write_stage(B, spent(900, 0)), WriteStage::FairShare);
        assert_eq!(write_stage(B, spent(950, 0)), WriteStage::WritesSpent);
        assert_eq!(write_stage(B, spent(5000, 0)), WriteStage::WritesSpent);
    }

    #[test]
    fn the_shedding_order() {
        use Kind::*;
        let at = |w, r| {
            [
                shed(Growth, false, B, spent(w, r)),
                shed(Write, false, B, spent(w, r)),
                shed(Read, true, B, spent(w, r)),
                shed(Read, false, B, spent(w, r)),
                shed(Exempt, true, B, spent(w, r)),
            ]
        };
        let low = Some(ErrorCode::DailyBudgetLow);
        let w_spent = Some(ErrorCode::DailyWritesSpent);
        let r_low = Some(ErrorCode::DailyReadsLow);
        let r_spent = Some(ErrorCode::DailyReadsSpent);
        assert_eq!(at(0, 0), [None; 5]);
        // Growth goes first, on either side.
        assert_eq!(at(800, 0), [low, None, None, None, None]);
        assert_eq!(at(0, 8000), [low, None, None, None, None]);
        // Fair share is the send path's cap; the gate lets writes through.
        assert_eq!(at(900, 0), [low, None, None, None, None]);
        // Writes spent: no writes, every read still works.
        assert_eq!(at(950, 0), [w_spent, w_spent, None, None, None]);
        // Reads low: anonymous readers go before keyed ones.
        assert_eq!(at(0, 9000), [low, None, r_low, None, None]);
        assert_eq!(at(950, 9000), [w_spent, w_spent, r_low, None, None]);
        // Reads spent: only what is exempt is left.
        assert_eq!(at(0, 9800), [r_spent, r_spent, r_spent, r_spent, None]);
        // Unlimited budgets shed nothing.
        let off = Budget {
            rows_written: 0,
            rows_read: 0,
        };
        assert_eq!(shed(Growth, true, off, spent(u64::MAX, u64::MAX)), None);
    }

    #[test]
    fn fair_share_caps_only_when_scarce_and_never_lifts_a_cap() {
        // 1000 rows / 3 / 100 keys = 3 messages.
        assert_eq!(fair_share(B), 3);
        assert_eq!(fair_share_cap(500, B, spent(899, 0)), 500);
        assert_eq!(fair_share_cap(500, B, spent(900, 0)), 3);
        assert_eq!(fair_share_cap(2, B, spent(900, 0)), 2);
        assert_eq!(fair_share_cap(500, B, spent(10_000, 0)), 3);
        // No cap configured: none while healthy, the fair share when scarce.
        assert_eq!(fair_share_cap(0, B, spent(0, 0)), 0);
        assert_eq!(fair_share_cap(0, B, spent(900, 0)), 3);
        // A tiny budget still leaves one message.
        let tiny = Budget {
            rows_written: 10,
            rows_read: 0,
        };
        assert_eq!(fair_share(tiny), 1);
    }

    #[test]
    fn d1_limit_errors_map_to_the_daily_codes() {
        assert_eq!(
            d1_limit_code("d1: D1_ERROR: Your account has exceeded daily row write limit."),
            Some(ErrorCode::DailyWritesSpent)
        );
        assert_eq!(
            d1_limit_code("D1_ERROR: exceeded daily row read limit"),
            Some(ErrorCode::DailyReadsSpent)
        );
        assert_eq!(d1_limit_code("d1: no such table: x"), None);
    }

    #[test]
    fn reset_is_the_next_utc_midnight() {
        assert_eq!(seconds_to_reset(0), 86_400);
        assert_eq!(seconds_to_reset(DAY_MS - 1), 1);
        assert_eq!(seconds_to_reset(DAY_MS - 1500), 2);
        assert_eq!(seconds_to_reset(DAY_MS + 3_600_000), 82_800);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(DAY_MS), 1);
        assert_eq!(day_of(-1), -1);
    }

    #[test]
    fn flushes_on_time_or_on_volume_never_empty() {
        let none = Spent::default();
        assert!(!flush_due(none, FLUSH_EVERY_MS * 10, B));
        assert!(!flush_due(spent(1, 5), 1000, B));
        assert!(flush_due(spent(1, 5), FLUSH_EVERY_MS, B));
        // 1 % of a 1000-row budget is 10 rows.
        assert!(!flush_due(spent(9, 0), 0, B));
        assert!(flush_due(spent(10, 0), 0, B));
        let off = Budget {
            rows_written: 0,
            rows_read: 0,
        };
        assert!(!flush_due(spent(1_000_000, 0), 0, off));
    }

    #[test]
    fn usage_round_trips_and_names_the_day() {
        // 2026-01-02T03:04:05.678Z
        let now = 1_767_323_045_678;
        let usage = Usage::new(B, spent(912, 100), now);
        assert_eq!(usage.day, "2026-01-02");
        assert_eq!(usage.resets_at, "2026-01-03T00:00:00.000Z");
        assert_eq!(usage.reset_in_secs, 75_355);
        assert_eq!(usage.rows_written.percent, 91);
        assert_eq!(usage.writes, WriteStage::FairShare);
        assert_eq!(usage.reads, ReadStage::Normal);
        let json = serde_json::to_string(&usage).unwrap();
        assert!(json.contains("\"writes\":\"fair_share\""), "{json}");
        assert_eq!(serde_json::from_str::<Usage>(&json).unwrap(), usage);
        assert_eq!(Meter::new(5, 0).percent, 0);
    }
}
