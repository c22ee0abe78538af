//! The HTTP side: the REST calls the scenarios make, through the `meet_ai`
//! client library (its request builders and its timed calls). Every timed
//! response's D1 cost (`Server-Timing`, which the library reads) goes into
//! the shared [`Cost`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use meet_ai::client::HistoryQuery;
use meet_ai::config::Config;
use protocol::wire::{Health, KeyCreated, Message, Room, SendBody, SenderType};
use reqwest::Url;
use serde::{Deserialize, Serialize};

pub use meet_ai::client::{error_chain, Timed};
/// The D1 part of a `Server-Timing` header (`protocol::timing`).
pub use protocol::timing::D1Timing as ServerTiming;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// Whether a URL points at this machine (loopback addresses or localhost).
pub fn is_loopback(url: &Url) -> bool {
    meet_ai::config::is_loopback(url.as_str())
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
            self.rows_read.fetch_add(t.rows_read, Ordering::Relaxed);
            self.rows_written
                .fetch_add(t.rows_written, Ordering::Relaxed);
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

#[derive(Clone)]
pub struct Client {
    pub base: Url,
    /// For ordinary requests: bounded by a total timeout.
    pub http: reqwest::Client,
    /// For event streams: no total timeout (readers bound each read instead).
    pub stream_http: reqwest::Client,
    pub cost: Arc<Cost>,
    /// The library's client over `http`.
    api: meet_ai::client::Client,
    /// The library's client over `stream_http`.
    streams: meet_ai::client::Client,
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
        let http = builder().timeout(Duration::from_secs(30)).build()?;
        let stream_http = builder().build()?;
        let config = Config {
            url: base.as_str().trim_end_matches('/').to_owned(),
            key: None,
        };
        Ok(Client {
            api: meet_ai::client::Client::with_http(&config, http.clone()),
            streams: meet_ai::client::Client::with_http(&config, stream_http.clone()),
            base,
            http,
            stream_http,
            cost: Arc::default(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    /// The library's client for REST calls with `key`.
    pub fn api(&self, key: &str) -> meet_ai::client::Client {
        self.api.with_key(key)
    }

    /// The library's client for streams and sockets with `key`.
    pub fn streams(&self, key: &str) -> meet_ai::client::Client {
        self.streams.with_key(key)
    }

    /// Sends a request and reads its JSON body, timing the whole exchange;
    /// a response's D1 cost goes into the tally.
    pub async fn timed<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Timed<T> {
        let t = self.api.timed(req).await;
        if t.status != 0 {
            self.cost.record(t.timing);
        }
        t
    }

    /// [`Client::timed`] for a request the library may refuse to build (a
    /// malformed key): that is a failure without a response.
    pub(crate) async fn timed_built<T: serde::de::DeserializeOwned>(
        &self,
        req: meet_ai::error::Result<reqwest::RequestBuilder>,
    ) -> Timed<T> {
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

    pub async fn health(&self) -> Result<Health> {
        expect(
            self.timed(self.api.health_request()).await,
            "GET /api/health",
        )
    }

    /// A new key, as if from client address `ip` (wrangler dev passes
    /// `CF-Connecting-IP` through; the key limit counts per address).
    pub async fn create_key(&self, ip: &str) -> Result<String> {
        let req = self.api.create_key_request().header("CF-Connecting-IP", ip);
        let t: Timed<KeyCreated> = self.timed(req).await;
        Ok(expect(t, "POST /api/keys")?.key)
    }

    pub async fn create_room(&self, key: &str, name: &str) -> Result<Room> {
        let t = self
            .timed_built(self.api(key).create_room_request(name))
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
        let body = SendBody {
            sender: Some(sender.to_owned()),
            content: content.to_owned(),
            // Not "agent": the loop guard (issue 13) refuses an agent's
            // send once a room's last 20 messages are all from agents,
            // and every scenario here sends thousands to one room.
            sender_type: Some(SenderType::Human),
            color: Some("#3366cc".to_owned()),
        };
        let req = self
            .api(key)
            .send_message_request(room, &body, idempotency_key);
        self.timed_built(req).await
    }

    /// One history page; `query` is the query string without `?`.
    pub async fn history_page(&self, key: &str, room: &str, query: &str) -> Timed<Vec<Message>> {
        let pairs: Vec<(String, String)> = url_query(query);
        let req = self
            .api(key)
            .history_request(room, &HistoryQuery::default())
            .map(|r| r.query(&pairs));
        self.timed_built(req).await
    }

    /// The room's whole stored history, oldest first (the library's
    /// `whole_history`: both paging walks must agree). Not counted in the
    /// cost: it checks a run, it is not part of one.
    pub async fn full_history(
        &self,
        key: &str,
        room: &str,
        max_messages: usize,
    ) -> Result<Vec<Message>> {
        Ok(self.api(key).whole_history(room, max_messages).await?)
    }
}

/// The pairs of a query string (`limit=1&after=m9`), decoded.
fn url_query(query: &str) -> Vec<(String, String)> {
    Url::parse(&format!("http://q/?{query}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// The body of a successful response, or an error naming what failed.
pub fn expect<T>(t: Timed<T>, what: &str) -> Result<T> {
    Ok(t.expect(what)?)
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
    fn query_strings_become_pairs() {
        assert_eq!(
            url_query("limit=500&before=m%209"),
            vec![
                ("limit".to_owned(), "500".to_owned()),
                ("before".to_owned(), "m 9".to_owned())
            ]
        );
        assert!(url_query("").is_empty());
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
            rows_read: 10,
            rows_written: 1,
        }));
        c.record(None);
        let t = c.totals();
        assert_eq!((t.requests, t.timed_responses, t.d1_queries), (2, 1, 2));
        assert_eq!((t.d1_rows_read, t.d1_rows_written), (10, 1));
        assert!((t.d1_ms - 1.5).abs() < 1e-9);
    }
}
