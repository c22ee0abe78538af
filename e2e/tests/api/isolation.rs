//! Tenant isolation: another key's room answers exactly as an unknown room
//! does, on every route, and nothing is written through it.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{api, UNKNOWN_ID};

#[tokio::test]
async fn another_tenants_room_is_indistinguishable_from_an_unknown_one() {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let first = api.send(&owner, &room.id, "owner", "private").await;
    let intruder = api.new_key().await;

    let routes = |id: &str| {
        vec![
            (Method::GET, format!("/api/rooms/{id}"), None),
            (
                Method::PATCH,
                format!("/api/rooms/{id}"),
                Some(json!({ "public": true })),
            ),
            (Method::GET, format!("/api/rooms/{id}/messages"), None),
            (
                Method::GET,
                format!("/api/rooms/{id}/messages?after={}", first.id),
                None,
            ),
            (
                Method::POST,
                format!("/api/rooms/{id}/messages"),
                Some(json!({ "sender": "intruder", "content": "hi" })),
            ),
            (Method::GET, format!("/api/rooms/{id}/events"), None),
        ]
    };
    for ((method, path, body), (_, unknown_path, _)) in
        routes(&room.id).into_iter().zip(routes(UNKNOWN_ID))
    {
        let foreign = api
            .call(method.clone(), &path, Some(&intruder), body.clone())
            .await;
        let unknown = api
            .call(method.clone(), &unknown_path, Some(&intruder), body.clone())
            .await;
        let malformed = api
            .call(
                method.clone(),
                &unknown_path.replace(UNKNOWN_ID, "x"),
                Some(&intruder),
                body,
            )
            .await;
        foreign.assert_error(404);
        assert_eq!(
            (foreign.status, foreign.body.clone()),
            (unknown.status, unknown.body.clone()),
            "{method} {path}: foreign and unknown rooms must look the same"
        );
        assert_eq!(
            (malformed.status, malformed.body),
            (unknown.status, unknown.body),
            "{method} {path}: malformed and unknown rooms must look the same"
        );
    }
    // Nothing leaked in, nothing changed.
    let history = api.history(&owner, &room.id, "").await;
    assert_eq!(history, vec![first]);
    let listed = api
        .call(Method::GET, "/api/rooms", Some(&intruder), None)
        .await;
    assert_eq!(listed.json(), json!([]));
    let room_now = api
        .call(
            Method::GET,
            &format!("/api/rooms/{}", room.id),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(room_now.json()["public"], false);
}
