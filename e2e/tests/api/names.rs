//! Names (issue 11, item 8): sender names, room names and handles refuse
//! invisible and text-direction characters with a clear 400, and store nothing.

use reqwest::Method;
use serde_json::json;

use crate::helpers::api;

const BAD: [&str; 6] = [
    "cla\u{200B}ude",
    "\u{202E}edualc",
    "ada\u{2066}",
    "\u{FEFF}bob",
    "eve\u{2028}",
    "zo\u{2060}e",
];

#[tokio::test]
async fn invisible_and_direction_characters_in_names_are_400() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let r = &room.id;
    for name in BAD {
        for (path, body, field) in [
            (
                format!("/api/rooms/{r}/messages"),
                json!({ "sender": name, "content": "hi" }),
                "sender",
            ),
            ("/api/rooms".to_owned(), json!({ "name": name }), "name"),
            (
                format!("/api/rooms/{r}/members"),
                json!({ "handle": name, "role": "agent" }),
                "handle",
            ),
        ] {
            let reply = api.call(Method::POST, &path, Some(&key), Some(body)).await;
            reply.assert_error(400);
            let error = reply.json()["error"].as_str().unwrap_or("").to_owned();
            assert!(
                error.contains(field) && error.contains("invisible"),
                "{path} {name:?}: {error}"
            );
        }
    }
    assert!(api.history(&key, r, "").await.is_empty());
    let rooms = api.call(Method::GET, "/api/rooms", Some(&key), None).await;
    assert_eq!(rooms.json().as_array().unwrap().len(), 1);
    let members = api
        .call(
            Method::GET,
            &format!("/api/rooms/{r}/members"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(members.json().as_array().map(Vec::len), Some(0));
    // A plain name with a non-ASCII letter still works.
    api.send(&key, r, "zoë", "fine").await;
}
