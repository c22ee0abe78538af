//! Room members: a member token opens exactly its one room, under a handle
//! the server vouches for; roles, spoofing, removal, re-issue and the limits.

use std::time::Duration;

use meet_ai_e2e::api::Reply;
use meet_ai_e2e::{Api, SseStream};
use protocol::wire::{Message, SenderType};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{api, UNKNOWN_ID};

/// A send to `room` with `credential` and this body, answered whole.
async fn post_message(api: &Api, credential: &str, room: &str, body: serde_json::Value) -> Reply {
    api.call(
        Method::POST,
        &format!("/api/rooms/{room}/messages"),
        Some(credential),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_member_token_opens_exactly_its_room() {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let other = api.create_room(&owner, "other").await;
    // Even a public room of the same owner is closed to the member.
    let reply = api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{}", other.id),
            Some(&owner),
            Some(json!({ "public": true })),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = api.add_member(&owner, &room.id, "ada", "agent").await;
    assert!(token.starts_with("mem_") && token.len() == 28, "{token}");

    let rooms = api
        .call(Method::GET, "/api/rooms", Some(&token), None)
        .await;
    assert_eq!(rooms.status, 200);
    let ids: Vec<String> = rooms
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![room.id.clone()], "a member lists just its room");

    let who = api
        .call(Method::GET, "/api/whoami", Some(&token), None)
        .await;
    assert_eq!(
        who.json(),
        json!({"kind": "member", "room_id": room.id, "handle": "ada", "role": "agent"})
    );

    for path in ["", "/messages", "/members"] {
        let own = api
            .call(
                Method::GET,
                &format!("/api/rooms/{}{path}", room.id),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(own.status, 200, "own room{path}: {}", own.body);
        for foreign in [&other.id, &UNKNOWN_ID.to_owned()] {
            let reply = api
                .call(
                    Method::GET,
                    &format!("/api/rooms/{foreign}{path}"),
                    Some(&token),
                    None,
                )
                .await;
            reply.assert_error(404);
        }
    }
    let stream = SseStream::open(
        &api.base,
        &format!("/api/rooms/{}/events", other.id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(stream.status, 404, "another room's stream is not found");
    let send = api
        .call(
            Method::POST,
            &format!("/api/rooms/{}/messages", other.id),
            Some(&token),
            Some(json!({ "content": "hi" })),
        )
        .await;
    send.assert_error(404);

    // Owner-only actions are 403 wherever they point.
    let owner_only = [
        (
            Method::POST,
            "/api/rooms".to_owned(),
            Some(json!({ "name": "x" })),
        ),
        (
            Method::PATCH,
            format!("/api/rooms/{}", room.id),
            Some(json!({ "public": true })),
        ),
        (
            Method::PATCH,
            format!("/api/rooms/{}", other.id),
            Some(json!({ "public": false })),
        ),
        (
            Method::POST,
            format!("/api/rooms/{}/members", room.id),
            Some(json!({ "handle": "eve", "role": "human" })),
        ),
        (
            Method::DELETE,
            format!("/api/rooms/{}/members/ada", room.id),
            None,
        ),
        (
            Method::POST,
            format!("/api/rooms/{}/members/ada/token", room.id),
            None,
        ),
        (Method::DELETE, "/api/keys".to_owned(), None),
    ];
    for (method, path, body) in owner_only {
        let reply = api.call(method.clone(), &path, Some(&token), body).await;
        reply.assert_error(403);
        assert_eq!(reply.json()["code"], "forbidden", "{method} {path}");
    }
    // Nothing changed: the owner key still works, the room is still private.
    let after = api
        .call(
            Method::GET,
            &format!("/api/rooms/{}", room.id),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(after.json()["public"], false);
    assert_eq!(
        api.call(Method::GET, "/api/rooms", Some(&owner), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn members_send_as_their_handle_and_role_verified() {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let agent = api.add_member(&owner, &room.id, "claude-1", "agent").await;
    let human = api.add_member(&owner, &room.id, "Ada", "human").await;
    let viewer = api.add_member(&owner, &room.id, "watcher", "viewer").await;

    let m = api.send_as_member(&agent, &room.id, "on it").await;
    assert_eq!(
        (m.sender.as_str(), m.sender_type, m.verified),
        ("claude-1", SenderType::Agent, true)
    );
    // sender_type in the body is ignored: the role decides.
    let reply = post_message(
        &api,
        &human,
        &room.id,
        json!({ "sender": "ada", "sender_type": "agent", "content": "hello" }),
    )
    .await;
    assert_eq!(
        reply.status, 201,
        "its own handle in any case: {}",
        reply.body
    );
    let m: Message = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        (m.sender.as_str(), m.sender_type, m.verified),
        ("Ada", SenderType::Human, true)
    );

    // Spoofing another name is refused, and so is a viewer's send.
    let spoof = post_message(
        &api,
        &agent,
        &room.id,
        json!({ "sender": "Ada", "content": "I approve" }),
    )
    .await;
    spoof.assert_error(403);
    let viewer_send = post_message(&api, &viewer, &room.id, json!({ "content": "psst" })).await;
    viewer_send.assert_error(403);
    // The owner key cannot use a member's handle, in any case.
    let owner_spoof = post_message(
        &api,
        &owner,
        &room.id,
        json!({ "sender": "CLAUDE-1", "content": "fake" }),
    )
    .await;
    owner_spoof.assert_error(403);
    // Without a sender the owner key gets a 400.
    let nameless = post_message(&api, &owner, &room.id, json!({ "content": "who am I" })).await;
    nameless.assert_error(400);
    let owners = api.send(&owner, &room.id, "boss", "fine").await;
    assert!(!owners.verified, "an owner key's names are not vouched for");

    // The viewer reads everything; only the three good sends were stored.
    let history = api.history(&viewer, &room.id, "").await;
    let said: Vec<(&str, bool)> = history
        .iter()
        .map(|m| (m.content.as_str(), m.verified))
        .collect();
    assert_eq!(said, [("on it", true), ("hello", true), ("fine", false)]);
}

#[tokio::test]
async fn handles_are_unique_per_room_and_listed_by_role() {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let token = api.add_member(&owner, &room.id, "ada", "human").await;
    let taken = api
        .call(
            Method::POST,
            &format!("/api/rooms/{}/members", room.id),
            Some(&owner),
            Some(json!({ "handle": "ADA", "role": "agent" })),
        )
        .await;
    taken.assert_error(409);
    assert_eq!(taken.json()["code"], "conflict");
    for bad in [
        json!({ "handle": "", "role": "agent" }),
        json!({ "handle": "x", "role": "admin" }),
        json!({ "handle": "cla\u{200b}ude", "role": "agent" }),
    ] {
        let reply = api
            .call(
                Method::POST,
                &format!("/api/rooms/{}/members", room.id),
                Some(&owner),
                Some(bad),
            )
            .await;
        reply.assert_error(400);
    }
    api.add_member(&owner, &room.id, "bot", "viewer").await;
    let as_owner = api
        .call(
            Method::GET,
            &format!("/api/rooms/{}/members", room.id),
            Some(&owner),
            None,
        )
        .await
        .json();
    let list = as_owner.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0]["handle"].as_str(), list[0]["role"].as_str()),
        (Some("ada"), Some("human"))
    );
    assert!(list[0]["created_at"].is_string() && list[0]["token_prefix"].is_string());
    assert!(list[0].get("last_seen_at").is_some());
    let as_member = api
        .call(
            Method::GET,
            &format!("/api/rooms/{}/members", room.id),
            Some(&token),
            None,
        )
        .await
        .json();
    assert_eq!(
        as_member,
        json!([{"handle": "ada", "role": "human"}, {"handle": "bot", "role": "viewer"}])
    );
    // Another key cannot see or add members.
    let intruder = api.new_key().await;
    api.call(
        Method::GET,
        &format!("/api/rooms/{}/members", room.id),
        Some(&intruder),
        None,
    )
    .await
    .assert_error(404);
    api.call(
        Method::POST,
        &format!("/api/rooms/{}/members", room.id),
        Some(&intruder),
        Some(json!({ "handle": "eve", "role": "human" })),
    )
    .await
    .assert_error(404);
}

#[tokio::test]
async fn removal_ends_access_everywhere_including_an_open_stream() {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let token = api.add_member(&owner, &room.id, "ada", "agent").await;
    let mut stream = SseStream::open(
        &api.base,
        &format!("/api/rooms/{}/events", room.id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(stream.status, 200);
    let removed = api
        .call(
            Method::DELETE,
            &format!("/api/rooms/{}/members/ada", room.id),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    // The stream ends at its next access check (at most the check period
    // plus one idle interval, 34 s; with room for a busy machine).
    let bound = protocol::stream::PollConfig::default().revocation_bound_ms() / 1000 + 15;
    let mut ended = false;
    for _ in 0..bound {
        if stream.next_event(Duration::from_secs(1)).await.is_none() && stream.ended {
            ended = true;
            break;
        }
    }
    assert!(ended, "the removed member's stream ended");
    let last = stream.decoder.last_comment.clone().unwrap_or_default();
    assert!(last.contains("reason=access-lost"), "{last}");
    for (method, path) in [
        (Method::GET, "/api/rooms".to_owned()),
        (Method::GET, format!("/api/rooms/{}/messages", room.id)),
        (Method::GET, "/api/whoami".to_owned()),
    ] {
        api.call(method, &path, Some(&token), None)
            .await
            .assert_error(401);
    }
    post_message(&api, &token, &room.id, json!({ "content": "still here?" }))
        .await
        .assert_error(401);
    let again = api
        .call(
            Method::DELETE,
            &format!("/api/rooms/{}/members/ada", room.id),
            Some(&owner),
            None,
        )
        .await;
    again.assert_error(404);
    // The handle is free again.
    api.add_member(&owner, &room.id, "ada", "human").await;
}

#[tokio::test]
async fn reissue_kills_the_old_token_and_revoking_the_owner_ends_memberships() {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let old = api.add_member(&owner, &room.id, "ada", "agent").await;
    let reply = api
        .call(
            Method::POST,
            &format!("/api/rooms/{}/members/ada/token", room.id),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let new = reply.json()["token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    api.call(Method::GET, "/api/whoami", Some(&old), None)
        .await
        .assert_error(401);
    api.send_as_member(&new, &room.id, "new token works").await;

    let revoked = api
        .call(Method::DELETE, "/api/keys", Some(&owner), None)
        .await;
    assert_eq!(revoked.status, 204);
    api.call(Method::GET, "/api/whoami", Some(&new), None)
        .await
        .assert_error(401);
    api.call(
        Method::GET,
        &format!("/api/rooms/{}/messages", room.id),
        Some(&new),
        None,
    )
    .await
    .assert_error(401);
}

/// Both limits are counted inside the INSERT, so a burst of concurrent
/// requests never passes them.
#[tokio::test]
async fn member_limits_hold_under_concurrent_requests() {
    let server = meet_ai_e2e::Server::start(meet_ai_e2e::ServerOptions {
        vars: vec![
            ("MEMBERS_PER_ROOM".into(), "3".into()),
            ("RATE_MEMBERS_PER_DAY".into(), "5".into()),
        ],
        ..meet_ai_e2e::ServerOptions::for_variant()
    });
    let api = Api::new(&server.base);
    let (owner, room) = api.key_and_room().await;
    let burst = |room: String| {
        let api = api.clone();
        let owner = owner.clone();
        async move {
            let calls = (0..12).map(|i| {
                let api = api.clone();
                let (owner, room) = (owner.clone(), room.clone());
                async move {
                    api.call(
                        Method::POST,
                        &format!("/api/rooms/{room}/members"),
                        Some(&owner),
                        Some(json!({ "handle": format!("h{i}"), "role": "agent" })),
                    )
                    .await
                }
            });
            futures_util::future::join_all(calls).await
        }
    };
    let replies = burst(room.id.clone()).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 3, "members per room: exactly the limit");
    assert!(replies
        .iter()
        .filter(|r| r.status != 201)
        .all(|r| r.status == 409));
    // A second room: the per-key daily limit (5) leaves 2.
    let second = api.create_room(&owner, "second").await;
    let replies = burst(second.id.clone()).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created, 2,
        "member creations per key per day: exactly the limit"
    );
    let limited = replies.iter().find(|r| r.status == 429).expect("a refusal");
    assert_eq!(limited.json()["code"], "rate_limited");
    assert!(limited.header("Retry-After").is_some());
    let listed = api
        .call(
            Method::GET,
            &format!("/api/rooms/{}/members", second.id),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(
        listed.json().as_array().unwrap().len(),
        2,
        "nothing stored by refusals"
    );
}
