//! Issue 11 item 11: a history page and a stream batch stop at
//! `protocol::page_bytes::PAGE_BYTES` as well as at their count, and clients
//! page on from the last message they got.

use std::time::Duration;

use protocol::page_bytes::{row_bytes, take, PAGE_BYTES};
use protocol::validate::START;
use protocol::wire::Message;

use crate::helpers::{api, contents};
use meet_ai_e2e::SseStream;

/// 20 messages of 30 KiB: 600 KiB, more than two pages' worth of bytes.
const N: usize = 20;
const SIZE: usize = 30 * 1024;

fn big(i: usize) -> String {
    format!("{i:02}{}", "x".repeat(SIZE - 2))
}

#[tokio::test]
async fn large_messages_page_by_bytes_and_nothing_is_lost() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    for i in 0..N {
        api.send(&key, &room.id, "big", &big(i)).await;
    }
    let per_page = take(std::iter::repeat_n(row_bytes(SIZE as u64, 0), N), PAGE_BYTES);
    assert!(per_page < N, "the cap binds for this test to mean anything");

    // The latest page is cut by bytes: the newest `per_page`, oldest first.
    let latest = api.history(&key, &room.id, "?limit=500").await;
    let want: Vec<String> = (N - per_page..N).map(big).collect();
    assert_eq!(contents(&latest), want);

    // Paging back with `before` reaches the start, each page under the cap.
    let mut all: Vec<Message> = latest;
    loop {
        let first = all[0].id.clone();
        let page = api
            .history(&key, &room.id, &format!("?limit=500&before={first}"))
            .await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= per_page, "a page holds {}", page.len());
        all.splice(0..0, page);
    }
    assert_eq!(contents(&all), (0..N).map(big).collect::<Vec<_>>());

    // And forward with `after` from the start.
    let mut forward: Vec<Message> = Vec::new();
    loop {
        let after = forward.last().map_or(START.to_owned(), |m| m.id.clone());
        let page = api
            .history(&key, &room.id, &format!("?limit=500&after={after}"))
            .await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= per_page);
        forward.extend(page);
    }
    assert_eq!(contents(&forward), (0..N).map(big).collect::<Vec<_>>());

    // The stream from the start delivers all of them, in order, in capped
    // batches: each poll goes on from the last message it sent.
    let path = format!("/api/rooms/{}/events", room.id);
    let mut stream = SseStream::open(&api.base, &path, Some(&key), Some(START)).await;
    assert_eq!(stream.status, 200);
    let mut streamed = Vec::new();
    while streamed.len() < N {
        match stream.next_message(Duration::from_secs(30)).await {
            Some(m) => streamed.push(m),
            None => break,
        }
    }
    assert_eq!(contents(&streamed), (0..N).map(big).collect::<Vec<_>>());
}
