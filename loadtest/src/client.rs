//! The HTTP side: the REST calls the scenarios make, timed, with the
//! `Server-Timing` D1 cost of every response added to a shared tally.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::wire::{Health, KeyCreated, Message, Room};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// The D1 part of a `Server-Timing` header:
/// `d1;dur=<ms>;desc="<N> queries"`, optionally followed by
/// `d1-rows-read;desc="<R>"` and `d1-rows-written;desc="<W>"`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ServerTiming {
    pub dur_ms: f64,
    pub queries: u32,
    pub rows_read: Option<u64>,
    pub rows_written: Option<u64>,
}

/// The leading number of a `desc` value: `"2 queries"` -> 2.
fn desc_number<T: std::str::FromStr>(params: &[&str]) -> Option<T> {
    params.iter().find_map(|p| {
        let v = p.strip_prefix("desc=")?.trim_matches('"');
        v.split_whitespace().next()?.parse().ok()
    })
}

/// Reads the D1 entries of a `Server-Timing` header; `None` without a
/// well-formed `d1` entry.
pub fn parse_server_timing(header: &str) -> Option<ServerTiming> {
    let mut out: Option<ServerTiming> = None;
    let (mut read, mut written) = (None, None);
    for entry in header.split(',') {
        let params: Vec<&str> = entry.split(';').map(str::trim).collect();
        match params.first().copied() {
            Some("d1") => {
                let dur = params.iter().find_map(|p| p.strip_prefix("dur="))?;
                out = Some(ServerTiming {
                    dur_ms: dur.parse().ok()?,
                    queries: desc_number(&params)?,
                    ..ServerTiming::default()
                });
            }
            Some("d1-rows-read") => read = desc_number(&params),
            Some("d1-rows-written") => written = desc_number(&params),
            _ => {}
        }
    }
    out.map(|t| ServerTiming {
        rows_read: read,
        rows_written: written,
        ..t
    })
}

/// Whether a URL points at this machine (loopback addresses or localhost).
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// What requests cost, added up across a run.
#[derive(Debug, Default)]
pub struct Cost {
    requests: AtomicU64,
    timed: AtomicU64,
    queries: AtomicU64,
    d1_us: AtomicU64,
    rows_read: AtomicU64,
    rows_written: AtomicU64,
}

/// A snapshot of [`Cost`]; read back by the report (crate::results).
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
    pub fn record(&self, timing: Option<ServerTiming>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(t) = timing {
            self.timed.fetch_add(1, Ordering::Relaxed);
            self.queries
                .fetch_add(u64::from(t.queries), Ordering::Relaxed);
            self.d1_us
                .fetch_add((t.dur_ms * 1000.0) as u64, Ordering::Relaxed);
            self.rows_read
                .fetch_add(t.rows_read.unwrap_or(0), Ordering::Relaxed);
            self.rows_written
                .fetch_add(t.rows_written.unwrap_or(0), Ordering::Relaxed);
        }
    }

    pub fn totals(&self) -> CostTotals {
        CostTotals {
            requests: self.requests.load(Ordering::Relaxed),
            timed_responses: self.timed.load(Ordering::Relaxed),
            d1_queries: self.queries.load(Ordering::Relaxed),
            d1_ms: self.d1_us.load(Ordering::Relaxed) as f64 / 1000.0,
            d1_rows_read: self.rows_read.load(Ordering::Relaxed),
            d1_rows_written: self.rows_written.load(Ordering::Relaxed),
        }
    }
}

/// One timed request's outcome. Transport failures have `status == 0`.
#[derive(Debug)]
pub struct Timed<T> {
    pub status: u16,
    pub latency_ms: f64,
    pub timing: Option<ServerTiming>,
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
}

#[derive(Clone)]
pub struct Client {
    pub base: Url,
    /// For ordinary requests: bounded by a total timeout.
    pub http: reqwest::Client,
    /// For event streams: no total timeout (readers bound each read instead).
    pub stream_http: reqwest::Client,
    pub cost: Arc<Cost>,
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(512)
        .user_agent(concat!("meet-ai-loadtest/", env!("CARGO_PKG_VERSION")))
}

impl Client {
    pub fn new(base: &str) -> Result<Client> {
        let mut base = Url::parse(base).map_err(|e| format!("--url {base:?}: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("--url must be http:// or https://, got {base}").into());
        }
        base.set_path("");
        base.set_query(None);
        Ok(Client {
            base,
            http: builder().timeout(Duration::from_secs(30)).build()?,
            stream_http: builder().build()?,
            cost: Arc::new(Cost::default()),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    /// Sends a request and reads its JSON body, timing the whole exchange.
    pub async fn timed<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Timed<T> {
        let start = Instant::now();
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Timed {
                    status: 0,
                    latency_ms: start.elapsed().as_secs_f64() * 1000.0,
                    timing: None,
                    body: None,
                    error: Some(error_chain(&e)),
                }
            }
        };
        let status = resp.status();
        let timing = resp
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_server_timing);
        let bytes = resp.bytes().await;
        let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
        self.cost.record(timing);
        match bytes {
            Ok(bytes) if status.is_success() => match serde_json::from_slice(&bytes) {
                Ok(body) => Timed {
                    status: status.as_u16(),
                    latency_ms,
                    timing,
                    body: Some(body),
                    error: None,
                },
                Err(e) => Timed {
                    status: status.as_u16(),
                    latency_ms,
                    timing,
                    body: None,
                    error: Some(format!("unexpected body ({e})")),
                },
            },
            Ok(bytes) => Timed {
                status: status.as_u16(),
                latency_ms,
                timing,
                body: None,
                error: Some(String::from_utf8_lossy(&bytes).chars().take(300).collect()),
            },
            Err(e) => Timed {
                status: status.as_u16(),
                latency_ms,
                timing,
                body: None,
                error: Some(error_chain(&e)),
            },
        }
    }

    fn request(&self, method: Method, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
        let req = self.http.request(method, self.url(path));
        match key {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }

    pub async fn health(&self) -> Result<Health> {
        let t: Timed<Health> = self
            .timed(self.request(Method::GET, "/api/health", None))
            .await;
        expect(t, "GET /api/health")
    }

    /// A new key, as if from client address `ip` (wrangler dev passes
    /// `CF-Connecting-IP` through; the key limit counts per address).
    pub async fn create_key(&self, ip: &str) -> Result<String> {
        let t: Timed<KeyCreated> = self
            .timed(
                self.request(Method::POST, "/api/keys", None)
                    .header("CF-Connecting-IP", ip),
            )
            .await;
        Ok(expect(t, "POST /api/keys")?.key)
    }

    pub async fn create_room(&self, key: &str, name: &str) -> Result<Room> {
        let t: Timed<Room> = self
            .timed(
                self.request(Method::POST, "/api/rooms", Some(key))
                    .json(&json!({ "name": name })),
            )
            .await;
        expect(t, "POST /api/rooms")
    }

    pub async fn post_message(
        &self,
        key: &str,
        room: &str,
        sender: &str,
        content: &str,
        idempotency_key: Option<&str>,
    ) -> Timed<Message> {
        let mut req = self
            .request(
                Method::POST,
                &format!("/api/rooms/{room}/messages"),
                Some(key),
            )
            .json(&json!({
                "sender": sender,
                "content": content,
                // Not "agent": the loop guard (issue 13) refuses an agent's
                // send once a room's last 20 messages are all from agents,
                // and every scenario here sends thousands to one room.
                "sender_type": "human",
                "color": "#3366cc",
            }));
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        self.timed(req).await
    }

    /// One history page; `query` is the query string without `?`.
    pub async fn history_page(&self, key: &str, room: &str, query: &str) -> Timed<Vec<Message>> {
        self.timed(self.request(
            Method::GET,
            &format!("/api/rooms/{room}/messages?{query}"),
            Some(key),
        ))
        .await
    }

    async fn page_or_err(&self, key: &str, room: &str, query: &str) -> Result<Vec<Message>> {
        let t = self.history_page(key, room, query).await;
        expect(t, "GET history")
    }

    /// The room's whole stored history, oldest first, read with `after`
    /// paging from its first message (found by paging back with `before`).
    /// Both walks must agree, or the history is reported as inconsistent.
    /// Bounded by `max_messages`.
    pub async fn full_history(
        &self,
        key: &str,
        room: &str,
        max_messages: usize,
    ) -> Result<Vec<Message>> {
        const PAGE: usize = 500;
        // Backwards to the start.
        let mut back: Vec<Message> = self.page_or_err(key, room, "limit=500").await?;
        let mut page_len = back.len();
        while page_len == PAGE && back.len() < max_messages {
            let first = back[0].id.clone();
            let mut page = self
                .page_or_err(key, room, &format!("limit=500&before={first}"))
                .await?;
            page_len = page.len();
            page.append(&mut back);
            back = page;
        }
        let Some(first) = back.first().cloned() else {
            return Ok(Vec::new());
        };
        // Forwards from the first message: the authoritative list.
        let mut all = vec![first];
        loop {
            let last = all.last().map(|m| m.id.clone()).unwrap_or_default();
            let page = self
                .page_or_err(key, room, &format!("limit=500&after={last}"))
                .await?;
            let n = page.len();
            all.extend(page);
            if n < PAGE || all.len() >= max_messages {
                break;
            }
        }
        let same = all.len() == back.len() && all.iter().zip(&back).all(|(a, b)| a.id == b.id);
        if !same {
            return Err(format!(
                "history paging disagrees: {} messages paging forward, {} paging back",
                all.len(),
                back.len()
            )
            .into());
        }
        Ok(all)
    }
}

/// The body of a successful response, or an error naming what failed.
pub fn expect<T>(t: Timed<T>, what: &str) -> Result<T> {
    if (200..300).contains(&t.status) {
        if let Some(body) = t.body {
            return Ok(body);
        }
    }
    let status = StatusCode::from_u16(t.status)
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "no response".to_owned());
    Err(format!("{what}: {status}: {}", t.error.unwrap_or_default().trim()).into())
}

/// An error with its sources, on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A client address for key creation: TEST-NET-2 (198.18.0.0/15), only ever
/// sent as a header. `run` spreads runs apart, `n` keys within a run.
pub fn client_ip(run: u32, n: u32) -> String {
    let v = run.wrapping_mul(4096).wrapping_add(n) % (1 << 17);
    format!("198.{}.{}.{}", 18 + (v >> 16), (v >> 8) & 0xff, v & 0xff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_workers_server_timing() {
        let t = |dur_ms, queries, rows_read, rows_written| ServerTiming {
            dur_ms,
            queries,
            rows_read,
            rows_written,
        };
        assert_eq!(
            parse_server_timing(r#"d1;dur=3.5;desc="2 queries""#),
            Some(t(3.5, 2, None, None))
        );
        assert_eq!(
            parse_server_timing(r#"d1;dur=0.0;desc="1 query""#),
            Some(t(0.0, 1, None, None))
        );
        assert_eq!(
            parse_server_timing(
                r#"d1;dur=1.0;desc="2 queries", d1-rows-read;desc="101", d1-rows-written;desc="0""#
            ),
            Some(t(1.0, 2, Some(101), Some(0)))
        );
        // Other entries around it (a proxy may add its own), in any order.
        assert_eq!(
            parse_server_timing(
                r#"d1-rows-read;desc="7", cdn;dur=1, d1;desc="4 queries";dur=12.0"#
            ),
            Some(t(12.0, 4, Some(7), None))
        );
        assert_eq!(parse_server_timing("cdn;dur=1"), None);
        assert_eq!(parse_server_timing("d1;dur=abc"), None);
        assert_eq!(parse_server_timing(r#"d1-rows-read;desc="7""#), None);
    }

    #[test]
    fn knows_loopback_urls() {
        for u in [
            "http://127.0.0.1:8787",
            "http://localhost:8787/",
            "http://127.3.4.5",
            "http://[::1]:80",
        ] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in [
            "https://meet-ai.example.workers.dev",
            "http://10.0.0.1",
            "http://192.168.1.1",
        ] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[test]
    fn client_ips_are_test_net_and_distinct() {
        let ips: std::collections::HashSet<String> = (0..2000).map(|n| client_ip(7, n)).collect();
        assert_eq!(ips.len(), 2000);
        for ip in &ips {
            assert!(
                ip.starts_with("198.18.") || ip.starts_with("198.19."),
                "{ip}"
            );
        }
        assert_eq!(client_ip(u32::MAX, u32::MAX).split('.').count(), 4);
    }

    #[test]
    fn cost_adds_up() {
        let c = Cost::default();
        c.record(Some(ServerTiming {
            dur_ms: 1.5,
            queries: 2,
            rows_read: Some(10),
            rows_written: Some(1),
        }));
        c.record(None);
        let t = c.totals();
        assert_eq!((t.requests, t.timed_responses, t.d1_queries), (2, 1, 2));
        assert_eq!((t.d1_rows_read, t.d1_rows_written), (10, 1));
        assert!((t.d1_ms - 1.5).abs() < 1e-9);
    }
}
