//! A WebSocket client for the paid variant's `/api/rooms/:id/ws`. The URL
//! is the `meet_ai` library's; the query and the key are the test's own, so
//! a test can send what the library never would (`?token=`, a bad cursor,
//! no key), and so the handshake is built here.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::wire::Message;
use protocol::ws::ServerFrame;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The close frame's code, once the server closed the socket.
    pub closed: Option<u16>,
}

/// An upgrade the server refused: its status and body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

impl WsClient {
    /// Opens `/api/rooms/{room}/ws{query}`; the key goes in the Authorization
    /// header when given.
    pub async fn connect(
        base: &str,
        room: &str,
        query: &str,
        key: Option<&str>,
    ) -> Result<WsClient, Refused> {
        let url = meet_ai::client::ws_url_at(base, room, None).expect("an http:// base") + query;
        let mut request = url.into_client_request().expect("ws request");
        if let Some(key) = key {
            request.headers_mut().insert(
                "Authorization",
                format!("Bearer {key}").parse().expect("header value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(WsClient {
                socket,
                closed: None,
            }),
            Err(tungstenite::Error::Http(resp)) => Err(Refused {
                status: resp.status().as_u16(),
                body: resp
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            }),
            Err(e) => panic!("websocket connect failed: {e}"),
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Frame::text(text))
            .await
            .expect("send a frame");
    }

    /// The next server frame, or `None` on timeout or close.
    pub async fn next_frame(&mut self, within: Duration) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?;
            match next {
                Some(Ok(Frame::Text(text))) => {
                    return Some(
                        serde_json::from_str(text.as_str())
                            .unwrap_or_else(|e| panic!("not a server frame ({e}): {text}")),
                    )
                }
                Some(Ok(Frame::Close(frame))) => {
                    self.closed = Some(frame.map_or(1005, |f| u16::from(f.code)));
                    return None;
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    self.closed.get_or_insert(1006);
                    return None;
                }
            }
        }
    }

    /// The next message frame's message (other frames are a test failure).
    pub async fn next_message(&mut self, within: Duration) -> Option<Message> {
        match self.next_frame(within).await? {
            ServerFrame::Message(message) => Some(message),
            other => panic!("expected a message frame, got {other:?}"),
        }
    }

    /// Exactly `n` messages, then nothing more for a moment.
    pub async fn exactly(&mut self, n: usize) -> Vec<Message> {
        let mut got = Vec::new();
        while got.len() < n {
            match self.next_message(Duration::from_secs(15)).await {
                Some(m) => got.push(m),
                None => panic!("only {} of {n} messages arrived", got.len()),
            }
        }
        if let Some(extra) = self.next_frame(Duration::from_millis(700)).await {
            panic!("unexpected extra frame: {extra:?}");
        }
        got
    }
}
