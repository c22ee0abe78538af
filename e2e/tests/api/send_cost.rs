//! What one send costs the free plan, read from the `Server-Timing` the
//! Worker answers with (`d1-rows-written`): at most 3 D1 rows written per
//! message, with or without an Idempotency-Key, mentions included (they are
//! a column of the message's own row). docs/free-tier.md quotes these.

use reqwest::Method;
use serde_json::json;

use crate::helpers::api;
use crate::messages::d1_timing;
use meet_ai_e2e::api::Reply;
use meet_ai_e2e::Api;

fn rows_written(reply: &Reply) -> u64 {
    d1_timing(reply.header("Server-Timing").unwrap_or_default()).rows_written
}

#[tokio::test]
async fn a_send_writes_at_most_three_rows() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let path = format!("/api/rooms/{}/messages", room.id);
    let send = |body: serde_json::Value, idem: Option<&str>| {
        let mut req = api.request(Method::POST, &path, Some(&key)).json(&body);
        if let Some(idem) = idem {
            req = req.header("Idempotency-Key", idem.to_owned());
        }
        Api::send_req(req)
    };

    // The first send in a room, then one more: the room's first row costs the same.
    for content in ["first", "second"] {
        let plain = send(json!({ "sender": "ada", "content": content }), None).await;
        assert_eq!(plain.status, 201, "{}", plain.body);
        assert!(
            rows_written(&plain) <= 3,
            "plain send: {:?}",
            plain.header("Server-Timing")
        );
    }

    // An Idempotency-Key costs no extra row: it decides the message's id.
    let keyed = send(
        json!({ "sender": "ada", "content": "keyed" }),
        Some("cost-1"),
    )
    .await;
    assert_eq!(keyed.status, 201, "{}", keyed.body);
    assert!(
        rows_written(&keyed) <= 3,
        "{:?}",
        keyed.header("Server-Timing")
    );
    // Its exact retry stores nothing.
    let retry = send(
        json!({ "sender": "ada", "content": "keyed" }),
        Some("cost-1"),
    )
    .await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(
        rows_written(&retry),
        0,
        "{:?}",
        retry.header("Server-Timing")
    );

    // A mention adds nothing: the handles are a column of the row.
    let token = api.add_member(&key, &room.id, "bob", "agent").await;
    let mention = send(
        json!({ "sender": "ada", "content": "@bob and @all, look" }),
        Some("cost-2"),
    )
    .await;
    assert_eq!(mention.status, 201, "{}", mention.body);
    assert!(
        rows_written(&mention) <= 3,
        "{:?}",
        mention.header("Server-Timing")
    );

    // A member's send costs the same (its key's counters are the owner's row).
    let member = Api::send_req(
        api.request(Method::POST, &path, Some(&token))
            .header("Idempotency-Key", "cost-3")
            .json(&json!({ "content": "from bob" })),
    )
    .await;
    assert_eq!(member.status, 201, "{}", member.body);
    assert!(
        rows_written(&member) <= 3,
        "{:?}",
        member.header("Server-Timing")
    );

    // Reading writes nothing.
    let page = api.call(Method::GET, &path, Some(&key), None).await;
    assert_eq!(rows_written(&page), 0);
    let history = api.history(&key, &room.id, "").await;
    let contents: Vec<&str> = history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        contents,
        [
            "first",
            "second",
            "keyed",
            "@bob and @all, look",
            "from bob"
        ]
    );
}
