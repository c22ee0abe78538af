//! The SSE stream: live delivery, resume, the seam where the server ends a
//! stream, concurrency, auth and isolation. Timing is generous; assertions
//! are exact (what arrived, in what order).

use std::time::Duration;

use meet_ai_e2e::{Api, Server, SseStream};
use protocol::wire::Message;
use reqwest::Method;

use crate::helpers::{api, contents, ids, UNKNOWN_ID};

const WAIT: Duration = Duration::from_secs(15);
/// How long a reader that lost access may keep its stream: the access
/// re-check period plus an idle poll, with room for a busy machine.
fn revocation() -> Duration {
    let bound = protocol::stream::PollConfig::default().revocation_bound_ms();
    Duration::from_millis(u64::from(bound) + 15_000)
}

fn events_path(room: &str) -> String {
    format!("/api/rooms/{room}/events")
}

async fn open(room: &str, key: Option<&str>, query: &str, last_id: Option<&str>) -> SseStream {
    let stream = SseStream::open(
        &Server::shared().base,
        &format!("{}{query}", events_path(room)),
        key,
        last_id,
    )
    .await;
    assert_eq!(stream.status, 200, "stream refused");
    stream
}

/// Reads exactly `n` messages, then checks that nothing else arrives for a
/// moment (at least two active poll intervals).
async fn exactly(stream: &mut SseStream, n: usize) -> Vec<Message> {
    let mut got = Vec::new();
    while got.len() < n {
        match stream.next_message(WAIT).await {
            Some(m) => got.push(m),
            None => panic!(
                "only {} of {n} messages arrived: {:?}",
                got.len(),
                contents(&got)
            ),
        }
    }
    if let Some(extra) = stream.next_message(Duration::from_millis(1500)).await {
        panic!("unexpected extra message: {}", extra.content);
    }
    got
}

#[tokio::test]
async fn a_listener_receives_new_messages_live_in_order() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    api.send(&key, &room.id, "ada", "before the listener").await;
    let mut stream = open(&room.id, Some(&key), "", None).await;
    let ct = stream
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    assert!(stream.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-cache"));
    let sent = vec![
        api.send(&key, &room.id, "ada", "one").await,
        api.send(&key, &room.id, "bob", "two").await,
        api.send(&key, &room.id, "ada", "three").await,
    ];
    let got = exactly(&mut stream, 3).await;
    assert_eq!(got, sent, "exactly the three, in order, each with its id");
    assert!(stream.decoder.retry.is_some(), "a retry: hint was sent");
}

#[tokio::test]
async fn a_reconnect_resumes_after_the_last_event_id_or_after_param() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let mut stream = open(&room.id, Some(&key), "", None).await;
    api.send(&key, &room.id, "ada", "a").await;
    api.send(&key, &room.id, "ada", "b").await;
    let first_two = exactly(&mut stream, 2).await;
    let last_id = stream.decoder.last_event_id().unwrap().to_owned();
    assert_eq!(last_id, first_two[1].id);
    drop(stream);

    let missed = vec![
        api.send(&key, &room.id, "bob", "c").await,
        api.send(&key, &room.id, "bob", "d").await,
        api.send(&key, &room.id, "bob", "e").await,
    ];
    let mut resumed = open(&room.id, Some(&key), "", Some(&last_id)).await;
    assert_eq!(
        exactly(&mut resumed, 3).await,
        missed,
        "Last-Event-ID replay"
    );
    let mut by_param = open(&room.id, Some(&key), &format!("?after={last_id}"), None).await;
    assert_eq!(exactly(&mut by_param, 3).await, missed, "?after= replay");
    // Last-Event-ID (the newer cursor) wins over the URL's older ?after=.
    let first = &first_two[0].id;
    let mut both = open(
        &room.id,
        Some(&key),
        &format!("?after={first}"),
        Some(&missed[1].id),
    )
    .await;
    assert_eq!(exactly(&mut both, 1).await, missed[2..].to_vec());
    // And the replayed stream goes live afterwards.
    let live = api.send(&key, &room.id, "ada", "f").await;
    assert_eq!(exactly(&mut both, 1).await, vec![live]);
}

#[tokio::test]
async fn a_bad_cursor_is_refused_not_treated_as_now() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let path = events_path(&room.id);
    let malformed = api
        .call(Method::GET, &format!("{path}?after=nope"), Some(&key), None)
        .await;
    malformed.assert_error(400);
    let unknown = api
        .call(
            Method::GET,
            &format!("{path}?after={UNKNOWN_ID}"),
            Some(&key),
            None,
        )
        .await;
    unknown.assert_error(404);
    let other = api.create_room(&key, "other").await;
    let foreign = api.send(&key, &other.id, "ada", "x").await;
    let reply = Api::send_req(
        api.request(Method::GET, &path, Some(&key))
            .header("Last-Event-ID", foreign.id),
    )
    .await;
    reply.assert_error(404);
}

/// Follows a room the way EventSource does for over a minute, reconnecting
/// with Last-Event-ID whenever the server ends the stream, while a sender
/// posts steadily. Across the seams nothing is lost or repeated, and every
/// stream stayed under the free plan's 50 queries.
#[tokio::test]
async fn across_server_ended_streams_nothing_is_lost_or_repeated() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    // The listener is connected ("from now") before the first send.
    let mut next_stream = Some(open(&room.id, Some(&key), "", None).await);
    let sender = {
        let (api, key, room) = (api.clone(), key.clone(), room.id.clone());
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut n = 0;
            // 1 every 1.6 s: under the 60/minute send limit.
            while start.elapsed() < Duration::from_secs(66) {
                api.send(&key, &room, "steady", &format!("tick {n}")).await;
                n += 1;
                tokio::time::sleep(Duration::from_millis(1600)).await;
            }
            n
        })
    };
    let mut received: Vec<Message> = Vec::new();
    let mut server_ends = 0;
    let mut stream_queries = Vec::new();
    let mut last_id: Option<String> = None;
    let started = tokio::time::Instant::now();
    loop {
        let mut stream = match next_stream.take() {
            Some(stream) => stream,
            None => open(&room.id, Some(&key), "", last_id.as_deref()).await,
        };
        loop {
            match stream.next_message(Duration::from_secs(5)).await {
                Some(m) => received.push(m),
                None if stream.ended => break,
                None => {}
            }
            if sender.is_finished() {
                break;
            }
        }
        if let Some(comment) = stream
            .decoder
            .last_comment
            .clone()
            .filter(|c| c.starts_with("bye"))
        {
            server_ends += 1;
            if comment.contains("reason=budget") {
                // A planned end asks for an immediate reconnect.
                assert_eq!(stream.decoder.retry, Some(100), "retry hint before bye");
            }
            let q: u32 = comment
                .split_whitespace()
                .find_map(|w| w.strip_prefix("queries="))
                .and_then(|n| n.parse().ok())
                .expect("bye carries the query count");
            stream_queries.push(q);
        }
        last_id = received.last().map(|m| m.id.clone()).or(last_id);
        if sender.is_finished() || started.elapsed() > Duration::from_secs(150) {
            break;
        }
    }
    let sent = sender.await.expect("sender");
    // Read what is left after the sender stopped.
    let mut tail = open(&room.id, Some(&key), "", last_id.as_deref()).await;
    while let Some(m) = tail.next_message(Duration::from_secs(3)).await {
        received.push(m);
    }
    let history = api.full_history(&key, &room.id).await;
    assert_eq!(history.len(), sent);
    assert_eq!(
        ids(&received),
        ids(&history),
        "every message once, in order"
    );
    assert!(
        server_ends >= 1,
        "the server ended no stream in over a minute"
    );
    for q in &stream_queries {
        assert!(
            *q < protocol::stream::FREE_TIER_QUERY_LIMIT,
            "a stream made {q} queries"
        );
    }
}

#[tokio::test]
async fn several_listeners_see_concurrent_senders_in_history_order() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(open(&room.id, Some(&key), "", None).await);
    }
    const SENDERS: usize = 3;
    const EACH: usize = 8;
    let tasks: Vec<_> = (0..SENDERS)
        .map(|s| {
            let (api, key, room) = (api.clone(), key.clone(), room.id.clone());
            tokio::spawn(async move {
                for i in 0..EACH {
                    api.send(&key, &room, &format!("s{s}"), &format!("{s}-{i}"))
                        .await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("sender");
    }
    let history = api.history(&key, &room.id, "?limit=500").await;
    assert_eq!(history.len(), SENDERS * EACH);
    for (i, listener) in listeners.iter_mut().enumerate() {
        let got = exactly(listener, SENDERS * EACH).await;
        assert_eq!(ids(&got), ids(&history), "listener {i}");
    }
}

#[tokio::test]
async fn streams_check_auth_and_isolation_before_starting() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let other = api.new_key().await;
    let path = events_path(&room.id);
    // No key: 401, whether the room exists or not (anonymous callers learn
    // nothing about private rooms).
    api.call(Method::GET, &path, None, None)
        .await
        .assert_error(401);
    api.call(Method::GET, &events_path(UNKNOWN_ID), None, None)
        .await
        .assert_error(401);
    api.call(
        Method::GET,
        &path,
        Some("mai_AAAAAAAAAAAAAAAAAAAAAAAA"),
        None,
    )
    .await
    .assert_error(401);
    api.call(Method::GET, &path, Some(&other), None)
        .await
        .assert_error(404);
    api.call(Method::GET, &events_path(UNKNOWN_ID), Some(&key), None)
        .await
        .assert_error(404);
    api.call(Method::GET, &events_path("x"), Some(&key), None)
        .await
        .assert_error(404);
    // ?token= is how EventSource authenticates.
    let mut by_token = open(&room.id, None, &format!("?token={key}"), None).await;
    let m = api.send(&key, &room.id, "ada", "via token").await;
    assert_eq!(exactly(&mut by_token, 1).await, vec![m]);
}

#[tokio::test]
async fn revoking_the_key_ends_its_open_streams() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let mut stream = open(&room.id, Some(&key), "", None).await;
    let m = api.send(&key, &room.id, "ada", "before revoke").await;
    assert_eq!(exactly(&mut stream, 1).await, vec![m]);
    let revoked = api
        .call(Method::DELETE, "/api/keys", Some(&key), None)
        .await;
    assert_eq!(revoked.status, 204);
    // The next access check notices: the stream ends without another message.
    assert!(stream.next_message(revocation()).await.is_none());
    assert!(stream.ended, "the stream ended");
    let last = stream.decoder.last_comment.clone().unwrap_or_default();
    assert!(last.contains("reason=access-lost"), "{last}");
    api.call(Method::GET, &events_path(&room.id), Some(&key), None)
        .await
        .assert_error(401);
}

#[tokio::test]
async fn a_public_room_streams_to_anonymous_readers() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let patch = api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{}", room.id),
            Some(&key),
            Some(serde_json::json!({ "public": true })),
        )
        .await;
    assert_eq!(patch.status, 200);
    let mut anon = open(&room.id, None, "", None).await;
    let m = api.send(&key, &room.id, "claude", "hello, world").await;
    assert_eq!(exactly(&mut anon, 1).await, vec![m]);
    // Made private again: the anonymous stream never receives what is sent
    // next (every delivery re-checks access first) and ends there.
    api.call(
        Method::PATCH,
        &format!("/api/rooms/{}", room.id),
        Some(&key),
        Some(serde_json::json!({ "public": false })),
    )
    .await;
    api.send(&key, &room.id, "claude", "now private").await;
    assert!(
        anon.next_message(WAIT).await.is_none(),
        "nothing after access was lost"
    );
    assert!(anon.ended);
    let last = anon.decoder.last_comment.clone().unwrap_or_default();
    assert!(last.contains("reason=access-lost"), "{last}");
    // With nothing sent, a stream notices at its next access check.
    api.call(
        Method::PATCH,
        &format!("/api/rooms/{}", room.id),
        Some(&key),
        Some(serde_json::json!({ "public": true })),
    )
    .await;
    let mut anon = open(&room.id, None, "", None).await;
    api.call(
        Method::PATCH,
        &format!("/api/rooms/{}", room.id),
        Some(&key),
        Some(serde_json::json!({ "public": false })),
    )
    .await;
    assert!(anon.next_message(revocation()).await.is_none());
    assert!(anon.ended, "an idle stream ends within the re-check bound");
}

#[tokio::test]
async fn an_idle_stream_sends_heartbeats() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let mut stream = open(&room.id, Some(&key), "", None).await;
    // The default heartbeat is 15 s; allow generously for a busy machine.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while stream.decoder.last_comment.as_deref() != Some("heartbeat") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no heartbeat in 30 s"
        );
        assert!(!stream.ended, "the stream ended before a heartbeat");
        assert!(stream.next_message(Duration::from_secs(1)).await.is_none());
    }
}

#[tokio::test]
async fn a_stream_announces_its_resume_point_so_an_empty_room_loses_nothing() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let start = protocol::validate::START;
    // An empty room: the stream names the start of the room as its cursor.
    let mut first = open(&room.id, Some(&key), "", None).await;
    assert!(first
        .next_message(Duration::from_millis(800))
        .await
        .is_none());
    assert_eq!(first.decoder.last_event_id(), Some(start));
    drop(first);
    // Messages sent while no stream is open arrive on the reconnect.
    let m1 = api
        .send(&key, &room.id, "ada", "sent between streams")
        .await;
    let mut again = open(&room.id, Some(&key), "", Some(start)).await;
    assert_eq!(exactly(&mut again, 1).await, vec![m1.clone()]);
    // A room with messages: the newest one is the resume point.
    let mut fresh = open(&room.id, Some(&key), "", None).await;
    assert!(fresh
        .next_message(Duration::from_millis(800))
        .await
        .is_none());
    assert_eq!(fresh.decoder.last_event_id(), Some(m1.id.as_str()));
    // History understands START too.
    let m2 = api.send(&key, &room.id, "ada", "second").await;
    assert_eq!(
        api.history(&key, &room.id, &format!("?after={start}"))
            .await,
        vec![m1.clone(), m2]
    );
    assert_eq!(
        api.history(&key, &room.id, &format!("?after={start}&limit=1"))
            .await,
        vec![m1]
    );
    assert!(api
        .history(&key, &room.id, &format!("?before={start}"))
        .await
        .is_empty());
}
