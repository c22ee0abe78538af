//! The WebSocket side (paid variant) beyond listening: asking a room's
//! object for its push counters. Listening itself is the `meet_ai`
//! library's socket (see `listener.rs`), authenticated in a header.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use meet_ai::config::Config;
use protocol::ws::{ClientFrame, PushStats, ServerFrame};
use reqwest::Url;
use tokio_tungstenite::tungstenite::Message as Frame;

/// Asks the room's object for its push counters (`{"type":"stats"}`) over a
/// socket of its own: what it notified, pushed without reading D1, and the D1
/// queries and rows it spent since it woke. The socket's own handshake adds
/// one D1 batch to the counts. None if the server does not answer with them.
pub async fn object_stats(base: &Url, room: &str, key: &str) -> Option<PushStats> {
    let config = Config {
        url: base.as_str().trim_end_matches('/').to_owned(),
        key: Some(key.to_owned()),
    };
    let client = meet_ai::client::Client::new(&config).ok()?;
    let (mut socket, _) = meet_ai::ws::open(&client, room, None).await.ok()?;
    let ask = serde_json::to_string(&ClientFrame::Stats).ok()?;
    socket.send(Frame::text(ask)).await.ok()?;
    let read = async {
        while let Some(Ok(frame)) = socket.next().await {
            if let Frame::Text(text) = frame {
                if let Ok(ServerFrame::Stats(stats)) = serde_json::from_str(text.as_str()) {
                    return Some(stats);
                }
            }
        }
        None
    };
    let stats = tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()
        .flatten();
    let _ = socket.close(None).await;
    stats
}
