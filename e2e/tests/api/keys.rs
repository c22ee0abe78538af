use reqwest::Method;

use crate::helpers::api;
use meet_ai_e2e::api::fresh_ip;
use meet_ai_e2e::Server;

#[tokio::test]
async fn health_answers_without_auth() {
    let reply = api().call(Method::GET, "/api/health", None, None).await;
    assert_eq!(reply.status, 200);
    let websocket = meet_ai_e2e::paid_variant();
    assert_eq!(
        reply.json(),
        serde_json::json!({ "ok": true, "features": {
            "websocket": websocket, "members": true, "mentions": true,
            "decisions": true
        } })
    );
}

#[tokio::test]
async fn a_new_key_has_the_documented_shape() {
    let api = api();
    let reply = api.create_key_from(&fresh_ip()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    let key = body["key"].as_str().expect("key is a string");
    assert_eq!(key.len(), 28);
    assert!(key.starts_with("mai_"));
    assert!(key[4..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    assert_eq!(body["prefix"].as_str(), Some(&key[..8]));
    assert_ne!(api.new_key().await, key, "keys are random");
}

#[tokio::test]
async fn a_key_works_as_header_and_never_in_a_rest_url() {
    let api = api();
    let key = api.new_key().await;
    let by_header = api.call(Method::GET, "/api/rooms", Some(&key), None).await;
    assert_eq!(by_header.status, 200);
    assert_eq!(by_header.json(), serde_json::json!([]));
    // URLs end up in logs: ?token= is refused everywhere but the streams.
    let by_token = api
        .call(Method::GET, &format!("/api/rooms?token={key}"), None, None)
        .await;
    by_token.assert_error(401);
}

#[tokio::test]
async fn missing_malformed_and_unknown_keys_get_401() {
    let api = api();
    let unknown = "mai_AAAAAAAAAAAAAAAAAAAAAAAA";
    for (label, req) in [
        ("no key", api.request(Method::GET, "/api/rooms", None)),
        (
            "malformed",
            api.request(Method::GET, "/api/rooms", Some("mai_short")),
        ),
        (
            "unknown",
            api.request(Method::GET, "/api/rooms", Some(unknown)),
        ),
        (
            "basic scheme",
            api.request(Method::GET, "/api/rooms", None)
                .header("Authorization", "Basic Zm9vOmJhcg=="),
        ),
        (
            "bad token",
            api.request(Method::GET, "/api/rooms?token=nope", None),
        ),
        (
            "revoke without key",
            api.request(Method::DELETE, "/api/keys", None),
        ),
    ] {
        let reply = meet_ai_e2e::Api::send_req(req).await;
        assert_eq!(reply.status, 401, "{label}: {}", reply.body);
        reply.assert_error(401);
        assert_eq!(reply.json()["code"], "unauthorized", "{label}");
    }
}

#[tokio::test]
async fn a_revoked_key_is_refused_everywhere_at_once() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let revoked = api
        .call(Method::DELETE, "/api/keys", Some(&key), None)
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    assert!(revoked.body.is_empty());
    let paths = [
        (Method::GET, "/api/rooms".to_owned()),
        (Method::POST, "/api/rooms".to_owned()),
        (Method::GET, format!("/api/rooms/{}", room.id)),
        (Method::GET, format!("/api/rooms/{}/messages", room.id)),
        (Method::POST, format!("/api/rooms/{}/messages", room.id)),
        (Method::GET, format!("/api/rooms/{}/events", room.id)),
        (Method::DELETE, "/api/keys".to_owned()),
    ];
    for (method, path) in &paths {
        let body = serde_json::json!({ "name": "x", "sender": "a", "content": "b" });
        let reply = api.call(method.clone(), path, Some(&key), Some(body)).await;
        assert_eq!(reply.status, 401, "{method} {path}: {}", reply.body);
        let sep = if path.contains('?') { '&' } else { '?' };
        let by_token = api
            .call(
                method.clone(),
                &format!("{path}{sep}token={key}"),
                None,
                None,
            )
            .await;
        assert_eq!(by_token.status, 401, "{method} {path} as token");
    }
}

#[tokio::test]
async fn the_plaintext_key_is_never_stored() {
    let server = Server::start(meet_ai_e2e::ServerOptions::for_variant());
    let api = meet_ai_e2e::Api::new(&server.base);
    let key = api.new_key().await;
    // Use it, so any logging or last_used path has run.
    let room = api.create_room(&key, "secret keeper").await;
    api.send(&key, &room.id, "me", "hello").await;
    // And a stream through a ticket, as the web UI opens one.
    let ticket = api
        .call(
            Method::POST,
            &format!("/api/rooms/{}/ticket", room.id),
            Some(&key),
            None,
        )
        .await;
    let ticket = ticket.json()["ticket"].as_str().unwrap().to_owned();
    let stream = meet_ai_e2e::SseStream::open(
        &api.base,
        &format!("/api/rooms/{}/events?ticket={ticket}", room.id),
        None,
        None,
    )
    .await;
    assert_eq!(stream.status, 200);
    drop(stream);
    // The Worker's own log (and wrangler's access log) never shows the key.
    assert!(!server.log().contains(&key), "the key is in the server log");
    let hash = protocol::key::hash(&key);
    let mut found_hash = false;
    let mut files = 0;
    let mut stack = vec![server.state_dir.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read state dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            files += 1;
            assert!(
                !contains(&bytes, key.as_bytes()),
                "plaintext key found in {}",
                path.display()
            );
            found_hash |= contains(&bytes, hash.as_bytes());
        }
    }
    // The scan looked where the data is: the key's hash is there.
    assert!(
        files > 0 && found_hash,
        "key hash not found in {files} state files"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
