//! `GET /api/rooms/:id/messages?exclude=<sender>` (the seed CLI's
//! `poll --exclude`): that sender's messages are counted out of the page, and
//! paging with `after` / `before` still reaches every other message once.

use protocol::validate::START;
use protocol::wire::Message;

use crate::helpers::{api, ids};

/// A room whose history interleaves `me` (in any case) with others, with runs
/// of `me` longer than the pages below, and ends with `me`.
async fn mixed_room() -> (String, String, Vec<Message>) {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let senders = [
        "me", "ada", "me", "ME", "me", "Me", "bob", "me", "cy", "dee", "me", "me", "me", "me",
        "eve", "me", "me",
    ];
    let mut sent = Vec::new();
    for (i, sender) in senders.iter().enumerate() {
        sent.push(api.send(&key, &room.id, sender, &format!("m{i}")).await);
    }
    (key, room.id, sent)
}

fn others(sent: &[Message]) -> Vec<String> {
    let kept: Vec<Message> = sent
        .iter()
        .filter(|m| !m.sender.eq_ignore_ascii_case("me"))
        .cloned()
        .collect();
    ids(&kept)
}

#[tokio::test]
async fn excluded_senders_are_counted_out_and_paging_reaches_every_other_message() {
    let api = api();
    let (key, room, sent) = mixed_room().await;
    let want = others(&sent);
    assert_eq!(want.len(), 5, "ada, bob, cy, dee, eve");

    // Forward with `after`, two at a time: every page is full until the end
    // (the runs of `me` do not shorten it), no id is repeated or skipped, and
    // the page after the last other message is empty (no loop on the tail).
    for limit in [2, 150] {
        let mut paged: Vec<String> = Vec::new();
        let mut cursor = START.to_owned();
        loop {
            let q = format!("?exclude=me&limit={limit}&after={cursor}");
            let page = api.history(&key, &room, &q).await;
            if page.is_empty() {
                break;
            }
            assert!(page.len() == limit || paged.len() + page.len() == want.len());
            cursor = page.last().unwrap().id.clone();
            paged.extend(ids(&page));
        }
        assert_eq!(paged, want, "limit {limit}");
    }

    // The latest page without a cursor: the newest two others, oldest first.
    let latest = api.history(&key, &room, "?exclude=me&limit=2").await;
    assert_eq!(ids(&latest), want[want.len() - 2..]);

    // Backward with `before` from the newest message (a `me`).
    let mut back: Vec<String> = Vec::new();
    let mut cursor = sent.last().unwrap().id.clone();
    loop {
        let q = format!("?exclude=me&limit=2&before={cursor}");
        let page = api.history(&key, &room, &q).await;
        if page.is_empty() {
            break;
        }
        cursor = page[0].id.clone();
        back.splice(0..0, ids(&page));
    }
    assert_eq!(back, want);

    // The name is trimmed like a sender; without `exclude` nothing is left out.
    let trimmed = api
        .history(&key, &room, "?exclude=%20me%20&limit=500")
        .await;
    assert_eq!(ids(&trimmed), want);
    assert_eq!(
        ids(&api.history(&key, &room, "?limit=500").await),
        ids(&sent)
    );
}

#[tokio::test]
async fn a_bad_exclude_is_a_400_naming_it() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let long = "x".repeat(65);
    for bad in ["", "%20%20", "a%0Ab", long.as_str()] {
        let reply = api
            .call(
                reqwest::Method::GET,
                &format!("/api/rooms/{}/messages?exclude={bad}", room.id),
                Some(&key),
                None,
            )
            .await;
        reply.assert_error(400);
        assert!(reply.body.contains("exclude"), "{bad:?}: {}", reply.body);
    }
}

/// Without a credential, `exclude` is refused: an anonymous reader of a
/// public room is held to a per-network rate, and an `exclude` page could
/// walk the whole room (a row read each). The same reader gets the page
/// without it, and a key with it.
#[tokio::test]
async fn exclude_needs_a_credential_even_on_a_public_room() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let me = api.send(&key, &room.id, "me", "mine").await;
    let other = api.send(&key, &room.id, "ada", "hers").await;
    assert_eq!(api.set_public(&key, &room.id, true).await.status, 200);
    let anonymous = |query: &'static str| {
        let (api, room) = (api.clone(), room.id.clone());
        async move {
            api.call(
                reqwest::Method::GET,
                &format!("/api/rooms/{room}/messages{query}"),
                None,
                None,
            )
            .await
        }
    };
    let refused = anonymous("?exclude=me").await;
    refused.assert_error(400);
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("exclude needs a key"),
        "{}",
        refused.body
    );
    let open = anonymous("").await;
    assert_eq!(open.status, 200, "{}", open.body);
    let page: Vec<Message> = serde_json::from_str(&open.body).unwrap();
    assert_eq!(ids(&page), ids(&[me, other.clone()]));
    let keyed = api.history(&key, &room.id, "?exclude=me").await;
    assert_eq!(ids(&keyed), ids(&[other]));
}
