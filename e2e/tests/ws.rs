//! The paid variant's WebSocket route. Under `MEET_AI_E2E_ENV=paid` (make
//! test-paid) it drives the Durable Object path; in the free build it checks
//! that the route does not exist.

use std::time::Duration;

use meet_ai_e2e::{paid_variant, Api, Server, SseStream, WsClient};
use protocol::ws::{ServerFrame, PING};
use reqwest::Method;
use serde_json::json;

fn api() -> Api {
    Api::new(&Server::shared().base)
}

async fn connect(room: &str, query: &str, key: Option<&str>) -> WsClient {
    WsClient::connect(&Server::shared().base, room, query, key)
        .await
        .unwrap_or_else(|r| panic!("upgrade refused: {} {}", r.status, r.body))
}

fn message_frame(sender: &str, content: &str) -> String {
    json!({ "type": "message", "sender": sender, "content": content }).to_string()
}

#[tokio::test]
async fn the_free_build_has_no_websocket_route() {
    if paid_variant() {
        return;
    }
    let api = api();
    let (key, room) = api.key_and_room().await;
    let reply = api
        .call(
            Method::GET,
            &format!("/api/rooms/{}/ws", room.id),
            Some(&key),
            None,
        )
        .await;
    reply.assert_error(404);
    let refused = WsClient::connect(&api.base, &room.id, "", Some(&key)).await;
    assert_eq!(refused.err().map(|r| r.status), Some(404));
}

#[tokio::test]
async fn two_clients_get_posted_and_socket_sent_messages_once_in_order() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (key, room) = api.key_and_room().await;
    let mut a = connect(&room.id, &format!("?token={key}"), None).await;
    let mut b = connect(&room.id, "", Some(&key)).await;
    let mut sse = SseStream::open(
        &api.base,
        &format!("/api/rooms/{}/events", room.id),
        Some(&key),
        None,
    )
    .await;
    let posted = api.send(&key, &room.id, "poster", "by POST").await;
    a.send_text(&message_frame("socketeer", "by socket")).await;
    let got_a = a.exactly(2).await;
    let got_b = b.exactly(2).await;
    let history = api.history(&key, &room.id, "").await;
    assert_eq!(history.len(), 2, "the socket-sent message was stored");
    assert_eq!(history[0], posted);
    assert_eq!(history[1].content, "by socket");
    assert_eq!(got_a, history, "client a: once each, in history order");
    assert_eq!(got_b, history, "client b: once each, in history order");
    // The socket-sent message reaches SSE listeners too.
    let mut via_sse = Vec::new();
    while via_sse.len() < 2 {
        via_sse.push(
            sse.next_message(Duration::from_secs(15))
                .await
                .expect("sse message"),
        );
    }
    assert_eq!(via_sse, history);
}

#[tokio::test]
async fn after_resumes_without_gap_or_repeat_while_messages_keep_arriving() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (key, room) = api.key_and_room().await;
    let mut early = connect(&room.id, "", Some(&key)).await;
    let sender = {
        let (api, key, room) = (api.clone(), key.clone(), room.id.clone());
        tokio::spawn(async move {
            for i in 0..40 {
                api.send(&key, &room, "steady", &format!("n{i}")).await;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        })
    };
    // Join late, resuming after the 5th message while sends continue.
    let mut first = Vec::new();
    while first.len() < 10 {
        first.push(
            early
                .next_message(Duration::from_secs(15))
                .await
                .expect("early message"),
        );
    }
    let mut late = connect(&room.id, &format!("?after={}", first[4].id), Some(&key)).await;
    sender.await.expect("sender");
    let history = api.history(&key, &room.id, "").await;
    assert_eq!(history.len(), 40);
    let rest = early.exactly(30).await;
    first.extend(rest);
    assert_eq!(
        first, history,
        "the early client saw everything once, in order"
    );
    assert_eq!(
        late.exactly(35).await,
        history[5..].to_vec(),
        "replay then live, no seam"
    );
}

#[tokio::test]
async fn upgrades_are_refused_before_the_socket_opens() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (key, room) = api.key_and_room().await;
    let other = api.new_key().await;
    let revoked = api.new_key().await;
    api.call(Method::DELETE, "/api/keys", Some(&revoked), None)
        .await;
    let base = &api.base;
    let status = |r: Result<WsClient, meet_ai_e2e::ws::Refused>| r.err().map(|r| r.status);
    assert_eq!(
        status(WsClient::connect(base, &room.id, "", None).await),
        Some(401)
    );
    assert_eq!(
        status(WsClient::connect(base, &room.id, "", Some(&revoked)).await),
        Some(401)
    );
    assert_eq!(
        status(WsClient::connect(base, &room.id, "", Some(&other)).await),
        Some(404)
    );
    assert_eq!(
        status(WsClient::connect(base, &room.id, &format!("?token={other}"), None).await),
        Some(404)
    );
    assert_eq!(
        status(
            WsClient::connect(base, "00000000-0000-4000-8000-000000000000", "", Some(&key)).await
        ),
        Some(404)
    );
    assert_eq!(
        status(WsClient::connect(base, &room.id, "?after=nope", Some(&key)).await),
        Some(400)
    );
    // A plain GET (no upgrade) is told what the route speaks.
    api.call(
        Method::GET,
        &format!("/api/rooms/{}/ws", room.id),
        Some(&key),
        None,
    )
    .await
    .assert_error(400);
}

#[tokio::test]
async fn bad_frames_get_an_error_and_the_socket_survives() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (key, room) = api.key_and_room().await;
    let mut ws = connect(&room.id, "", Some(&key)).await;
    for bad in [
        "not json".to_owned(),
        json!({ "type": "shout" }).to_string(),
        json!({ "type": "message", "sender": "a" }).to_string(),
        json!({ "type": "message", "sender": "", "content": "x" }).to_string(),
        json!({ "type": "message", "sender": "a", "content": "x".repeat(32 * 1024 + 1) })
            .to_string(),
    ] {
        ws.send_text(&bad).await;
        match ws.next_frame(Duration::from_secs(10)).await {
            Some(ServerFrame::Error { error }) => assert!(!error.is_empty()),
            other => panic!("{bad:.40}: expected an error frame, got {other:?}"),
        }
    }
    ws.send_text(PING).await;
    assert_eq!(
        ws.next_frame(Duration::from_secs(10)).await,
        Some(ServerFrame::Pong)
    );
    ws.send_text(&message_frame("me", "still here")).await;
    let got = ws.exactly(1).await;
    assert_eq!(got[0].content, "still here");
    assert!(
        api.history(&key, &room.id, "").await.len() == 1,
        "bad frames stored nothing"
    );
}

#[tokio::test]
async fn readers_of_a_public_room_cannot_write_and_lose_access_when_revoked() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (owner, room) = api.key_and_room().await;
    api.call(
        Method::PATCH,
        &format!("/api/rooms/{}", room.id),
        Some(&owner),
        Some(json!({ "public": true })),
    )
    .await;
    let reader = api.new_key().await;
    let mut anon = connect(&room.id, "", None).await;
    let mut keyed = connect(&room.id, "", Some(&reader)).await;
    keyed
        .send_text(&message_frame("intruder", "let me in"))
        .await;
    assert!(matches!(
        keyed.next_frame(Duration::from_secs(10)).await,
        Some(ServerFrame::Error { .. })
    ));
    let m = api.send(&owner, &room.id, "owner", "public words").await;
    assert_eq!(anon.exactly(1).await, vec![m.clone()]);
    assert_eq!(keyed.exactly(1).await, vec![m]);
    // Revoke the reader's key: its socket closes at the next delivery.
    api.call(Method::DELETE, "/api/keys", Some(&reader), None)
        .await;
    let m2 = api.send(&owner, &room.id, "owner", "after revoke").await;
    assert_eq!(anon.exactly(1).await, vec![m2]);
    assert!(keyed.next_frame(Duration::from_secs(10)).await.is_none());
    assert_eq!(keyed.closed, Some(1008), "closed for policy");
}

#[tokio::test]
async fn revoking_the_owners_key_closes_its_idle_sockets_at_once() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (key, room) = api.key_and_room().await;
    let mut ws = connect(&room.id, "", Some(&key)).await;
    ws.send_text(PING).await;
    assert_eq!(
        ws.next_frame(Duration::from_secs(10)).await,
        Some(ServerFrame::Pong)
    );
    let revoked = api
        .call(Method::DELETE, "/api/keys", Some(&key), None)
        .await;
    assert_eq!(revoked.status, 204);
    // No message is sent: the revocation itself wakes the room's object.
    assert!(ws.next_frame(Duration::from_secs(10)).await.is_none());
    assert_eq!(ws.closed, Some(1008), "closed for policy");
}

#[tokio::test]
async fn a_member_socket_sends_verified_and_closes_at_once_when_removed() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let agent = api.add_member(&owner, &room.id, "ada", "agent").await;
    let viewer = api.add_member(&owner, &room.id, "eve", "viewer").await;
    let mut ws = connect(&room.id, "", Some(&agent)).await;
    let mut watcher = connect(&room.id, "", Some(&viewer)).await;
    // The member's frame needs no sender: its handle is the sender.
    ws.send_text(&json!({ "type": "message", "content": "hi from ada" }).to_string())
        .await;
    let got = ws
        .next_message(Duration::from_secs(10))
        .await
        .expect("own message");
    assert_eq!((got.sender.as_str(), got.verified), ("ada", true));
    assert_eq!(got.sender_type, protocol::wire::SenderType::Agent);
    assert_eq!(
        watcher.next_message(Duration::from_secs(10)).await,
        Some(got)
    );
    // A spoofed sender and a viewer's send are refused with an error frame.
    ws.send_text(&message_frame("boss", "approved")).await;
    assert!(matches!(
        ws.next_frame(Duration::from_secs(10)).await,
        Some(ServerFrame::Error { .. })
    ));
    watcher
        .send_text(&json!({ "type": "message", "content": "psst" }).to_string())
        .await;
    assert!(matches!(
        watcher.next_frame(Duration::from_secs(10)).await,
        Some(ServerFrame::Error { .. })
    ));
    // Removing the member closes its socket at once; the viewer's stays.
    let removed = api
        .call(
            Method::DELETE,
            &format!("/api/rooms/{}/members/ada", room.id),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    assert_eq!(ws.next_frame(Duration::from_secs(10)).await, None);
    assert_eq!(ws.closed, Some(1008), "closed for policy");
    // Re-issuing the viewer's token closes its socket too.
    let reissued = api
        .call(
            Method::POST,
            &format!("/api/rooms/{}/members/eve/token", room.id),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(reissued.status, 201);
    assert_eq!(watcher.next_frame(Duration::from_secs(10)).await, None);
    assert_eq!(watcher.closed, Some(1008));
}

/// A reconnect with `?after=` at the start of a room of several pages: the
/// handshake comes first, the replay follows page by page, and a live message
/// sent meanwhile reaches a socket that is already up to date exactly once,
/// and the replaying socket after everything before it, with no seam.
#[tokio::test]
async fn a_long_replay_pages_in_order_while_live_sockets_get_new_messages() {
    if !paid_variant() {
        return;
    }
    let vars = ["RATE_MESSAGES_PER_MINUTE", "RATE_ROOMS_PER_DAY"]
        .map(|name| (name.to_owned(), "0".to_owned()));
    let server = meet_ai_e2e::Server::start(meet_ai_e2e::ServerOptions {
        vars: vars.to_vec(),
        ..meet_ai_e2e::ServerOptions::for_variant()
    });
    let api = Api::new(&server.base);
    let (key, room) = api.key_and_room().await;
    // 450 messages: more than two of the object's 200-message pages.
    let senders: Vec<_> = (0..6)
        .map(|s| {
            let (api, key, room) = (api.clone(), key.clone(), room.id.clone());
            tokio::spawn(async move {
                for i in 0..75 {
                    api.send(&key, &room, "bulk", &format!("s{s} m{i}")).await;
                }
            })
        })
        .collect();
    for s in senders {
        s.await.expect("sender");
    }
    let history = api.history(&key, &room.id, "?limit=500").await;
    assert_eq!(history.len(), 450);
    let mut live = WsClient::connect(&server.base, &room.id, "", Some(&key))
        .await
        .expect("live socket");
    let mut late = WsClient::connect(
        &server.base,
        &room.id,
        &format!("?after={}", history[0].id),
        Some(&key),
    )
    .await
    .expect("replaying socket");
    let during = api.send(&key, &room.id, "live", "while replaying").await;
    assert_eq!(live.exactly(1).await, vec![during.clone()]);
    let mut want = history[1..].to_vec();
    want.push(during);
    assert_eq!(late.exactly(450).await, want, "replay then live, in order");
}

#[tokio::test]
async fn making_a_room_private_closes_its_anonymous_sockets_at_once() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let patch = |public: bool| {
        let (api, owner, room) = (api.clone(), owner.clone(), room.id.clone());
        async move {
            let reply = api
                .call(
                    Method::PATCH,
                    &format!("/api/rooms/{room}"),
                    Some(&owner),
                    Some(json!({ "public": public })),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
    };
    patch(true).await;
    let mut anon = connect(&room.id, "", None).await;
    let mut owned = connect(&room.id, "", Some(&owner)).await;
    anon.send_text(PING).await;
    assert_eq!(
        anon.next_frame(Duration::from_secs(10)).await,
        Some(ServerFrame::Pong)
    );
    patch(false).await;
    // No message is sent: the PATCH itself wakes the room's object.
    assert!(anon.next_frame(Duration::from_secs(10)).await.is_none());
    assert_eq!(anon.closed, Some(1008), "closed for policy");
    let m = api.send(&owner, &room.id, "owner", "still here").await;
    assert_eq!(owned.exactly(1).await, vec![m]);
}

/// Concurrent senders: notifications can reach the room's object out of
/// commit order, and a message whose predecessor a socket has not seen yet is
/// left to the pump. Every socket still gets every message once, in order.
#[tokio::test]
async fn concurrent_senders_reach_every_socket_once_in_commit_order() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let token = api.add_member(&owner, &room.id, "helper", "agent").await;
    let mut a = connect(&room.id, "", Some(&owner)).await;
    let mut b = connect(&room.id, "", Some(&token)).await;
    // 50 messages from 10 concurrent senders, two credentials (under the
    // limit of 60 a minute).
    let senders: Vec<_> = (0..10)
        .map(|s| {
            let (api, owner, token, room) =
                (api.clone(), owner.clone(), token.clone(), room.id.clone());
            tokio::spawn(async move {
                for i in 0..5 {
                    let content = format!("s{s} m{i}");
                    if s % 2 == 0 {
                        api.send(&owner, &room, "owner", &content).await;
                    } else {
                        api.send_as_member(&token, &room, &content).await;
                    }
                }
            })
        })
        .collect();
    for s in senders {
        s.await.expect("sender");
    }
    let history = api.history(&owner, &room.id, "?limit=100").await;
    assert_eq!(history.len(), 50);
    assert_eq!(a.exactly(50).await, history, "owner's socket");
    assert_eq!(b.exactly(50).await, history, "member's socket");
}

#[tokio::test]
async fn revoking_the_owner_closes_anonymous_sockets_on_its_public_room_at_once() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (owner, room) = api.key_and_room().await;
    api.call(
        Method::PATCH,
        &format!("/api/rooms/{}", room.id),
        Some(&owner),
        Some(json!({ "public": true })),
    )
    .await;
    let stranger = api.new_key().await;
    let mut anon = connect(&room.id, "", None).await;
    let mut keyed = connect(&room.id, "", Some(&stranger)).await;
    for ws in [&mut anon, &mut keyed] {
        ws.send_text(PING).await;
        assert_eq!(
            ws.next_frame(Duration::from_secs(10)).await,
            Some(ServerFrame::Pong)
        );
    }
    let revoked = api
        .call(Method::DELETE, "/api/keys", Some(&owner), None)
        .await;
    assert_eq!(revoked.status, 204);
    // No message is sent: the revocation wakes the room's object, which
    // finds the owner key revoked and closes every reader's socket.
    for ws in [&mut anon, &mut keyed] {
        assert!(ws.next_frame(Duration::from_secs(10)).await.is_none());
        assert_eq!(ws.closed, Some(1008), "closed for policy");
    }
    // And no new socket opens: 401 anonymous, 404 with another key.
    let base = &Server::shared().base;
    let status = |r: Result<WsClient, meet_ai_e2e::ws::Refused>| r.err().map(|e| e.status);
    assert_eq!(
        status(WsClient::connect(base, &room.id, "", None).await),
        Some(401)
    );
    assert_eq!(
        status(WsClient::connect(base, &room.id, "", Some(&stranger)).await),
        Some(404)
    );
}

#[tokio::test]
async fn a_socket_opens_with_a_ticket_once() {
    if !paid_variant() {
        return;
    }
    let api = api();
    let (key, room) = api.key_and_room().await;
    let ticket = api
        .call(
            Method::POST,
            &format!("/api/rooms/{}/ticket", room.id),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(ticket.status, 201, "{}", ticket.body);
    let t = ticket.json()["ticket"].as_str().unwrap().to_owned();
    let mut ws = connect(&room.id, &format!("?ticket={t}"), None).await;
    let m = api.send(&key, &room.id, "ada", "over a ticket").await;
    assert_eq!(ws.exactly(1).await, vec![m]);
    let again = WsClient::connect(
        &Server::shared().base,
        &room.id,
        &format!("?ticket={t}"),
        None,
    )
    .await;
    assert_eq!(
        again.err().map(|e| e.status),
        Some(401),
        "a ticket opens one socket"
    );
}

/// The room objects run in a script of their own, without the Worker's vars:
/// the Worker hands each socket its send limits. A server started with
/// `RATE_MESSAGES_PER_MINUTE=2` (a var only the Worker reads) refuses a
/// socket's third message in a minute, and stores the first two.
#[tokio::test]
async fn socket_sends_are_held_to_the_workers_per_minute_limit() {
    if !paid_variant() {
        return;
    }
    let server = meet_ai_e2e::Server::start(meet_ai_e2e::ServerOptions {
        vars: vec![("RATE_MESSAGES_PER_MINUTE".to_owned(), "2".to_owned())],
        ..meet_ai_e2e::ServerOptions::for_variant()
    });
    let api = Api::new(&server.base);
    let (key, room) = api.key_and_room().await;
    let mut ws = WsClient::connect(&server.base, &room.id, "", Some(&key))
        .await
        .unwrap_or_else(|r| panic!("upgrade refused: {} {}", r.status, r.body));
    for i in 0..3 {
        ws.send_text(&message_frame("bot", &format!("m{i}"))).await;
    }
    let (mut contents, mut errors) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        match ws.next_frame(Duration::from_secs(10)).await {
            Some(ServerFrame::Message(m)) => contents.push(m.content),
            Some(ServerFrame::Error { error }) => errors.push(error),
            other => panic!("expected two messages and a refusal, got {other:?}"),
        }
    }
    assert_eq!(contents, ["m0", "m1"]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("2 messages per minute"), "{}", errors[0]);
    let history = api.history(&key, &room.id, "").await;
    assert_eq!(history.len(), 2, "the refused message is not stored");
}
