//! Timed calls, for programs that measure the server (the load generator):
//! the status, the latency, the body if it decodes, and what the response
//! says D1 cost it (`Server-Timing`, read with `protocol::timing::D1Timing`),
//! which a [`Cost`] adds up across a run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use protocol::timing::D1Timing;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{error_chain, Client};
use crate::error::Result as CliResult;

/// The D1 cost a response's headers report.
pub fn server_timing(headers: &HeaderMap) -> Option<D1Timing> {
    headers
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(D1Timing::parse)
}

/// One timed request's outcome. Transport failures have `status == 0`.
#[derive(Debug)]
pub struct Timed<T> {
    pub status: u16,
    pub latency_ms: f64,
    pub timing: Option<D1Timing>,
    pub body: Option<T>,
    pub error: Option<String>,
}

impl<T> Timed<T> {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status) && self.body.is_some()
    }

    /// The status as a table key: the code, or `error` for no response.
    pub fn status_key(&self) -> String {
        if self.status == 0 {
            "error".to_owned()
        } else {
            self.status.to_string()
        }
    }

    /// The body of a success, or a sentence naming `what` failed and how.
    pub fn expect(self, what: &str) -> Result<T, String> {
        if (200..300).contains(&self.status) {
            if let Some(body) = self.body {
                return Ok(body);
            }
        }
        let status = StatusCode::from_u16(self.status)
            .map(|s| s.to_string())
            .unwrap_or_else(|_| "no response".to_owned());
        Err(format!(
            "{what}: {status}: {}",
            self.error.unwrap_or_default().trim()
        ))
    }
}

/// What requests cost, added up across a run (shared by every task of it).
#[derive(Debug, Default)]
pub struct Cost {
    requests: AtomicU64,
    timed: AtomicU64,
    queries: AtomicU64,
    d1_us: AtomicU64,
    rows_read: AtomicU64,
    rows_written: AtomicU64,
}

/// A snapshot of [`Cost`], as a run's results store it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct CostTotals {
    /// HTTP requests that got a response.
    pub requests: u64,
    /// Responses that carried a `Server-Timing` d1 entry.
    pub timed_responses: u64,
    /// D1 queries those responses reported.
    pub d1_queries: u64,
    /// Milliseconds those responses reported spending in D1.
    pub d1_ms: f64,
    /// Rows D1 read and wrote for them, where reported.
    pub d1_rows_read: u64,
    pub d1_rows_written: u64,
}

impl Cost {
    /// Counts one response and the D1 cost it reported, if it did.
    pub fn record(&self, timing: Option<D1Timing>) {
        let add = |n: &AtomicU64, v: u64| n.fetch_add(v, Ordering::Relaxed);
        add(&self.requests, 1);
        if let Some(t) = timing {
            add(&self.timed, 1);
            add(&self.queries, u64::from(t.queries));
            add(&self.d1_us, (t.dur_ms * 1000.0) as u64);
            add(&self.rows_read, t.rows_read);
            add(&self.rows_written, t.rows_written);
        }
    }

    pub fn totals(&self) -> CostTotals {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        CostTotals {
            requests: get(&self.requests),
            timed_responses: get(&self.timed),
            d1_queries: get(&self.queries),
            d1_ms: get(&self.d1_us) as f64 / 1000.0,
            d1_rows_read: get(&self.rows_read),
            d1_rows_written: get(&self.rows_written),
        }
    }
}

impl Client {
    /// [`Client::timed`] for a request this library may refuse to build (a
    /// malformed key): that is a failure without a response.
    pub async fn try_timed<T: DeserializeOwned>(&self, req: CliResult<RequestBuilder>) -> Timed<T> {
        match req {
            Ok(req) => self.timed(req).await,
            Err(e) => Timed {
                status: 0,
                latency_ms: 0.0,
                timing: None,
                body: None,
                error: Some(e.to_string()),
            },
        }
    }

    /// Sends `req` and reads its JSON body, timing the whole exchange (the
    /// bookmark is neither sent nor kept: a measurement sees the server as
    /// a fresh client does). Never fails: the outcome says what happened.
    pub async fn timed<T: DeserializeOwned>(&self, req: RequestBuilder) -> Timed<T> {
        let start = Instant::now();
        let elapsed = || start.elapsed().as_secs_f64() * 1000.0;
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Timed {
                    status: 0,
                    latency_ms: elapsed(),
                    timing: None,
                    body: None,
                    error: Some(error_chain(&e)),
                }
            }
        };
        let status = resp.status();
        let timing = server_timing(resp.headers());
        let bytes = resp.bytes().await;
        let latency_ms = elapsed();
        let (body, error) = match bytes {
            Ok(bytes) if status.is_success() => match serde_json::from_slice(&bytes) {
                Ok(body) => (Some(body), None),
                Err(e) => (None, Some(format!("unexpected body ({e})"))),
            },
            Ok(bytes) => (
                None,
                Some(String::from_utf8_lossy(&bytes).chars().take(300).collect()),
            ),
            Err(e) => (None, Some(error_chain(&e))),
        };
        Timed {
            status: status.as_u16(),
            latency_ms,
            timing,
            body,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_names_what_failed() {
        let t = |status, body: Option<u8>, error: Option<&str>| Timed {
            status,
            latency_ms: 1.0,
            timing: None,
            body,
            error: error.map(str::to_owned),
        };
        assert_eq!(t(201, Some(7), None).expect("POST x"), Ok(7));
        assert_eq!(
            t(404, None, Some(" gone ")).expect("GET y"),
            Err("GET y: 404 Not Found: gone".to_owned())
        );
        assert_eq!(
            t(0, None, Some("refused")).expect("GET z"),
            Err("GET z: no response: refused".to_owned())
        );
        assert_eq!(t(0, None, None).status_key(), "error");
        assert!(!t(200, None, None).ok());
    }

    #[test]
    fn cost_adds_up() {
        let c = Cost::default();
        c.record(Some(D1Timing {
            dur_ms: 1.5,
            queries: 2,
            rows_read: 10,
            rows_written: 1,
        }));
        c.record(None);
        let t = c.totals();
        assert_eq!((t.requests, t.timed_responses, t.d1_queries), (2, 1, 2));
        assert_eq!((t.d1_rows_read, t.d1_rows_written), (10, 1));
        assert!((t.d1_ms - 1.5).abs() < 1e-9);
    }

    #[test]
    fn reads_the_d1_entry_of_server_timing() {
        let mut headers = HeaderMap::new();
        assert_eq!(server_timing(&headers), None);
        let t = D1Timing {
            dur_ms: 2.5,
            queries: 2,
            rows_read: 9,
            rows_written: 1,
        };
        headers.insert("server-timing", t.encode().parse().unwrap());
        assert_eq!(server_timing(&headers), Some(t));
    }
}
