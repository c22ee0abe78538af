//! Keys stay out of URLs (issue 11, item 6): `?token=` only on GET of the
//! stream routes; a stream ticket (`POST /api/rooms/:id/ticket`) is
//! short-lived, single-use and good for one room.

use std::time::Duration;

use futures_util::future::join_all;
use meet_ai_e2e::{Api, SseStream};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{api, UNKNOWN_ID};

async fn ticket(api: &Api, cred: &str, room: &str) -> String {
    let reply = api
        .call(
            Method::POST,
            &format!("/api/rooms/{room}/ticket"),
            Some(cred),
            None,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["expires_in"], 60);
    let t = body["ticket"].as_str().expect("ticket").to_owned();
    assert!(t.starts_with("tkt_") && t.len() == 28, "{t}");
    t
}

fn events(room: &str, query: &str) -> String {
    format!("/api/rooms/{room}/events{query}")
}

#[tokio::test]
async fn a_ticket_opens_one_stream_of_one_room_once() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let other = api.create_room(&key, "other").await;
    let t = ticket(&api, &key, &room.id).await;
    // Another room refuses it, and does not use it up.
    let wrong = SseStream::open(
        &api.base,
        &events(&other.id, &format!("?ticket={t}")),
        None,
        None,
    )
    .await;
    assert_eq!(wrong.status, 401);
    let mut stream = SseStream::open(
        &api.base,
        &events(&room.id, &format!("?ticket={t}")),
        None,
        None,
    )
    .await;
    assert_eq!(stream.status, 200);
    let m = api.send(&key, &room.id, "ada", "via ticket").await;
    assert_eq!(
        stream
            .next_message(Duration::from_secs(15))
            .await
            .map(|x| x.id),
        Some(m.id)
    );
    // Used: a second open is refused with a clear 401.
    let again = api
        .call(
            Method::GET,
            &events(&room.id, &format!("?ticket={t}")),
            None,
            None,
        )
        .await;
    again.assert_error(401);
    assert!(again.json()["error"].as_str().unwrap().contains("ticket"));
    // Garbage and keys are not tickets.
    for bad in ["tkt_nope".to_owned(), key.clone()] {
        api.call(
            Method::GET,
            &events(&room.id, &format!("?ticket={bad}")),
            None,
            None,
        )
        .await
        .assert_error(401);
    }
}

#[tokio::test]
async fn concurrent_uses_of_one_ticket_open_exactly_one_stream() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let t = ticket(&api, &key, &room.id).await;
    let path = events(&room.id, &format!("?ticket={t}"));
    let opened = join_all((0..6).map(|_| SseStream::open(&api.base, &path, None, None))).await;
    let ok = opened.iter().filter(|s| s.status == 200).count();
    let refused = opened.iter().filter(|s| s.status == 401).count();
    assert_eq!((ok, refused), (1, 5));
}

#[tokio::test]
async fn members_get_tickets_for_their_room_only_and_strangers_none() {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let other = api.create_room(&owner, "not yours").await;
    let viewer = api.add_member(&owner, &room.id, "watcher", "viewer").await;
    let t = ticket(&api, &viewer, &room.id).await;
    let stream = SseStream::open(
        &api.base,
        &events(&room.id, &format!("?ticket={t}")),
        None,
        None,
    )
    .await;
    assert_eq!(stream.status, 200);
    let path = |r: &str| format!("/api/rooms/{r}/ticket");
    api.call(Method::POST, &path(&other.id), Some(&viewer), None)
        .await
        .assert_error(404);
    let stranger = api.new_key().await;
    api.call(Method::POST, &path(&room.id), Some(&stranger), None)
        .await
        .assert_error(404);
    api.call(Method::POST, &path(UNKNOWN_ID), Some(&owner), None)
        .await
        .assert_error(404);
    api.call(Method::POST, &path(&room.id), None, None)
        .await
        .assert_error(401);
}

#[tokio::test]
async fn keys_in_urls_are_refused_except_on_stream_gets() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let member = api.add_member(&key, &room.id, "claude", "agent").await;
    let r = &room.id;
    let cases = [
        (Method::GET, "/api/rooms".to_owned()),
        (Method::POST, "/api/rooms".to_owned()),
        (Method::GET, format!("/api/rooms/{r}")),
        (Method::PATCH, format!("/api/rooms/{r}")),
        (Method::GET, format!("/api/rooms/{r}/messages")),
        (Method::POST, format!("/api/rooms/{r}/messages")),
        (Method::POST, format!("/api/rooms/{r}/ticket")),
        (Method::GET, format!("/api/rooms/{r}/members")),
        (Method::GET, "/api/whoami".to_owned()),
        (Method::DELETE, "/api/keys".to_owned()),
    ];
    for (method, path) in &cases {
        for cred in [&key, &member] {
            // Even alongside a good header: the URL itself is the leak.
            let reply = Api::send_req(
                api.request(method.clone(), &format!("{path}?token={cred}"), Some(cred))
                    .json(&json!({ "name": "x", "sender": "a", "content": "b" })),
            )
            .await;
            reply.assert_error(401);
            let error = reply.json()["error"].as_str().unwrap_or("").to_owned();
            assert!(error.contains("URL"), "{method} {path}: {error}");
        }
        let with_ticket = api
            .call(
                method.clone(),
                &format!("{path}?ticket=tkt_x"),
                Some(&key),
                None,
            )
            .await;
        with_ticket.assert_error(401);
    }
    // Nothing was done by the refused requests: the key still works, one room.
    let rooms = api.call(Method::GET, "/api/rooms", Some(&key), None).await;
    assert_eq!(rooms.json().as_array().unwrap().len(), 1);
    assert!(
        api.history(&key, r, "").await.is_empty(),
        "nothing was sent"
    );
    // GET /events still takes ?token= (for clients that cannot set a header).
    let stream = SseStream::open(&api.base, &events(r, &format!("?token={key}")), None, None).await;
    assert_eq!(stream.status, 200);
}
