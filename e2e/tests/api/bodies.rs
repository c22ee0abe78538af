//! Bodies (issue 11, item 5): the credential is checked before the body is
//! read; a body over the cap is refused with 413, with or without a
//! Content-Length; nothing is stored from a refused request. (`wrangler dev`
//! buffers bodies, so that the Worker stops reading early is checked in code;
//! here, what a client can see.)

use futures_util::stream;
use protocol::validate::MAX_BODY_BYTES;
use reqwest::{Body, Method};
use serde_json::json;

use crate::helpers::api;
use meet_ai_e2e::Api;

/// A send whose JSON is valid but one byte over the cap.
fn oversized_send() -> Vec<u8> {
    let filler = "x".repeat(MAX_BODY_BYTES);
    serde_json::to_vec(&json!({ "sender": "big", "content": filler })).unwrap()
}

/// The same bytes as a chunked body (no Content-Length).
fn chunked(bytes: Vec<u8>) -> Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    Body::wrap_stream(stream::iter(chunks))
}

#[tokio::test]
async fn an_oversized_body_is_413_with_or_without_content_length_and_stores_nothing() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let path = format!("/api/rooms/{}/messages", room.id);
    let sized = Api::send_req(
        api.request(Method::POST, &path, Some(&key))
            .header("Content-Type", "application/json")
            .body(oversized_send()),
    )
    .await;
    sized.assert_error(413);
    assert_eq!(sized.json()["code"], "payload_too_large");
    let streamed = Api::send_req(
        api.request(Method::POST, &path, Some(&key))
            .header("Content-Type", "application/json")
            .body(chunked(oversized_send())),
    )
    .await;
    streamed.assert_error(413);
    assert!(
        api.history(&key, &room.id, "").await.is_empty(),
        "nothing stored"
    );
    // Every body-taking route has the same cap.
    let big = oversized_send();
    for (method, p) in [
        (Method::POST, "/api/rooms".to_owned()),
        (Method::PATCH, format!("/api/rooms/{}", room.id)),
        (Method::POST, format!("/api/rooms/{}/members", room.id)),
        (Method::POST, format!("/api/rooms/{}/decisions", room.id)),
    ] {
        let reply = Api::send_req(
            api.request(method.clone(), &p, Some(&key))
                .header("Content-Type", "application/json")
                .body(chunked(big.clone())),
        )
        .await;
        reply.assert_error(413);
    }
    let rooms = api.call(Method::GET, "/api/rooms", Some(&key), None).await;
    assert_eq!(rooms.json().as_array().unwrap().len(), 1, "no room made");
}

#[tokio::test]
async fn a_bad_key_with_a_big_body_is_401_not_413() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let unknown = "mai_AAAAAAAAAAAAAAAAAAAAAAAA";
    let r = &room.id;
    let routes = [
        (Method::POST, format!("/api/rooms/{r}/messages")),
        (Method::POST, "/api/rooms".to_owned()),
        (Method::PATCH, format!("/api/rooms/{r}")),
        (Method::POST, format!("/api/rooms/{r}/members")),
        (Method::POST, format!("/api/rooms/{r}/read")),
        (Method::POST, format!("/api/rooms/{r}/decisions")),
        (
            Method::POST,
            format!(
                "/api/rooms/{r}/decisions/{}/answer",
                crate::helpers::UNKNOWN_ID
            ),
        ),
    ];
    for (method, path) in &routes {
        for body in [Body::from(oversized_send()), chunked(oversized_send())] {
            let reply = Api::send_req(
                api.request(method.clone(), path, Some(unknown))
                    .header("Content-Type", "application/json")
                    .body(body),
            )
            .await;
            assert_eq!(reply.status, 401, "{method} {path}: {}", reply.body);
        }
    }
    // MCP too: the credential is checked before the JSON-RPC body is read.
    let mcp = Api::send_req(
        api.request(Method::POST, "/mcp", Some(unknown))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .body(chunked(oversized_send())),
    )
    .await;
    assert_eq!(mcp.status, 401, "{}", mcp.body);
    assert!(api.history(&key, r, "").await.is_empty());
}
