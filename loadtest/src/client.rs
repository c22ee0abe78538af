//! The HTTP side: the REST calls the scenarios make, through the `meet_ai`
//! client library (its request builders and its timed calls). Every timed
//! response's D1 cost (`Server-Timing`, which the library reads) goes into
//! the shared [`Cost`].

use std::sync::Arc;
use std::time::Duration;

use meet_ai::client::{HistoryQuery, WaitQuery};
use meet_ai::config::Config;
use protocol::wire::{Health, KeyCreated, Message, Room, SendBody, SenderType, Waited};
use reqwest::Url;
use tokio::time::Instant;

pub use meet_ai::client::{Cost, CostTotals, Timed};
/// The D1 part of a `Server-Timing` header (`protocol::timing`).
pub use protocol::timing::D1Timing as ServerTiming;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

#[derive(Clone)]
pub struct Client {
    pub base: Url,
    pub cost: Arc<Cost>,
    /// The library's client for ordinary requests: bounded by a total timeout.
    api: meet_ai::client::Client,
    /// The library's client for event streams: no total timeout (readers
    /// bound each read instead).
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
        let config = Config {
            url: base.as_str().trim_end_matches('/').to_owned(),
            key: None,
        };
        Ok(Client {
            api: meet_ai::client::Client::with_http(&config, http.clone()),
            streams: meet_ai::client::Client::with_http(&config, builder().build()?),
            base,
            cost: Arc::default(),
        })
    }

    /// The library's client for REST calls with `key`.
    pub fn api(&self, key: &str) -> meet_ai::client::Client {
        self.api.with_key(key)
    }

    /// The library's client for streams and sockets with `key`.
    pub fn streams(&self, key: &str) -> meet_ai::client::Client {
        self.streams.with_key(key)
    }

    /// Sends a request (the library may have refused to build it) and reads
    /// its JSON body, timing the whole exchange; a response's D1 cost goes
    /// into the tally.
    pub(crate) async fn timed<T: serde::de::DeserializeOwned>(
        &self,
        req: meet_ai::error::Result<reqwest::RequestBuilder>,
    ) -> Timed<T> {
        let t = self.api.try_timed(req).await;
        if t.status != 0 {
            self.cost.record(t.timing);
        }
        t
    }

    pub async fn health(&self) -> Timed<Health> {
        self.timed(Ok(self.api.health_request())).await
    }

    /// A new key, as if from client address `ip` (wrangler dev passes
    /// `CF-Connecting-IP` through; the key limit counts per address).
    pub async fn create_key(&self, ip: &str) -> Result<String> {
        let req = self.api.create_key_request().header("CF-Connecting-IP", ip);
        let t: Timed<KeyCreated> = self.timed(Ok(req)).await;
        Ok(t.expect("POST /api/keys")?.key)
    }

    pub async fn create_room(&self, key: &str, name: &str) -> Result<Room> {
        let t = self.timed(self.api(key).create_room_request(name)).await;
        Ok(t.expect("POST /api/rooms")?)
    }

    /// Sends `content` as `sender`, with a key. As a human: the loop guard
    /// (issue 13) refuses an agent's send once a room's last 20 messages are
    /// all from agents, and every scenario here sends thousands to one room.
    /// With a member token and no `sender`, the sender is the token's handle.
    pub async fn post(
        &self,
        credential: &str,
        room: &str,
        sender: Option<&str>,
        content: &str,
        idempotency_key: Option<&str>,
    ) -> Timed<Message> {
        let body = SendBody {
            sender: sender.map(str::to_owned),
            content: content.to_owned(),
            sender_type: sender.map(|_| SenderType::Human),
            color: sender.map(|_| "#3366cc".to_owned()),
        };
        let api = self.api(credential);
        self.timed(api.send_message_request(room, &body, idempotency_key))
            .await
    }

    /// One history page.
    pub async fn history_page(
        &self,
        key: &str,
        room: &str,
        query: HistoryQuery<'_>,
    ) -> Timed<Vec<Message>> {
        self.timed(self.api(key).history_request(room, &query))
            .await
    }

    /// `GET /api/rooms/:room/wait?for=<handle>&timeout=<s>[&ack=1]`, and when
    /// its whole response had arrived. It holds the request open up to its
    /// timeout, so it goes out on the streams' client, bounded at the timeout
    /// plus 30 s. A 204 has no body to read, so its `error` says so: that is
    /// no error.
    pub async fn wait_for(
        &self,
        token: &str,
        room: &str,
        handle: &str,
        timeout_s: u32,
        ack: bool,
    ) -> (Timed<Waited>, Instant) {
        let query = WaitQuery {
            for_handle: handle,
            timeout: u64::from(timeout_s),
            any: false,
            ack,
        };
        let req = self
            .streams(token)
            .wait_request(room, &query)
            .map(|req| req.timeout(Duration::from_secs(u64::from(timeout_s) + 30)));
        (self.timed(req).await, Instant::now())
    }
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
    fn client_ips_are_test_net_and_distinct() {
        let ips: std::collections::HashSet<String> = (0..2000).map(|n| client_ip(7, n)).collect();
        assert_eq!(ips.len(), 2000);
        let test_net = |ip: &String| ip.starts_with("198.18.") || ip.starts_with("198.19.");
        assert!(ips.iter().all(test_net), "{ips:?}");
        assert_eq!(client_ip(u32::MAX, u32::MAX).split('.').count(), 4);
    }
}
