//! Issue 11 item 11: a history page and a stream batch stop at
//! `protocol::page_bytes::PAGE_BYTES` as well as at their count, and clients
//! page on from the last message they got.

use std::time::Duration;

use protocol::page_bytes::{row_bytes, take, PAGE_BYTES};
use protocol::validate::START;
use protocol::wire::Message;
use reqwest::Method;

use crate::helpers::{api, contents};
use meet_ai_e2e::SseStream;

/// 20 messages of 30 KiB: 600 KiB, more than two pages' worth of bytes.
const N: usize = 20;
const SIZE: usize = 30 * 1024;

fn big(i: usize) -> String {
    format!("{i:02}{}", "x".repeat(SIZE - 2))
}

/// Which of the messages these are (their first two characters), so a
/// failure prints numbers, not megabytes.
fn labels(messages: &[Message]) -> Vec<String> {
    contents(messages)
        .iter()
        .map(|c| c[..2].to_owned())
        .collect()
}

fn all_labels(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{i:02}")).collect()
}

#[tokio::test]
async fn large_messages_page_by_bytes_and_nothing_is_lost() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    for i in 0..N {
        api.send(&key, &room.id, "big", &big(i)).await;
    }
    let per_page = take(
        std::iter::repeat_n(row_bytes(SIZE as u64, 0), N),
        PAGE_BYTES,
    );
    assert!(per_page < N, "the cap binds for this test to mean anything");

    // Both ways a page is cut: in SQL (limit over 100) and in the Worker
    // (the default 100, the web UI's 50).
    for limit in ["500", "100", "50"] {
        pages_reach_every_message(&api, &key, &room.id, limit, per_page).await;
    }

    // The stream from the start delivers all of them, in order, in capped
    // batches: each poll goes on from the last message it sent.
    let events = format!("/api/rooms/{}/events", room.id);
    let mut stream = SseStream::open(&api.base, &events, Some(&key), Some(START)).await;
    assert_eq!(stream.status, 200);
    let mut streamed = Vec::new();
    while streamed.len() < N {
        match stream.next_message(Duration::from_secs(30)).await {
            Some(m) => streamed.push(m),
            None => break,
        }
    }
    assert_eq!(labels(&streamed), all_labels(0..N));
    assert!(contents(&streamed)
        .iter()
        .all(|c| c == &big(c[..2].parse().unwrap())));
}

/// Pages the room of `N` big messages at `limit` every way, checking each
/// page holds at most `per_page` and says when the byte cap cut it.
async fn pages_reach_every_message(
    api: &meet_ai_e2e::Api,
    key: &str,
    room: &str,
    limit: &str,
    per_page: usize,
) {
    // The latest page is cut by bytes: the newest `per_page`, oldest first,
    // marked so a client knows a short page is not the start.
    let path = format!("/api/rooms/{}/messages", room);
    let reply = api
        .call(
            Method::GET,
            &format!("{path}?limit={limit}"),
            Some(key),
            None,
        )
        .await;
    assert_eq!(
        reply.header("Page-Truncated"),
        Some("bytes"),
        "{:?}",
        reply.header("Server-Timing")
    );
    let latest: Vec<Message> = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(labels(&latest), all_labels(N - per_page..N));
    assert!(
        contents(&latest).iter().all(|c| c.len() == SIZE),
        "whole messages"
    );

    // A page the count ends is not marked.
    let small = api
        .call(Method::GET, &format!("{path}?limit=2"), Some(key), None)
        .await;
    assert_eq!(small.status, 200);
    assert_eq!(small.header("Page-Truncated"), None);

    // Paging back with `before` reaches the start, each page under the cap.
    let mut all: Vec<Message> = latest;
    loop {
        let first = all[0].id.clone();
        let page = api
            .history(key, room, &format!("?limit={limit}&before={first}"))
            .await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= per_page, "a page holds {}", page.len());
        all.splice(0..0, page);
    }
    assert_eq!(labels(&all), all_labels(0..N));

    // And forward with `after` from the start.
    let mut forward: Vec<Message> = Vec::new();
    loop {
        let after = forward.last().map_or(START.to_owned(), |m| m.id.clone());
        let page = api
            .history(key, room, &format!("?limit={limit}&after={after}"))
            .await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= per_page);
        forward.extend(page);
    }
    assert_eq!(labels(&forward), all_labels(0..N));
}
