//! Revocation revokes everything (issue 11, item 1): once the owner key is
//! revoked, its rooms, public ones included, are unreadable by anyone. A
//! revoked room answers as a room that does not exist (docs/API.md): 401 to
//! an anonymous caller, 404 to any other live key, 401 to the revoked key and
//! its member tokens (their credential is dead).

use std::time::Duration;

use meet_ai_e2e::{Api, Server, ServerOptions, SseStream};
use reqwest::Method;
use serde_json::json;

use crate::helpers::api;

async fn make_public(api: &Api, key: &str, room: &str) {
    let reply = api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{room}"),
            Some(key),
            Some(json!({ "public": true })),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_revoked_keys_public_room_is_unreadable_by_anyone() {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    make_public(&api, &owner, &room.id).await;
    let member = api.add_member(&owner, &room.id, "claude", "agent").await;
    let m = api.send(&owner, &room.id, "ada", "public words").await;
    let stranger = api.new_key().await;
    let history = format!("/api/rooms/{}/messages", room.id);
    let events = format!("/api/rooms/{}/events", room.id);
    let info = format!("/api/rooms/{}", room.id);
    // Before: anyone reads it.
    for path in [&history, &info] {
        assert_eq!(api.call(Method::GET, path, None, None).await.status, 200);
        assert_eq!(
            api.call(Method::GET, path, Some(&stranger), None)
                .await
                .status,
            200
        );
    }
    let mut anon = SseStream::open(&api.base, &events, None, None).await;
    assert_eq!(anon.status, 200);
    let mut other = SseStream::open(&api.base, &events, Some(&stranger), None).await;
    assert_eq!(other.status, 200);
    // A ticket issued before the revocation must not outlive it.
    let ticket = api
        .call(
            Method::POST,
            &format!("/api/rooms/{}/ticket", room.id),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(ticket.status, 201, "{}", ticket.body);
    let ticket = ticket.json()["ticket"].as_str().unwrap().to_owned();

    let revoked = api
        .call(Method::DELETE, "/api/keys", Some(&owner), None)
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);

    // Open streams end at their next access check (at most the check period
    // plus one idle interval, 34 s; with room for a busy machine), without
    // another message.
    let bound = Duration::from_millis(
        u64::from(protocol::stream::PollConfig::default().revocation_bound_ms()) + 15_000,
    );
    for stream in [&mut anon, &mut other] {
        while let Some(event) = stream.next_event(bound).await {
            assert_ne!(event.event, "message", "{event:?}");
        }
        assert!(stream.ended, "the stream ended");
        let last = stream.decoder.last_comment.clone().unwrap_or_default();
        assert!(last.contains("reason=access-lost"), "{last}");
    }
    // History, the room, the stream: 401 anonymous, 404 to another key.
    for path in [&history, &info, &events] {
        api.call(Method::GET, path, None, None)
            .await
            .assert_error(401);
        let keyed = api.call(Method::GET, path, Some(&stranger), None).await;
        keyed.assert_error(404);
        assert_eq!(keyed.json()["code"], "not_found");
        // The revoked key and its member token are dead credentials.
        for dead in [&owner, &member] {
            api.call(Method::GET, path, Some(dead), None)
                .await
                .assert_error(401);
        }
    }
    let paged = api
        .call(
            Method::GET,
            &format!("{history}?after={}", m.id),
            None,
            None,
        )
        .await;
    paged.assert_error(401);
    let with_ticket =
        SseStream::open(&api.base, &format!("{events}?ticket={ticket}"), None, None).await;
    assert_eq!(with_ticket.status, 401, "a ticket dies with its key");
}

#[tokio::test]
async fn a_revoked_keys_room_leaves_the_featured_slot() {
    let mut server = Server::start(ServerOptions::for_variant());
    let api = Api::new(&server.base);
    let (owner, room) = api.key_and_room().await;
    make_public(&api, &owner, &room.id).await;
    server.restart_with_var("FEATURED_ROOM_ID", &room.id);
    let api = Api::new(&server.base);
    let featured = api.call(Method::GET, "/api/featured", None, None).await;
    assert_eq!(featured.status, 200, "{}", featured.body);
    assert_eq!(featured.json()["id"], room.id.as_str());
    assert_eq!(
        api.call(Method::DELETE, "/api/keys", Some(&owner), None)
            .await
            .status,
        204
    );
    let featured = api.call(Method::GET, "/api/featured", None, None).await;
    featured.assert_error(404);
}
