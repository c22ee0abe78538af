use reqwest::Method;
use serde_json::json;

use crate::helpers::{api, assert_timestamp, UNKNOWN_ID};

#[tokio::test]
async fn rooms_are_created_listed_oldest_first_and_fetched() {
    let api = api();
    let key = api.new_key().await;
    let a = api.create_room(&key, "  first  ").await;
    assert_eq!(a.name, "first", "names are trimmed");
    assert!(!a.public);
    assert_timestamp(&a.created_at);
    assert!(
        protocol::validate::parse_id(&a.id).is_some(),
        "ids are UUIDs"
    );
    let b = api.create_room(&key, "second").await;
    let c = api.create_room(&key, "third").await;

    let list = api.call(Method::GET, "/api/rooms", Some(&key), None).await;
    assert_eq!(list.status, 200);
    let rooms: Vec<protocol::wire::Room> = serde_json::from_str(&list.body).unwrap();
    assert_eq!(rooms, vec![a.clone(), b, c]);

    let one = api
        .call(
            Method::GET,
            &format!("/api/rooms/{}", a.id),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), serde_json::to_value(&a).unwrap());
    assert_eq!(
        one.json().as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["created_at", "id", "loop_guard", "name", "public"]
    );
}

#[tokio::test]
async fn bad_room_names_are_refused_and_create_nothing() {
    let api = api();
    let key = api.new_key().await;
    let long = "x".repeat(101);
    for body in [
        json!({ "name": "" }),
        json!({ "name": "   " }),
        json!({ "name": long }),
        json!({ "name": 7 }),
        json!({ "title": "x" }),
        json!(["name"]),
    ] {
        let reply = api
            .call(Method::POST, "/api/rooms", Some(&key), Some(body.clone()))
            .await;
        reply.assert_error(400);
        assert_eq!(reply.json()["code"], "bad_request", "{body}");
    }
    for raw in [&b"{not json"[..], b"{\"name\":\"\xff\xfe\"}", b""] {
        let reply = meet_ai_e2e::Api::send_req(
            api.request(Method::POST, "/api/rooms", Some(&key))
                .body(raw.to_vec()),
        )
        .await;
        reply.assert_error(400);
    }
    let list = api.call(Method::GET, "/api/rooms", Some(&key), None).await;
    assert_eq!(list.json(), json!([]), "nothing was created");
    // 100 characters (not bytes) is the limit.
    let exact = "é".repeat(100);
    assert_eq!(api.create_room(&key, &exact).await.name, exact);
}

#[tokio::test]
async fn unknown_and_malformed_room_ids_are_404() {
    let api = api();
    let key = api.new_key().await;
    for id in [UNKNOWN_ID, "not-a-uuid", "00000000000040008000000000000000"] {
        let reply = api
            .call(Method::GET, &format!("/api/rooms/{id}"), Some(&key), None)
            .await;
        reply.assert_error(404);
        assert_eq!(reply.json()["code"], "not_found");
    }
}

#[tokio::test]
async fn an_owner_makes_a_room_public_and_private_again() {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    api.send(&owner, &room.id, "ada", "hello world").await;
    let room_path = format!("/api/rooms/{}", room.id);
    let history_path = format!("/api/rooms/{}/messages", room.id);

    // Private: anonymous readers are asked for a key, other keys see nothing.
    let stranger = api.new_key().await;
    api.call(Method::GET, &history_path, None, None)
        .await
        .assert_error(401);
    api.call(Method::GET, &room_path, Some(&stranger), None)
        .await
        .assert_error(404);

    // Only the owner can change it, and only with a boolean.
    for body in [
        json!({ "public": "yes" }),
        json!({}),
        json!({ "public": 1 }),
    ] {
        api.call(Method::PATCH, &room_path, Some(&owner), Some(body))
            .await
            .assert_error(400);
    }
    api.call(
        Method::PATCH,
        &room_path,
        Some(&stranger),
        Some(json!({ "public": true })),
    )
    .await
    .assert_error(404);
    api.call(
        Method::PATCH,
        &room_path,
        None,
        Some(json!({ "public": true })),
    )
    .await
    .assert_error(401);

    let made = api
        .call(
            Method::PATCH,
            &room_path,
            Some(&owner),
            Some(json!({ "public": true })),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(made.json()["public"], true);

    // Public: readable without a key and with any valid key; never writable.
    let anon = api.call(Method::GET, &history_path, None, None).await;
    assert_eq!(anon.status, 200);
    assert_eq!(anon.json()[0]["content"], "hello world");
    assert_eq!(
        api.call(Method::GET, &room_path, Some(&stranger), None)
            .await
            .status,
        200
    );
    let write = json!({ "sender": "mallory", "content": "hi" });
    api.call(
        Method::POST,
        &history_path,
        Some(&stranger),
        Some(write.clone()),
    )
    .await
    .assert_error(404);
    api.call(Method::POST, &history_path, None, Some(write))
        .await
        .assert_error(401);
    // A public room is not listed for other keys.
    let listed = api
        .call(Method::GET, "/api/rooms", Some(&stranger), None)
        .await;
    assert_eq!(listed.json(), json!([]));
    // A bad key is still a 401, public room or not.
    api.call(
        Method::GET,
        &history_path,
        Some("mai_AAAAAAAAAAAAAAAAAAAAAAAA"),
        None,
    )
    .await
    .assert_error(401);

    let back = api
        .call(
            Method::PATCH,
            &room_path,
            Some(&owner),
            Some(json!({ "public": false })),
        )
        .await;
    assert_eq!(back.json()["public"], false);
    api.call(Method::GET, &history_path, None, None)
        .await
        .assert_error(401);
    api.call(Method::GET, &history_path, Some(&stranger), None)
        .await
        .assert_error(404);
    assert_eq!(api.history(&owner, &room.id, "").await.len(), 1);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let api = api();
    let nope = api.call(Method::GET, "/api/nope", None, None).await;
    nope.assert_error(404);
    let wrong = api.call(Method::PUT, "/api/rooms", None, None).await;
    wrong.assert_error(405);
    assert_eq!(wrong.header("Allow"), Some("GET, POST"));
    let wrong = api
        .call(
            Method::DELETE,
            &format!("/api/rooms/{UNKNOWN_ID}"),
            None,
            None,
        )
        .await;
    wrong.assert_error(405);
    let featured = api.call(Method::GET, "/api/featured", None, None).await;
    featured.assert_error(404);
    // Methods the worker crate has no name for once read as GET (a QUERY
    // listed the rooms); they are 405 like any other wrong method.
    let key = api.new_key().await;
    for name in ["QUERY", "PROPFIND"] {
        let method = Method::from_bytes(name.as_bytes()).unwrap();
        let wrong = api.call(method, "/api/rooms", Some(&key), None).await;
        wrong.assert_error(405);
        assert_eq!(wrong.header("Allow"), Some("GET, POST"));
    }
}

/// The OpenAPI document is served, unchanged, at /api/openapi.json (and by
/// the asset server at /openapi.json), without a key.
#[tokio::test]
async fn the_openapi_document_is_served() {
    let api = api();
    let doc = include_str!("../../../docs/openapi.json");
    for path in ["/api/openapi.json", "/openapi.json"] {
        let got = api.call(Method::GET, path, None, None).await;
        assert_eq!(got.status, 200, "{path}: {}", got.body);
        assert_eq!(got.body, doc, "{path}");
        assert!(
            got.header("Content-Type")
                .unwrap_or("")
                .starts_with("application/json"),
            "{path}"
        );
    }
    api.call(Method::POST, "/api/openapi.json", None, None)
        .await
        .assert_error(405);
}
