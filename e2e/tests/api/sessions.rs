//! D1 sessions: every response carries a bookmark, a client that presents it
//! reads its own writes, and a value that cannot be a bookmark is a clear 400
//! that changes nothing. Locally there are no replicas, so this covers the
//! code path and the contract, not replica lag.

use protocol::bookmark::{parse, BOOKMARK_HEADER};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{api, contents};
use meet_ai_e2e::Api;

fn bookmark_of(reply: &meet_ai_e2e::api::Reply) -> String {
    let b = reply
        .header(BOOKMARK_HEADER)
        .unwrap_or_else(|| panic!("no {BOOKMARK_HEADER} on {}: {}", reply.status, reply.body));
    assert!(parse(b).is_some(), "a bookmark D1 would accept: {b:?}");
    b.to_owned()
}

#[tokio::test]
async fn a_send_returns_a_bookmark_and_a_read_presenting_it_sees_the_send() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let path = format!("/api/rooms/{}/messages", room.id);
    let sent = Api::send_req(
        api.request(Method::POST, &path, Some(&key))
            .json(&json!({ "sender": "ada", "content": "mine" })),
    )
    .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let after_send = bookmark_of(&sent);

    let read = Api::send_req(
        api.request(Method::GET, &path, Some(&key))
            .header(BOOKMARK_HEADER, &after_send),
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.body);
    let messages: Vec<protocol::wire::Message> = serde_json::from_str(&read.body).unwrap();
    assert_eq!(contents(&messages), vec!["mine"], "read-your-writes");
    // The session never goes back in time: the read's bookmark is at least
    // the one it started from (D1 bookmarks order as strings).
    assert!(bookmark_of(&read) >= after_send);

    // Reads without a bookmark are served too, and hand one out.
    let plain = api.call(Method::GET, &path, Some(&key), None).await;
    assert_eq!(plain.status, 200);
    bookmark_of(&plain);
    // The event stream's response carries one as well.
    let events = api
        .request(
            Method::GET,
            &format!("/api/rooms/{}/events", room.id),
            Some(&key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let b = events
        .headers()
        .get(BOOKMARK_HEADER)
        .expect("stream bookmark");
    assert!(parse(b.to_str().unwrap()).is_some());
}

#[tokio::test]
async fn a_malformed_bookmark_is_a_400_that_changes_nothing() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let path = format!("/api/rooms/{}/messages", room.id);
    for bad in ["garbage", "0000-1111", "first-anywhere", "a b"] {
        let send = Api::send_req(
            api.request(Method::POST, &path, Some(&key))
                .header(BOOKMARK_HEADER, bad)
                .json(&json!({ "sender": "ada", "content": "refused" })),
        )
        .await;
        send.assert_error(400);
        assert_eq!(send.json()["code"], "bad_request");
        let read = Api::send_req(
            api.request(Method::GET, &path, Some(&key))
                .header(BOOKMARK_HEADER, bad),
        )
        .await;
        read.assert_error(400);
    }
    assert!(
        api.history(&key, &room.id, "").await.is_empty(),
        "nothing was stored"
    );
    // The two constraint words are accepted as what they say.
    let primary = Api::send_req(
        api.request(Method::GET, &path, Some(&key))
            .header(BOOKMARK_HEADER, "first-primary"),
    )
    .await;
    assert_eq!(primary.status, 200, "{}", primary.body);
}
