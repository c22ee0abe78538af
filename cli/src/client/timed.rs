//! Timed calls, for programs that measure the server (the load generator):
//! the status, the latency, the body if it decodes, and what the response
//! says D1 cost it (`Server-Timing`, read with `protocol::timing::D1Timing`),
//! which the caller adds to its own tally.

use std::time::Instant;

use protocol::timing::D1Timing;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::{error_chain, Client};

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

impl Client {
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
