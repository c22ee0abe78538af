//! A key's send limits, kept as counters in its own `api_keys` row
//! (migration 0005): `send_log`, the JSON array of its most recent send
//! times (ascending, at most the per-minute limit of them), and
//! `sent_day`/`sent_today`, its sends on the current UTC day.
//!
//! Every statement that stores a send checks them inside its own WHERE
//! ([`allowed`]) and is followed, in the same batch (one transaction), by
//! [`count_statement`], which bumps them only if that INSERT stored a row.
//! D1 has one writer, so both limits are exact under bursts, and a send
//! writes one row (the key's) where an index on (key, time) wrote another.
//! No indexed column of `api_keys` changes, so no index entry is written.

use protocol::ratelimit::Limit;
use protocol::send_quota::{utc_day, SendCounters};
use worker::D1PreparedStatement;

use crate::error::AppResult;
use crate::store::d1::{Arg, Db};

/// The limits one send is held to.
#[derive(Debug, Clone, Copy)]
pub struct SendLimits {
    /// At most `max` sends in any minute (0: no limit).
    pub per_minute: Limit,
    /// At most this many sends per UTC day (0: no quota). A value, not read
    /// from config here, so the budget can lower it to a fair share.
    pub daily_cap: u32,
    pub now_ms: i64,
}

impl SendLimits {
    /// The values [`allowed`] names, in order: window start, max, day, cap.
    pub fn args(&self) -> [Arg<'static>; 4] {
        [
            Arg::Int(self.per_minute.window_start(self.now_ms)),
            i64::from(self.per_minute.max).into(),
            Arg::Int(utc_day(self.now_ms)),
            i64::from(self.daily_cap).into(),
        ]
    }
}

/// The condition that the key row `k` may send once more, with the four
/// [`SendLimits::args`] bound from `?first` on.
///
/// `send_log` holds the key's most recent send times, ascending, at most
/// `max` of them (see [`count_statement`]), so the per-minute check is one
/// lookup: fewer than `max` sends logged, or the `max`-th most recent already
/// out of the window. `json_extract` reads no rows (a `json_each` scan would
/// count one read per logged send).
pub fn allowed(k: &str, first: u8) -> String {
    let (window, max, day, cap) = (first, first + 1, first + 2, first + 3);
    let log = format!("COALESCE({k}.send_log, '[]')");
    format!(
        "(?{max} = 0 OR json_array_length({log}) < ?{max} \
           OR json_extract({log}, '$[' || (json_array_length({log}) - CAST(?{max} AS INTEGER)) || ']') \
             <= ?{window}) \
         AND (?{cap} = 0 OR (CASE WHEN {k}.sent_day = ?{day} THEN {k}.sent_today ELSE 0 END) \
           < ?{cap})"
    )
}

/// Counts the send that stored message `message_id`, if the statement just
/// before it in the batch stored it (`changes()`: a refused or repeated send
/// counts nothing). The log drops its oldest time once it holds `max` (two
/// while it is longer, after the limit was lowered) and appends the send's,
/// never below the last (an isolate's clock may lag another's), so it stays
/// ascending and at most `max` long. Without a per-minute limit it is not kept.
pub fn count_statement(
    db: &Db,
    message_id: &str,
    limits: &SendLimits,
) -> AppResult<D1PreparedStatement> {
    db.prepare(
        "UPDATE api_keys SET \
           send_log = CASE WHEN ?2 = 0 THEN NULL ELSE json_insert( \
             CASE WHEN json_array_length(COALESCE(send_log, '[]')) > ?2 \
                    THEN json_remove(send_log, '$[0]', '$[0]') \
                  WHEN json_array_length(COALESCE(send_log, '[]')) = ?2 \
                    THEN json_remove(send_log, '$[0]') \
                  ELSE COALESCE(send_log, '[]') END, \
             '$[#]', MAX(CAST(?3 AS INTEGER), \
               COALESCE(json_extract(send_log, '$[#-1]'), 0))) END, \
           sent_today = CASE WHEN sent_day = ?4 THEN sent_today + 1 ELSE 1 END, \
           sent_day = ?4 \
         WHERE changes() = 1 AND id = (SELECT key_id FROM messages WHERE id = ?1)",
        &[
            message_id.into(),
            i64::from(limits.per_minute.max).into(),
            Arg::Int(limits.now_ms),
            Arg::Int(utc_day(limits.now_ms)),
        ],
    )
}

/// The counter columns of key `?{key_param}`, as a SELECT's expression list
/// (`send_log`, `sent_day`, `sent_today`), for the rare path that explains a
/// refusal; [`SendCounters::from_columns`] decodes them.
pub fn counters_select(key_param: u8) -> String {
    format!(
        "(SELECT send_log FROM api_keys WHERE id = ?{key_param}) AS send_log, \
         (SELECT sent_day FROM api_keys WHERE id = ?{key_param}) AS sent_day, \
         (SELECT sent_today FROM api_keys WHERE id = ?{key_param}) AS sent_today"
    )
}

/// Decodes [`counters_select`]'s columns.
pub fn counters(
    send_log: Option<&str>,
    sent_day: Option<i64>,
    sent_today: Option<i64>,
) -> SendCounters {
    SendCounters::from_columns(send_log, sent_day, sent_today.unwrap_or(0))
}
