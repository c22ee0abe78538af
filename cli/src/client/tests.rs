use super::*;
use crate::backoff::Backoff;
use meet_ai_e2e::fake::{fake_server, http};
use protocol::key::CredentialKind;
use protocol::wire::SenderType;

#[test]
fn error_bodies_become_sentences_and_codes() {
    let e = error_from_parts(
        404,
        None,
        r#"{"error":"room not found","code":"not_found"}"#,
    );
    assert_eq!(e.message, "room not found");
    assert_eq!(e.code(), Some(ErrorCode::NotFound));
    assert_eq!(e.exit_code(), 4);

    let e = error_from_parts(
        429,
        Some(Duration::from_secs(9)),
        r#"{"error":"slow down","code":"rate_limited"}"#,
    );
    assert_eq!(e.exit_code(), 5);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(9)));
    assert_eq!(e.to_string(), "slow down (retry after 9 s)");

    // No body (a proxy, a crashed Worker): the status decides.
    let e = error_from_parts(502, None, "<html>bad gateway</html>");
    assert_eq!(e.message, "the server answered HTTP 502");
    assert_eq!(e.code(), Some(ErrorCode::Internal));
    assert!(e.is_transient());
    let e = error_from_parts(401, None, "");
    assert_eq!(e.exit_code(), 3);
}

fn room(id: &str, name: &str) -> Room {
    Room {
        id: id.into(),
        name: name.into(),
        public: false,
        loop_guard: 20,
        created_at: "2026-01-01T00:00:00.000Z".into(),
    }
}

#[test]
fn rooms_parse_with_or_without_public() {
    let old: Room = serde_json::from_str(r#"{"id":"a","name":"n","created_at":"t"}"#).unwrap();
    assert!(!old.public);
    let new: Room =
        serde_json::from_str(r#"{"id":"a","name":"n","public":true,"created_at":"t"}"#).unwrap();
    assert!(new.public);
}

#[test]
fn rooms_are_picked_by_exact_name() {
    let rooms = [room("a", "general"), room("b", "dev"), room("c", "dev")];
    assert_eq!(pick_room("general", &rooms).unwrap(), "a");
    let e = pick_room("General", &rooms).unwrap_err();
    assert_eq!(e.exit_code(), 4);
    let e = pick_room("dev", &rooms).unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(e.message.contains("b, c"), "{}", e.message);
}

#[test]
fn raw_messages_keep_the_server_bytes() {
    let raw = r#"{"id":"m","room_id":"r","sender":"a","sender_type":"agent","color":null,"content":"x\ny","created_at":"t"}"#;
    let m = RawMessage::parse(raw).unwrap();
    assert_eq!(m.raw, raw);
    assert_eq!(m.message.content, "x\ny");
    assert!(RawMessage::parse(r#"{"id":"m"}"#).is_err());
}

#[test]
fn a_malformed_key_fails_before_any_request() {
    for key in [
        None,
        Some("mai_short"),
        Some("nope_abcdefghijklmnopqrstuvwx"),
    ] {
        let c = Client::new(&Config {
            url: "http://127.0.0.1:9".into(),
            key: key.map(str::to_owned),
        })
        .unwrap();
        assert_eq!(c.key().unwrap_err().exit_code(), 3, "{key:?}");
    }
}

#[test]
fn socket_urls_follow_the_server_scheme() {
    let id = "0b6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11";
    assert_eq!(
        ws_url("https://meet-ai.cc", "r1", id).unwrap(),
        format!("wss://meet-ai.cc/api/rooms/r1/ws?after={id}")
    );
    assert_eq!(
        ws_url("http://127.0.0.1:8787", "r1", protocol::validate::START).unwrap(),
        "ws://127.0.0.1:8787/api/rooms/r1/ws?after=00000000-0000-0000-0000-000000000000"
    );
    assert!(ws_url("ftp://x", "r", id).is_err());
}

#[test]
fn socket_requests_carry_the_key_in_a_header() {
    let with_key = client("http://127.0.0.1:9");
    let req = with_key.ws_request("r", "m").unwrap();
    assert_eq!(
        req.uri().to_string(),
        "ws://127.0.0.1:9/api/rooms/r/ws?after=m"
    );
    assert_eq!(
        req.headers()["Authorization"],
        "Bearer mai_abcdefghijklmnopqrstuvwx"
    );
    assert!(!req.uri().to_string().contains("mai_"));
    let anonymous = Client::new(&Config {
        url: "https://example.com".into(),
        key: None,
    })
    .unwrap();
    let req = anonymous.ws_request("r", "m").unwrap();
    assert!(req.headers().get("Authorization").is_none());
    assert_eq!(req.headers()["Upgrade"], "websocket");
    let malformed = Client::new(&Config {
        url: "http://x".into(),
        key: Some("nope".into()),
    })
    .unwrap();
    assert_eq!(malformed.ws_request("r", "m").unwrap_err().exit_code(), 3);
}

#[test]
fn a_socket_from_now_has_no_query_and_the_key_still_in_a_header() {
    // The load generator's listeners and `ws::push_stats` open sockets this way.
    let token = "mem_abcdefghijklmnopqrstuvwx";
    let member = client("https://meet-ai.cc").with_key(token);
    let req = member.ws_request_at("r", None).unwrap();
    assert_eq!(req.uri().to_string(), "wss://meet-ai.cc/api/rooms/r/ws");
    assert_eq!(req.headers()["Authorization"], format!("Bearer {token}"));
}

#[test]
fn member_tokens_are_keys_too() {
    let c = Client::new(&Config {
        url: "http://127.0.0.1:9".into(),
        key: Some("mem_abcdefghijklmnopqrstuvwx".into()),
    })
    .unwrap();
    assert_eq!(c.key().unwrap(), "mem_abcdefghijklmnopqrstuvwx");
    assert_eq!(c.credential().unwrap(), CredentialKind::Member);
    assert_eq!(
        client("http://x").credential().unwrap(),
        CredentialKind::Owner
    );
}

#[test]
fn handles_in_paths_are_percent_encoded() {
    let c = client("http://127.0.0.1:9");
    let url = c
        .segments_url(&["api", "rooms", "r1", "members", "Ada Lovelace/#?"])
        .unwrap();
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:9/api/rooms/r1/members/Ada%20Lovelace%2F%23%3F"
    );
    let c = client("https://example.com/base");
    assert_eq!(
        c.segments_url(&["api", "whoami"]).unwrap().as_str(),
        "https://example.com/base/api/whoami"
    );
}

#[test]
fn new_error_codes_keep_their_sentence_and_exit_code() {
    let cases = [
        (
            403,
            r#"{"error":"owner key required","code":"forbidden"}"#,
            9,
        ),
        (409, r#"{"error":"handle taken","code":"conflict"}"#, 10),
        (
            429,
            r#"{"error":"a human must speak","code":"loop_guard"}"#,
            11,
        ),
        // A code this build does not know: the status decides.
        (409, r#"{"error":"something new","code":"brand_new"}"#, 10),
        (403, "", 9),
    ];
    for (status, body, exit) in cases {
        let e = error_from_parts(status, None, body);
        assert_eq!(e.exit_code(), exit, "{status} {body}");
        assert!(!e.is_transient(), "{body}");
        if !body.is_empty() {
            let sentence: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(e.message, sentence["error"].as_str().unwrap());
        }
    }
}

#[test]
fn root_cause_drops_os_error_numbers() {
    let io = std::io::Error::from_raw_os_error(111);
    assert_eq!(root_cause(&io), "Connection refused");
}

fn idempotency_keys(seen: &[String]) -> Vec<String> {
    seen.iter()
        .map(|req| {
            req.lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .starts_with("idempotency-key:")
                        .then(|| l.split_once(':').unwrap().1.trim().to_owned())
                })
                .expect("request carries an Idempotency-Key")
        })
        .collect()
}

const MSG: &str = r#"{"id":"0b6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11","room_id":"r","sender":"me","sender_type":"agent","color":null,"content":"hi","created_at":"t"}"#;

fn client(base: &str) -> Client {
    Client::new(&Config {
        url: base.to_owned(),
        key: Some("mai_abcdefghijklmnopqrstuvwx".into()),
    })
    .unwrap()
}

#[tokio::test]
async fn send_retries_5xx_and_429_with_the_same_idempotency_key() {
    let (base, seen) = fake_server(vec![
        http(
            "503 Service Unavailable",
            "",
            r#"{"error":"try later","code":"internal"}"#,
        ),
        http(
            "429 Too Many Requests",
            "Retry-After: 1\r\n",
            r#"{"error":"slow down","code":"rate_limited"}"#,
        ),
        http("201 Created", "", MSG),
    ])
    .await;
    let c = client(&base);
    let msg = SendBody {
        sender: Some("me".into()),
        content: "hi".into(),
        sender_type: Some(SenderType::Agent),
        color: None,
    };
    let mut waits = Vec::new();
    let sent = with_retries(
        5,
        Backoff::SEND,
        || c.send_message("r", &msg, "idem-1"),
        |retry, delay, err| waits.push((retry, delay, err.exit_code())),
    )
    .await
    .unwrap();
    assert_eq!(sent.value.content, "hi");
    assert_eq!(sent.raw, MSG);
    assert_eq!(waits.len(), 2);
    assert_eq!(waits[0].0, 1);
    assert_eq!(waits[0].2, 1);
    // The 429 waits exactly its Retry-After.
    assert_eq!(waits[1], (2, Duration::from_secs(1), 5));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(idempotency_keys(&seen), vec!["idem-1"; 3]);
    assert!(seen[0].starts_with("POST /api/rooms/r/messages "));
    assert!(seen[0].contains("\"sender_type\":\"agent\""));
}

#[tokio::test]
async fn send_stops_at_permanent_errors_and_at_the_retry_budget() {
    let (base, seen) = fake_server(vec![http(
        "404 Not Found",
        "",
        r#"{"error":"room not found","code":"not_found"}"#,
    )])
    .await;
    let c = client(&base);
    let msg = SendBody {
        sender: Some("me".into()),
        content: "hi".into(),
        sender_type: Some(SenderType::Human),
        color: Some("#aabbcc".into()),
    };
    let mut retries = 0;
    let err = with_retries(
        5,
        Backoff::SEND,
        || c.send_message("r", &msg, "k"),
        |_, _, _| retries += 1,
    )
    .await
    .unwrap_err();
    assert_eq!((err.exit_code(), retries), (4, 0));
    assert_eq!(err.message, "room not found");
    assert_eq!(seen.lock().unwrap().len(), 1);

    let (base, seen) = fake_server(vec![
        http(
            "500 Internal Server Error",
            "",
            r#"{"error":"boom","code":"internal"}"#,
        ),
        http(
            "500 Internal Server Error",
            "",
            r#"{"error":"boom","code":"internal"}"#,
        ),
    ])
    .await;
    let c = client(&base);
    let err = with_retries(
        1,
        Backoff::SEND,
        || c.send_message("r", &msg, "k"),
        |_, _, _| {},
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(err.message, "boom (gave up after 2 attempts)");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(&format!("http://127.0.0.1:{port}"));
    let err = c.rooms().await.unwrap_err();
    assert_eq!(err.exit_code(), 6);
    assert!(
        err.message.starts_with(&format!(
            "cannot reach the server at http://127.0.0.1:{port}"
        )),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_bookmark_from_a_response_is_presented_on_the_next_request() {
    let old = "00000000-00000001-00000000-00000000000000000000000000000000";
    let new = "00000000-00000002-00000000-00000000000000000000000000000000";
    let (base, seen) = fake_server(vec![
        http("201 Created", &format!("X-D1-Bookmark: {new}\r\n"), MSG),
        // An older or malformed bookmark never replaces the newer one.
        http("200 OK", &format!("X-D1-Bookmark: {old}\r\n"), "[]"),
        http("200 OK", "X-D1-Bookmark: not a bookmark\r\n", "[]"),
        http("200 OK", "", "[]"),
    ])
    .await;
    let c = client(&base);
    let msg = SendBody {
        sender: Some("me".into()),
        content: "hi".into(),
        sender_type: Some(SenderType::Agent),
        color: None,
    };
    c.send_message("r", &msg, "idem-b").await.unwrap();
    for _ in 0..3 {
        c.history("r", None, Some(10)).await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    let presented: Vec<Option<String>> = seen
        .iter()
        .map(|req| {
            req.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("x-d1-bookmark:")
                    .then(|| l.split_once(':').unwrap().1.trim().to_owned())
            })
        })
        .collect();
    assert_eq!(
        presented,
        vec![None, Some(new.into()), Some(new.into()), Some(new.into())]
    );
}

#[tokio::test]
async fn timed_calls_return_the_server_timing_with_the_body() {
    let cost = protocol::timing::D1Timing {
        dur_ms: 1.5,
        queries: 2,
        rows_read: 7,
        rows_written: 1,
    };
    let header = format!("Server-Timing: {}\r\n", cost.encode());
    let (base, _) = fake_server(vec![
        http("201 Created", &header, MSG),
        http(
            "404 Not Found",
            "",
            r#"{"error":"gone","code":"not_found"}"#,
        ),
    ])
    .await;
    let c = client(&base).with_key("mai_abcdefghijklmnopqrstuvwy");
    let body = SendBody {
        content: "hi".into(),
        ..SendBody::default()
    };
    let sent: Timed<Message> = c
        .timed(c.send_message_request("r", &body, None).unwrap())
        .await;
    assert!(sent.ok());
    assert_eq!(sent.timing, Some(cost));
    let refused: Timed<Message> = c.timed(c.health_request()).await;
    assert_eq!(
        (refused.status, refused.body, refused.timing),
        (404, None, None)
    );
}

#[tokio::test]
async fn a_503_made_in_front_of_the_worker_is_sent_again_and_ours_is_not() {
    let proxy = || {
        http(
            "503 Service Unavailable",
            "Retry-After: 0\r\n",
            "Your worker restarted mid-request. Please try sending the request again.",
        )
    };
    let ours = http(
        "503 Service Unavailable",
        "Retry-After: 0\r\n",
        r#"{"error":"reads are spent for today","code":"daily_reads_spent"}"#,
    );
    let (base, seen) = fake_server(vec![
        proxy(),
        http("201 Created", "", MSG),
        ours,
        proxy(),
        proxy(),
        proxy(),
    ])
    .await;
    let c = client(&base);
    let msg = SendBody {
        content: "hi".into(),
        ..SendBody::default()
    };
    // The proxy's refusal is sent again, body and Idempotency-Key alike.
    let sent = c.send_message("r", &msg, "idem-p").await.unwrap();
    assert_eq!(sent.raw, MSG);
    // The Worker's own 503 is the caller's to handle.
    let err = c.send_message("r", &msg, "idem-q").await.unwrap_err();
    assert_eq!(err.message, "reads are spent for today");
    // And the proxy's is given up after UNHANDLED_RETRIES more attempts.
    let err = c.send_message("r", &msg, "idem-r").await.unwrap_err();
    assert!(err.message.contains("503"), "{}", err.message);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        idempotency_keys(&seen),
        ["idem-p", "idem-p", "idem-q", "idem-r", "idem-r", "idem-r"]
    );
    assert_eq!(
        seen[0].split("\r\n\r\n").nth(1),
        seen[1].split("\r\n\r\n").nth(1)
    );
}
