//! Deployment configuration, read from wrangler vars (`[vars]` in wrangler.toml,
//! or `--var NAME:VALUE` for `wrangler dev`). A missing or unparsable var falls
//! back to its documented default, so a typo can never take the service down.

use protocol::quota::Budget;
use protocol::ratelimit::{Limit, DAY_MS, HOUR_MS, MINUTE_MS};
use protocol::retention::{parse_duration, Retention};
use protocol::stream::PollConfig;
use worker::Env;

#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// `RATE_KEYS_PER_HOUR` (default 3), per client IP.
    pub keys_per_ip: Limit,
    /// `RATE_ROOMS_PER_DAY` (default 5), per key.
    pub rooms_per_key: Limit,
    /// `RATE_MESSAGES_PER_MINUTE` (default 60), per key.
    pub messages_per_key: Limit,
    /// `RATE_MESSAGES_PER_DAY` (default 2,000): sends per key per UTC day, 0
    /// for none. At 3 rows each, one key can spend at most 6% of the free
    /// plan's 100,000 rows written a day (docs/free-tier.md).
    pub messages_per_day: u32,
    /// `MEMBERS_PER_ROOM` (default 25): current members a room may hold.
    pub members_per_room: u32,
    /// `RATE_MEMBERS_PER_DAY` (default 50): member creations per key.
    pub members_per_key: Limit,
    /// `SSE_*` vars; see [`PollConfig`].
    pub poll: PollConfig,
    /// `BUDGET_ROWS_WRITTEN_PER_DAY` (default 100,000) and
    /// `BUDGET_ROWS_READ_PER_DAY` (default 5,000,000): the account's daily D1
    /// budget the Worker sheds load against (`protocol::quota`); 0 turns a
    /// side off.
    pub budget: Budget,
    /// `RETENTION_*` vars; see [`Retention`].
    pub retention: Retention,
    /// `CLIENT_RATE_LIMITS` (default on; `off` turns it off): the per-client
    /// limits of the Rate Limiting bindings (`budget_client`). Their limits
    /// live in wrangler.toml and read no vars, so this is the one switch
    /// `make bench` needs to measure delivery rather than the limiter (its
    /// 50 listeners on one key reconnect ~150 times a minute).
    pub client_limits: bool,
}

fn var_u64(env: &Env, name: &str, default: u64) -> u64 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().trim().parse().ok())
        .unwrap_or(default)
}

fn var_u32(env: &Env, name: &str, default: u32) -> u32 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().trim().parse().ok())
        .unwrap_or(default)
}

/// A duration var (`30d`, `12h`, `90s`; `0` or `off`: no limit).
fn var_duration(env: &Env, name: &str, default: Option<u64>) -> Option<u64> {
    env.var(name)
        .ok()
        .and_then(|v| parse_duration(&v.to_string()))
        .unwrap_or(default)
}

impl Config {
    pub fn from_env(env: &Env) -> Config {
        let d = PollConfig::default();
        let r = Retention::default();
        Config {
            keys_per_ip: Limit::new(var_u32(env, "RATE_KEYS_PER_HOUR", 3), HOUR_MS),
            rooms_per_key: Limit::new(var_u32(env, "RATE_ROOMS_PER_DAY", 5), DAY_MS),
            messages_per_key: Limit::new(var_u32(env, "RATE_MESSAGES_PER_MINUTE", 60), MINUTE_MS),
            messages_per_day: var_u32(env, "RATE_MESSAGES_PER_DAY", 2_000),
            members_per_room: var_u32(env, "MEMBERS_PER_ROOM", 25),
            members_per_key: Limit::new(var_u32(env, "RATE_MEMBERS_PER_DAY", 50), DAY_MS),
            poll: PollConfig {
                active_ms: var_u32(env, "SSE_ACTIVE_POLL_MS", d.active_ms),
                idle_ms: var_u32(env, "SSE_IDLE_POLL_MS", d.idle_ms),
                active_window_ms: var_u32(env, "SSE_ACTIVE_WINDOW_MS", d.active_window_ms),
                heartbeat_ms: var_u32(env, "SSE_HEARTBEAT_MS", d.heartbeat_ms),
                max_polls: var_u32(env, "SSE_MAX_POLLS", d.max_polls),
                retry_ms: var_u32(env, "SSE_RETRY_MS", d.retry_ms),
                access_check_ms: var_u32(env, "SSE_ACCESS_CHECK_MS", d.access_check_ms),
            }
            .sanitized(),
            retention: Retention {
                max_age_ms: var_duration(env, "RETENTION_MAX_AGE", r.max_age_ms),
                max_per_room: Some(var_u32(
                    env,
                    "RETENTION_MAX_PER_ROOM",
                    r.max_per_room.unwrap_or(0),
                )),
                revoked_grace_ms: var_duration(
                    env,
                    "RETENTION_REVOKED_GRACE",
                    Some(r.revoked_grace_ms),
                )
                .unwrap_or(0),
                per_run: var_u32(env, "RETENTION_PER_RUN", r.per_run),
            }
            .sanitized(),
            client_limits: env
                .var("CLIENT_RATE_LIMITS")
                .map(|v| !matches!(v.to_string().trim(), "off" | "0" | "false"))
                .unwrap_or(true),
            budget: Budget {
                rows_written: var_u64(
                    env,
                    "BUDGET_ROWS_WRITTEN_PER_DAY",
                    Budget::default().rows_written,
                ),
                rows_read: var_u64(env, "BUDGET_ROWS_READ_PER_DAY", Budget::default().rows_read),
            },
        }
    }
}
