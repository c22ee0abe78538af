//! The WebSocket side (paid variant): connecting to `GET /api/rooms/:id/ws`,
//! over plain TCP or TLS, and reading its frames.
//!
//! Contract: `?token=<key>` authenticates, `?after=<message id>` replays what
//! came after that message first, and each message arrives as a text frame
//! `{"type":"message","message":{...}}`. Other frame types are ignored.

use std::pin::Pin;
use std::sync::Arc;

use protocol::wire::Message;
use reqwest::Url;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_tungstenite::WebSocketStream;

use crate::client::{error_chain, parse_server_timing, ServerTiming};

pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

pub type Stream = WebSocketStream<Pin<Box<dyn Io>>>;

pub struct Connection {
    pub stream: Stream,
    /// `Server-Timing` of the upgrade response, if the server sent one.
    pub timing: Option<ServerTiming>,
}

#[derive(Debug)]
pub struct ConnectError {
    /// The HTTP status, when the server answered without upgrading.
    pub status: Option<u16>,
    pub message: String,
}

impl ConnectError {
    fn io(message: String) -> ConnectError {
        ConnectError {
            status: None,
            message,
        }
    }
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// Opens a WebSocket to `url` (`ws://` or `wss://`).
pub async fn connect(url: Url) -> Result<Connection, ConnectError> {
    let host = url
        .host_str()
        .ok_or_else(|| ConnectError::io(format!("{url} has no host")))?
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| ConnectError::io(format!("{url} has no port")))?;
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tcp = TcpStream::connect((bare_host.as_str(), port))
        .await
        .map_err(|e| ConnectError::io(format!("connect {host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let io: Pin<Box<dyn Io>> = if url.scheme() == "wss" {
        let name = rustls::pki_types::ServerName::try_from(bare_host.clone())
            .map_err(|e| ConnectError::io(format!("TLS name {host}: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config())
            .connect(name, tcp)
            .await
            .map_err(|e| ConnectError::io(format!("TLS {host}: {e}")))?;
        Box::pin(tls)
    } else {
        Box::pin(tcp)
    };
    match tokio_tungstenite::client_async(url.as_str(), io).await {
        Ok((stream, response)) => Ok(Connection {
            stream,
            timing: response
                .headers()
                .get("server-timing")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_server_timing),
        }),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect::<String>();
            Err(ConnectError {
                status: Some(resp.status().as_u16()),
                message: format!("upgrade refused: {}: {body}", resp.status()),
            })
        }
        Err(e) => Err(ConnectError::io(error_chain(&e))),
    }
}

/// Reads one text frame: `Ok(Some)` for a message, `Ok(None)` for another
/// frame type, `Err` for something that breaks the contract.
pub fn parse_frame(text: &str) -> Result<Option<Message>, String> {
    match serde_json::from_str::<protocol::ws::ServerFrame>(text) {
        Ok(protocol::ws::ServerFrame::Message(message)) => Ok(Some(message)),
        Ok(_) => Ok(None),
        Err(e) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.get("type").and_then(|t| t.as_str()) != Some("message") => Ok(None),
            _ => Err(format!("frame is not a known server frame ({e})")),
        },
    }
}

/// Asks the room's object for its push counters (`{"type":"stats"}`) over a
/// socket of its own: what it notified, pushed without reading D1, and the D1
/// queries and rows it spent since it woke. The socket's own handshake adds
/// one D1 batch to the counts. None if the server does not answer with them.
pub async fn object_stats(base: &Url, room: &str, key: &str) -> Option<protocol::ws::PushStats> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Frame;
    let mut url = base.clone();
    let secure = url.scheme() == "https";
    let _ = url.set_scheme(if secure { "wss" } else { "ws" });
    url.set_path(&format!("/api/rooms/{room}/ws"));
    url.query_pairs_mut().append_pair("token", key);
    let mut conn = connect(url).await.ok()?;
    conn.stream
        .send(Frame::text(r#"{"type":"stats"}"#))
        .await
        .ok()?;
    let read = async {
        while let Some(Ok(frame)) = conn.stream.next().await {
            if let Frame::Text(text) = frame {
                if let Ok(protocol::ws::ServerFrame::Stats(stats)) =
                    serde_json::from_str(text.as_str())
                {
                    return Some(stats);
                }
            }
        }
        None
    };
    let stats = tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .ok()
        .flatten();
    let _ = conn.stream.close(None).await;
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_message_frames_and_skips_others() {
        let m = parse_frame(
            r#"{"type":"message","id":"m1","room_id":"r","sender":"a","sender_type":"agent","color":null,"content":"hi","created_at":"2025-01-01T00:00:00.000Z"}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!((m.id.as_str(), m.content.as_str()), ("m1", "hi"));
        assert_eq!(parse_frame(r#"{"type":"hello"}"#).unwrap(), None);
        assert!(parse_frame("not json").is_err());
        assert!(parse_frame(r#"{"type":"message"}"#).is_err());
        assert!(parse_frame(r#"{"type":"message","id":1}"#).is_err());
    }
}
