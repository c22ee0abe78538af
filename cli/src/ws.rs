//! `listen` over the paid variant's WebSocket (`GET /api/rooms/:id/ws`).
//!
//! Every socket is opened with `?after=`: the last message received, or on
//! the very first connection the room's newest message (`START` for an empty
//! room), read from history just before. The server replays what follows it,
//! then pushes live, so a reconnect after a drop loses nothing, even one
//! before the first message. (Unlike the SSE stream, the socket does not
//! announce where it starts, hence the history read.)
//!
//! The server never ends a socket by itself (except with 1008 when access is
//! lost), so silence is ambiguous: the client pings every [`PING_EVERY`] and
//! takes a ping left unanswered for [`PONG_WITHIN`] as a dead connection.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::validate::START;
use protocol::ws::{ClientFrame, PushStats, ServerFrame as ProtocolFrame, PING};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as Frame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::{error_chain, error_from_parts, root_cause, server_timing, Client, RawMessage};
use crate::error::{ApiErrorBody, CliError, Result};
use crate::transport::{Connection, Ended, Incoming, Transport};
use protocol::timing::D1Timing;

/// How often the client pings.
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered (by its pong or any other frame).
pub const PONG_WITHIN: Duration = Duration::from_secs(15);
/// How long the opening handshake (and the replay the server sends with
/// it) may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `GET /api/rooms/:id/ws?after=...`.
pub struct Ws<'a> {
    pub client: &'a Client,
}

pub struct WsConnection {
    socket: Socket,
    start: String,
    keepalive: KeepAlive,
    /// What opening the socket cost in D1 (its upgrade's `Server-Timing`).
    timing: Option<D1Timing>,
}

impl Transport for Ws<'_> {
    type Conn = WsConnection;

    fn name(&self) -> &'static str {
        "ws"
    }

    async fn connect(&self, room: &str, cursor: Option<&str>) -> Result<WsConnection> {
        let start = match cursor {
            Some(cursor) => cursor.to_owned(),
            // "From now": pin now as the newest message, so that a reconnect
            // before the first message arrives still resumes from here.
            None => self
                .client
                .history(room, None, Some(1))
                .await?
                .pop()
                .map_or_else(|| START.to_owned(), |m| m.message.id),
        };
        WsConnection::open(self.client, room, Some(&start)).await
    }
}

/// Opens a room's socket, delivering what follows message `after` (from
/// now without it), with the key in the Authorization header. A refusal
/// comes back as the server's own error; the D1 cost of the upgrade (its
/// `Server-Timing`) comes with the socket.
pub async fn open(
    client: &Client,
    room: &str,
    after: Option<&str>,
) -> Result<(Socket, Option<D1Timing>)> {
    let request = client.ws_request_at(room, after)?;
    let base = &client.base;
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tokio_tungstenite::connect_async(request)).await {
        Err(_) => Err(CliError::unreachable(format!(
            "the server at {base} did not open the WebSocket in time"
        ))),
        Ok(Err(e)) => {
            let mut refusal = handshake_error(base, e)?;
            // tungstenite keeps only the body bytes that came with the
            // head. The route refuses (401, 404, bad cursor) before it
            // looks for an upgrade, so a plain GET gets the whole sentence.
            if !is_error_body(&refusal.body) {
                if let Some(body) = client.ws_refusal(room, after, refusal.status).await {
                    refusal.body = body;
                }
            }
            Err(error_from_parts(
                refusal.status,
                refusal.retry_after,
                &refusal.body,
            ))
        }
        Ok(Ok((socket, response))) => Ok((socket, server_timing(response.headers()))),
    }
}

impl WsConnection {
    /// A connection over a socket [`open`]ed after `after` (from now
    /// without it: no history read, unlike [`Ws`], for a caller that tracks
    /// its own resume point).
    pub async fn open(client: &Client, room: &str, after: Option<&str>) -> Result<WsConnection> {
        let (socket, timing) = open(client, room, after).await?;
        Ok(WsConnection {
            socket,
            start: after.unwrap_or_default().to_owned(),
            keepalive: KeepAlive::new(Instant::now()),
            timing,
        })
    }
}

/// Asks the room's object for its push counters (`{"type":"stats"}`) over a
/// socket of its own: what it notified, pushed without reading D1, and the D1
/// queries and rows it spent since it woke. The socket's own handshake adds
/// one D1 batch to the counts. None if the server does not answer with them.
pub async fn push_stats(client: &Client, room: &str) -> Option<PushStats> {
    let (mut socket, _) = open(client, room, None).await.ok()?;
    let ask = serde_json::to_string(&ClientFrame::Stats).ok()?;
    socket.send(Frame::text(ask)).await.ok()?;
    let read = async {
        while let Some(Ok(frame)) = socket.next().await {
            if let Frame::Text(text) = frame {
                if let Ok(ProtocolFrame::Stats(stats)) = serde_json::from_str(text.as_str()) {
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

/// A handshake the server refused: its status, `Retry-After`, and the body
/// bytes that arrived with the head.
struct Refusal {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

/// A refusal, or a handshake that failed otherwise as a CLI error.
fn handshake_error(base: &str, e: WsError) -> std::result::Result<Refusal, CliError> {
    Err(match e {
        WsError::Http(resp) => {
            return Ok(Refusal {
                status: resp.status().as_u16(),
                retry_after: resp
                    .headers()
                    .get("Retry-After")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
                body: resp
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            })
        }
        WsError::Url(e) => {
            CliError::other(format!("cannot build a WebSocket request for {base}: {e}"))
        }
        WsError::Io(e) => CliError::unreachable(format!(
            "cannot reach the server at {base}: {}",
            root_cause(&e)
        )),
        WsError::Tls(e) => CliError::unreachable(format!(
            "cannot reach the server at {base}: {}",
            error_chain(&e)
        )),
        other => CliError::unreachable(format!(
            "the WebSocket handshake with {base} failed: {}",
            error_chain(&other)
        )),
    })
}

/// Whether a refusal's body is the server's whole JSON error.
fn is_error_body(body: &str) -> bool {
    serde_json::from_str::<ApiErrorBody>(body).is_ok()
}

impl Connection for WsConnection {
    fn start(&self) -> Option<&str> {
        Some(&self.start)
    }

    fn timing(&self) -> Option<D1Timing> {
        self.timing
    }

    async fn next(&mut self) -> std::result::Result<Incoming, Ended> {
        loop {
            let until = match self.keepalive.due(Instant::now()) {
                Due::Dead => {
                    return Err(Ended::Dropped(format!(
                        "no answer to a ping within {} s",
                        PONG_WITHIN.as_secs()
                    )))
                }
                Due::Ping => {
                    let sent =
                        tokio::time::timeout(PONG_WITHIN, self.socket.send(Frame::text(PING)))
                            .await;
                    match sent {
                        Ok(Ok(())) => self.keepalive.pinged(Instant::now()),
                        Ok(Err(e)) => return Err(Ended::Dropped(error_chain(&e))),
                        Err(_) => return Err(Ended::Dropped("a ping could not be sent".into())),
                    }
                    continue;
                }
                Due::Wait(until) => until,
            };
            let frame = tokio::select! {
                frame = self.socket.next() => frame,
                _ = tokio::time::sleep_until(until) => continue,
            };
            self.keepalive.heard();
            match frame {
                Some(Ok(Frame::Text(text))) => {
                    if let Some(incoming) = read_frame(text.as_str()) {
                        return Ok(incoming);
                    }
                }
                Some(Ok(Frame::Binary(_))) => {
                    return Ok(Incoming::Warning("a binary frame was skipped".into()))
                }
                Some(Ok(Frame::Close(close))) => return Err(closed(close.as_ref())),
                // Control frames (tungstenite answers pings itself).
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(Ended::Dropped(error_chain(&e))),
                None => return Err(Ended::Dropped("the server closed the connection".into())),
            }
        }
    }
}

/// A server frame as the CLI reads it: only its tag and error text. A
/// message frame is the message object itself, kept as the exact JSON the
/// server sent (minus the tag), which is what `listen` prints.
#[derive(Deserialize)]
struct ServerFrame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    error: Option<String>,
}

/// A text frame: a message, a warning (error frames, anything unreadable),
/// or `None` for what needs no action (pongs, frame types added later).
pub fn read_frame(text: &str) -> Option<Incoming> {
    let frame: ServerFrame = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(e) => return Some(Incoming::Warning(format!("unreadable frame ({e})"))),
    };
    match frame.kind.as_str() {
        "message" => Some(
            match protocol::ws::message_json(text).map(|raw| RawMessage::parse(&raw)) {
                Some(Ok(m)) => Incoming::Message(Box::new(m)),
                Some(Err(e)) => Incoming::Warning(format!("unreadable message frame ({e})")),
                None => Incoming::Warning("a message frame without a message".into()),
            },
        ),
        "error" => Some(Incoming::Warning(format!(
            "the server reported: {}",
            frame.error.as_deref().unwrap_or("an error")
        ))),
        _ => None,
    }
}

/// How a close frame ends the connection. The server closes on purpose
/// with 1008 when access is lost (reconnecting then gets the 401 or 404 that
/// ends `listen`), 1000/1001 when it goes away; anything else is a failure.
pub fn closed(close: Option<&CloseFrame>) -> Ended {
    let Some(close) = close else {
        return Ended::Dropped("the server closed the socket without a code".into());
    };
    let code = u16::from(close.code);
    let reason = close.reason.as_str().trim();
    let detail = if reason.is_empty() {
        format!("closed by the server ({code})")
    } else {
        format!("closed by the server ({code} {reason})")
    };
    match code {
        1000 | 1001 | 1008 => Ended::Clean(detail),
        _ => Ended::Dropped(detail),
    }
}

/// The ping schedule, as a pure function of time: a ping every
/// [`PING_EVERY`]; the connection is dead when one goes [`PONG_WITHIN`]
/// without any frame arriving.
#[derive(Debug, Clone, Copy)]
pub struct KeepAlive {
    next_ping: Instant,
    /// When the outstanding ping expires; none while nothing is awaited.
    awaiting: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Ping,
    Dead,
    /// Nothing to do before this.
    Wait(Instant),
}

impl KeepAlive {
    pub fn new(now: Instant) -> KeepAlive {
        KeepAlive {
            next_ping: now + PING_EVERY,
            awaiting: None,
        }
    }

    pub fn due(&self, now: Instant) -> Due {
        if self.awaiting.is_some_and(|expiry| now >= expiry) {
            return Due::Dead;
        }
        if now >= self.next_ping {
            return Due::Ping;
        }
        Due::Wait(match self.awaiting {
            Some(expiry) => expiry.min(self.next_ping),
            None => self.next_ping,
        })
    }

    pub fn pinged(&mut self, now: Instant) {
        self.next_ping = now + PING_EVERY;
        self.awaiting.get_or_insert(now + PONG_WITHIN);
    }

    /// Any frame proves the connection alive.
    pub fn heard(&mut self) {
        self.awaiting = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    /// A server that refuses every request with 404: the first one (the
    /// handshake) with its body in a later packet than its head, as can
    /// happen on any network. Returns its base URL and the request heads.
    async fn refusing_server() -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let body = r#"{"error":"the cursor message is not in this room","code":"not_found"}"#;
        let task = tokio::spawn(async move {
            let mut heads = Vec::new();
            for split in [true, false] {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.ends_with(b"\r\n\r\n") {
                    let n = sock.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "the client hung up");
                    buf.extend_from_slice(&chunk[..n]);
                }
                heads.push(String::from_utf8_lossy(&buf).into_owned());
                let head = format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                sock.write_all(head.as_bytes()).await.unwrap();
                if split {
                    sock.flush().await.unwrap();
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.shutdown().await;
            }
            heads
        });
        (base, task)
    }

    #[tokio::test]
    async fn a_refused_handshake_reports_the_servers_sentence_and_code() {
        let (base, server) = refusing_server().await;
        let client = Client::new(&Config {
            url: base,
            key: Some("mai_abcdefghijklmnopqrstuvwx".into()),
        })
        .unwrap();
        let err = match (Ws { client: &client }).connect("r1", Some("m1")).await {
            Ok(_) => panic!("connected to a server that refuses"),
            Err(e) => e,
        };
        assert_eq!(err.exit_code(), 4);
        assert_eq!(err.message, "the cursor message is not in this room");
        let heads = server.await.unwrap();
        assert!(heads[0].starts_with("GET /api/rooms/r1/ws?after=m1 HTTP/1.1\r\n"));
        assert!(heads[0].to_ascii_lowercase().contains("upgrade: websocket"));
        // Asked again without the upgrade, with the same key.
        assert!(heads[1].starts_with("GET /api/rooms/r1/ws?after=m1 HTTP/1.1\r\n"));
        assert!(!heads[1].to_ascii_lowercase().contains("upgrade: websocket"));
        assert!(heads[1].contains("Bearer mai_abcdefghijklmnopqrstuvwx"));
    }

    const MSG: &str = r#"{"id":"m1","room_id":"r","sender":"ada","sender_type":"human","color":null,"content":"hi \"there\"","created_at":"t"}"#;

    #[test]
    fn message_frames_yield_the_servers_message_json() {
        let frame = format!(r#"{{"type":"message",{}"#, &MSG[1..]);
        match read_frame(&frame) {
            Some(Incoming::Message(m)) => {
                assert_eq!(m.raw, MSG);
                assert_eq!(m.message.id, "m1");
                assert_eq!(m.message.content, "hi \"there\"");
            }
            other => panic!("{other:?}"),
        }
        // The tag need not come first.
        let frame = format!(r#"{}, "type":"message"}}"#, &MSG[..MSG.len() - 1]);
        assert!(matches!(read_frame(&frame), Some(Incoming::Message(_))));
    }

    #[test]
    fn pongs_and_unknown_frames_are_ignored_and_errors_are_warnings() {
        assert_eq!(read_frame(protocol::ws::PONG), None);
        assert_eq!(read_frame(r#"{"type":"typing","who":"ada"}"#), None);
        assert_eq!(
            read_frame(r#"{"type":"error","error":"content must not be empty"}"#),
            Some(Incoming::Warning(
                "the server reported: content must not be empty".into()
            ))
        );
        for bad in [
            "not json",
            r#"{"no":"type"}"#,
            r#"{"type":"message"}"#,
            r#"{"type":"message","id":"m1"}"#,
        ] {
            assert!(
                matches!(read_frame(bad), Some(Incoming::Warning(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn access_lost_and_going_away_are_clean_ends() {
        let frame = |code: u16, reason: &str| CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        assert_eq!(
            closed(Some(&frame(1008, "access lost"))),
            Ended::Clean("closed by the server (1008 access lost)".into())
        );
        assert!(matches!(closed(Some(&frame(1001, ""))), Ended::Clean(_)));
        assert_eq!(
            closed(Some(&frame(1011, "error"))),
            Ended::Dropped("closed by the server (1011 error)".into())
        );
        assert!(matches!(closed(None), Ended::Dropped(_)));
    }

    #[test]
    fn pings_every_30_s_and_a_silent_server_is_dead_15_s_later() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut k = KeepAlive::new(t0);
        assert_eq!(k.due(t0), Due::Wait(t0 + s(30)));
        assert_eq!(k.due(t0 + s(30)), Due::Ping);
        k.pinged(t0 + s(30));
        assert_eq!(k.due(t0 + s(31)), Due::Wait(t0 + s(45)));
        // The pong comes back: the next ping is 30 s after the last one.
        k.heard();
        assert_eq!(k.due(t0 + s(31)), Due::Wait(t0 + s(60)));
        assert_eq!(k.due(t0 + s(60)), Due::Ping);
        k.pinged(t0 + s(60));
        // No answer at all.
        assert_eq!(k.due(t0 + s(74)), Due::Wait(t0 + s(75)));
        assert_eq!(k.due(t0 + s(75)), Due::Dead);
    }
}
