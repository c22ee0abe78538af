//! A thin wrapper over the D1 binding that counts round trips and their time.
//!
//! Round trips are the main lever on latency and on the free-tier budget, so
//! every response reports them in `Server-Timing` (`d1;dur=..;desc="N queries"`)
//! and tests assert the budgets. Every query goes through here; nothing else
//! touches the binding.
//!
//! An API request's queries run in a D1 session (the Sessions API), so that
//! where read replication is on its reads may go to a nearby replica while
//! the client still reads its own writes: the session starts from the
//! client's bookmark (`X-D1-Bookmark`, see [`protocol::bookmark`]) and the
//! response hands back the session's latest one.

use std::cell::Cell;
use std::rc::Rc;

use protocol::quota::Spent;
use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1DatabaseSession, D1PreparedStatement, Env};

use crate::error::{AppError, AppResult};

/// A value bound to a `?N` placeholder.
pub enum Arg<'a> {
    Text(&'a str),
    /// Integers we bind (times, counts, sequence numbers) stay far below 2^53,
    /// so JavaScript's number carries them exactly.
    Int(i64),
    Null,
}

impl Arg<'_> {
    fn to_js(&self) -> JsValue {
        match self {
            Arg::Text(s) => JsValue::from_str(s),
            Arg::Int(n) => JsValue::from_f64(*n as f64),
            Arg::Null => JsValue::null(),
        }
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Arg<'a> {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Arg<'a> {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(n: Option<i64>) -> Self {
        n.map_or(Arg::Null, Arg::Int)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Arg<'a> {
        s.map_or(Arg::Null, Arg::Text)
    }
}

thread_local! {
    // Workers run one thread per isolate: rows every query of this isolate
    // spent that the daily budget (crate::budget) has not yet flushed to D1.
    // Kept here, where results are read, so the D1 layer need not know the
    // budget: the budget reads and takes them.
    static PENDING: Cell<Spent> = const { Cell::new(Spent { rows_read: 0, rows_written: 0 }) };
}

/// Adds rows to this isolate's pending count (also: gives back rows a
/// failed flush took).
pub fn add_pending(rows: Spent) {
    PENDING.with(|p| {
        let now = p.get();
        p.set(Spent {
            rows_read: now.rows_read.saturating_add(rows.rows_read),
            rows_written: now.rows_written.saturating_add(rows.rows_written),
        })
    });
}

/// This isolate's pending rows.
pub fn pending() -> Spent {
    PENDING.with(Cell::get)
}

/// Takes this isolate's pending rows, leaving none.
pub fn take_pending() -> Spent {
    PENDING.with(|p| p.replace(Spent::default()))
}

/// Round trips made, milliseconds spent in them, and the rows D1 reports
/// reading and writing (what the free plan's daily limits count).
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub round_trips: u32,
    pub millis: f64,
    pub rows_read: u64,
    pub rows_written: u64,
}

impl Stats {
    /// The `Server-Timing` entry for these stats (format: protocol::timing).
    pub fn server_timing(&self) -> String {
        protocol::timing::D1Timing {
            dur_ms: self.millis,
            queries: self.round_trips,
            rows_read: self.rows_read,
            rows_written: self.rows_written,
        }
        .encode()
    }
}

/// The binding itself, or a session on it.
enum Handle {
    Plain(D1Database),
    Session(D1DatabaseSession),
}

/// Cheap to clone: clones share the binding and the counters, so a stream that
/// outlives its handler keeps counting against the same invocation.
#[derive(Clone)]
pub struct Db {
    inner: Rc<Handle>,
    stats: Rc<Cell<Stats>>,
}

impl Db {
    /// The binding without a session: for work that is not a client's
    /// request (the room object, the scheduled purge, after-response work).
    pub fn from_env(env: &Env) -> AppResult<Db> {
        Ok(Db {
            inner: Rc::new(Handle::Plain(env.d1("DB")?)),
            stats: Rc::default(),
        })
    }

    /// A session starting from `constraint_or_bookmark`: a bookmark a client
    /// presented, or `first-primary` / `first-unconstrained`.
    pub fn session(env: &Env, constraint_or_bookmark: &str) -> AppResult<Db> {
        let session = env
            .d1("DB")?
            .with_session(Some(constraint_or_bookmark))
            .map_err(|e| {
                AppError::client(
                    protocol::ErrorCode::BadRequest,
                    format!(
                        "the {} is not usable: {e}",
                        protocol::bookmark::BOOKMARK_HEADER
                    ),
                )
            })?;
        Ok(Db {
            inner: Rc::new(Handle::Session(session)),
            stats: Rc::default(),
        })
    }

    /// The session's latest bookmark, once a query has run in it.
    pub fn bookmark(&self) -> Option<String> {
        match &*self.inner {
            Handle::Plain(_) => None,
            Handle::Session(s) => s.get_bookmark().ok().flatten(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats.get()
    }

    /// Prepares a statement with its arguments bound.
    pub fn prepare(&self, sql: &str, args: &[Arg<'_>]) -> AppResult<D1PreparedStatement> {
        let values: Vec<JsValue> = args.iter().map(Arg::to_js).collect();
        let stmt = match &*self.inner {
            Handle::Plain(db) => db.prepare(sql),
            Handle::Session(s) => s.prepare(sql),
        };
        Ok(stmt.bind(&values)?)
    }

    async fn timed<T>(
        &self,
        fut: impl std::future::Future<Output = worker::Result<T>>,
    ) -> AppResult<T> {
        let start = worker::Date::now().as_millis();
        let result = fut.await;
        let mut stats = self.stats.get();
        stats.round_trips += 1;
        stats.millis += worker::Date::now().as_millis().saturating_sub(start) as f64;
        self.stats.set(stats);
        result.map_err(|e| {
            let message = e.to_string();
            if protocol::error::is_storage_full(&message) {
                // Only writes fill a database, so reads keep working.
                AppError::client(
                    protocol::ErrorCode::StorageFull,
                    "the database is full: nothing new can be stored until the hourly purge \
                     frees space (reading still works)",
                )
            } else {
                AppError::Internal(format!("d1: {message}"))
            }
        })
    }

    /// Adds a result's row counts to the stats.
    fn count_rows(&self, result: &worker::D1Result) {
        if let Ok(Some(meta)) = result.meta() {
            let mut stats = self.stats.get();
            stats.rows_read += meta.rows_read.unwrap_or(0) as u64;
            stats.rows_written += meta.rows_written.unwrap_or(0) as u64;
            self.stats.set(stats);
            // The account's daily budget counts every query (crate::budget
            // takes these pending rows when it flushes).
            add_pending(Spent {
                rows_read: meta.rows_read.unwrap_or(0) as u64,
                rows_written: meta.rows_written.unwrap_or(0) as u64,
            });
        }
    }

    /// Runs one statement and returns its rows.
    pub async fn all<T: DeserializeOwned>(&self, sql: &str, args: &[Arg<'_>]) -> AppResult<Vec<T>> {
        let result = self.result(self.prepare(sql, args)?).await?;
        Ok(result.results()?)
    }

    /// Runs a statement, timed and counted. Not generic: the row types share
    /// this one future, and each keeps only its decoding (a copy of the
    /// query's state machine per row type cost wasm).
    async fn result(&self, stmt: D1PreparedStatement) -> AppResult<worker::D1Result> {
        let result = self.timed(stmt.all()).await?;
        self.count_rows(&result);
        Ok(result)
    }

    /// Runs one statement and returns its first row, if any.
    pub async fn first<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> AppResult<Option<T>> {
        let result = self.result(self.prepare(sql, args)?).await?;
        Ok(result.results::<T>()?.into_iter().next())
    }

    /// Runs statements in one round trip (and one transaction), returning each
    /// one's rows as raw results for the caller to decode.
    pub async fn batch(&self, stmts: Vec<D1PreparedStatement>) -> AppResult<Vec<worker::D1Result>> {
        let results = match &*self.inner {
            Handle::Plain(db) => self.timed(db.batch(stmts)).await?,
            Handle::Session(s) => self.timed(s.batch(stmts)).await?,
        };
        for result in &results {
            self.count_rows(result);
        }
        Ok(results)
    }
}

/// Decodes the rows of one batch result.
pub fn rows<T: DeserializeOwned>(result: Option<&worker::D1Result>) -> AppResult<Vec<T>> {
    match result {
        Some(r) => Ok(r.results()?),
        None => Err(AppError::Internal(
            "d1 batch returned too few results".into(),
        )),
    }
}
