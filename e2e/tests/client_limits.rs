//! `CLIENT_RATE_LIMITS=off` (what `make bench` runs with) turns off the
//! per-client Rate Limiting bindings, and nothing else: a burst that the
//! default server refuses at READ_LIMITER's 120 a minute
//! (tests/api/readlimit.rs) all passes, while the key and room limits,
//! counted in D1, still hold.

use meet_ai_e2e::api::fresh_ip;
use meet_ai_e2e::{Api, Server, ServerOptions};
use reqwest::Method;

/// Past twice the read limit: the binding's fixed windows may let a burst
/// straddling a window's end pass up to twice the limit, never more.
const BURST: usize = 2 * 120 + 1;

#[tokio::test]
async fn turning_the_client_limits_off_lets_a_burst_through_and_keeps_the_d1_limits() {
    let mut options = ServerOptions::for_variant();
    options
        .vars
        .push(("CLIENT_RATE_LIMITS".into(), "off".into()));
    let srv = Server::start(options);
    let api = Api::new(&srv.base);
    let ip = fresh_ip();
    for i in 0..BURST {
        let reply = Api::send_req(
            api.request(Method::GET, "/api/usage", None)
                .header("CF-Connecting-IP", ip.clone()),
        )
        .await;
        assert_eq!(reply.status, 200, "anonymous read {i}: {}", reply.body);
    }
    // RATE_KEYS_PER_HOUR (3 a network, counted in D1) is not a client limit
    // of the bindings: the fourth key from one address is still refused.
    let ip = fresh_ip();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let reply = Api::send_req(
            api.request(Method::POST, "/api/keys", None)
                .header("CF-Connecting-IP", ip.clone()),
        )
        .await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [201, 201, 201, 429]);
}
