//! Server-Sent Events, both directions.
//!
//! The Worker frames events with [`encode_event`], [`encode_comment`] and
//! [`encode_retry`]; the CLI, the load generator and the tests read them back with
//! [`Decoder`], an incremental parser that follows the WHATWG "event stream
//! interpretation" rules. Bytes arrive in arbitrary chunks, so an incomplete line
//! is a normal state, kept until the rest arrives.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field, `"message"` when absent.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last event id in force when this event was dispatched (what a
    /// reconnect sends as `Last-Event-ID`).
    pub id: Option<String>,
}

/// Frames one event. Multi-line data is split into several `data:` lines, so any
/// text survives the trip. Ids and event names must be single-line: newlines in
/// them are dropped rather than allowed to forge fields.
pub fn encode_event(id: Option<&str>, event: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    if let Some(id) = id {
        out.push_str("id: ");
        out.extend(id.chars().filter(|c| !matches!(c, '\r' | '\n' | '\0')));
        out.push('\n');
    }
    if let Some(event) = event {
        out.push_str("event: ");
        out.extend(event.chars().filter(|c| !matches!(c, '\r' | '\n')));
        out.push('\n');
    }
    for line in split_lines(data) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// An `id:` with no data: EventSource adopts it as its last event id (what it
/// sends as `Last-Event-ID` on reconnect) without dispatching an event.
pub fn encode_cursor(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 6);
    out.push_str("id: ");
    out.extend(id.chars().filter(|c| !matches!(c, '\r' | '\n' | '\0')));
    out.push_str("\n\n");
    out
}

/// A comment line (ignored by clients; keeps proxies from closing idle streams).
pub fn encode_comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for line in split_lines(text) {
        out.push_str(": ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Tells the client how long to wait before reconnecting, in milliseconds.
pub fn encode_retry(ms: u32) -> String {
    format!("retry: {ms}\n\n")
}

/// Splits on `\r\n`, `\n` or `\r`, as the SSE grammar does.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// Incremental SSE parser. Feed it bytes as they come; it returns the events
/// completed by them.
#[derive(Debug, Default)]
pub struct Decoder {
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one belongs to it.
    after_cr: bool,
    data: String,
    has_data: bool,
    event: String,
    last_id: Option<String>,
    /// The latest `retry:` value received, in milliseconds.
    pub retry: Option<u64>,
    /// How many comment lines were seen (heartbeats and notes).
    pub comments: u64,
    /// The text of the latest comment line.
    pub last_comment: Option<String>,
    /// The server's goodbye, once it has said it: the stream ended on
    /// purpose (see [`Bye`]).
    pub bye: Option<Bye>,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// The id a reconnect should send as `Last-Event-ID`.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Feeds a chunk and returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &b in chunk {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut events);
                }
                _ => self.line.push(b),
            }
        }
        events
    }

    fn end_line(&mut self, events: &mut Vec<Event>) {
        let line = std::mem::take(&mut self.line);
        let line = String::from_utf8_lossy(&line);
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        if let Some(comment) = line.strip_prefix(':') {
            self.comments += 1;
            let comment = comment.trim_start();
            if let Some(bye) = Bye::parse(comment) {
                self.bye = Some(bye);
            }
            self.last_comment = Some(comment.to_owned());
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = value.to_owned(),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut Vec<Event>) {
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            return;
        }
        self.has_data = false;
        events.push(Event {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
        });
    }
}

/// Why a stream ended on purpose, as its goodbye says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByeReason {
    /// The invocation's query budget is spent: reconnect at once.
    Budget,
    /// The reader lost access (key revoked, member removed, room gone).
    AccessLost,
    /// A D1 error the stream could not recover from; reconnecting retries.
    Error,
    /// A reason this client does not know yet (a newer server).
    Other(String),
}

impl ByeReason {
    pub fn as_str(&self) -> &str {
        match self {
            ByeReason::Budget => "budget",
            ByeReason::AccessLost => "access-lost",
            ByeReason::Error => "error",
            ByeReason::Other(other) => other,
        }
    }

    fn parse(text: &str) -> ByeReason {
        match text {
            "budget" => ByeReason::Budget,
            "access-lost" => ByeReason::AccessLost,
            "error" => ByeReason::Error,
            other => ByeReason::Other(other.to_owned()),
        }
    }
}

/// A stream's goodbye: the comment the server writes just before it ends a
/// stream on purpose (`: bye queries=N rows_read=R reason=…`). Its counts
/// are what the whole stream cost in D1, setup included, which is how
/// `make bench` measures a listener. A body that ends without one was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bye {
    pub queries: u32,
    pub rows_read: u64,
    pub reason: ByeReason,
}

impl Bye {
    /// The comment's text (what follows `: `); [`encode_comment`] frames it.
    pub fn comment(&self) -> String {
        format!(
            "bye queries={} rows_read={} reason={}",
            self.queries,
            self.rows_read,
            self.reason.as_str()
        )
    }

    /// Reads a comment's text; `None` if it is not a goodbye. Fields may
    /// come in any order; a missing `rows_read` (older servers) reads as 0.
    pub fn parse(comment: &str) -> Option<Bye> {
        let rest = comment.trim().strip_prefix("bye")?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        let (mut queries, mut rows_read, mut reason) = (None, 0, None);
        for part in rest.split_whitespace() {
            match part.split_once('=') {
                Some(("queries", v)) => queries = v.parse().ok(),
                Some(("rows_read", v)) => rows_read = v.parse().ok()?,
                Some(("reason", v)) => reason = Some(ByeReason::parse(v)),
                _ => {}
            }
        }
        Some(Bye {
            queries: queries?,
            rows_read,
            reason: reason.unwrap_or(ByeReason::Other(String::new())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_exact_wire_bytes() {
        assert_eq!(
            encode_event(Some("42"), Some("message"), "{\"a\":1}"),
            "id: 42\nevent: message\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(encode_event(None, None, "a\nb"), "data: a\ndata: b\n\n");
        assert_eq!(encode_comment("hb"), ": hb\n\n");
        assert_eq!(encode_retry(1500), "retry: 1500\n\n");
        assert_eq!(encode_cursor("a\nb"), "id: ab\n\n");
        assert_eq!(
            encode_event(Some("1\n2"), Some("x\ny"), ""),
            "id: 12\nevent: xy\ndata: \n\n"
        );
    }

    #[test]
    fn decodes_fields_comments_and_retry() {
        let mut d = Decoder::new();
        let events = d.push(
            b"retry: 2000\n\n: heartbeat\n\nid: 1\nevent: message\ndata: x\ndata: y\n\ndata:z\n\n",
        );
        assert_eq!(d.retry, Some(2000));
        assert_eq!(d.comments, 1);
        assert_eq!(d.last_comment.as_deref(), Some("heartbeat"));
        assert_eq!(
            events,
            vec![
                Event {
                    event: "message".into(),
                    data: "x\ny".into(),
                    id: Some("1".into())
                },
                Event {
                    event: "message".into(),
                    data: "z".into(),
                    id: Some("1".into())
                },
            ]
        );
        assert_eq!(d.last_event_id(), Some("1"));
    }

    #[test]
    fn handles_crlf_split_across_chunks_and_incomplete_events() {
        let mut d = Decoder::new();
        assert!(d.push(b"id: 7\r").is_empty());
        assert!(d.push(b"\ndata: hello\r\n").is_empty());
        let events = d.push(b"\r\n");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, "hello");
        assert_eq!(events[0].id.as_deref(), Some("7"));
    }

    #[test]
    fn a_bare_id_moves_the_cursor_without_an_event() {
        let mut d = Decoder::new();
        assert!(d.push(encode_cursor("c1").as_bytes()).is_empty());
        assert_eq!(d.last_event_id(), Some("c1"));
    }

    #[test]
    fn events_without_data_are_not_dispatched_and_bad_retry_is_ignored() {
        let mut d = Decoder::new();
        assert!(d.push(b"event: x\nretry: 1a\n\n").is_empty());
        assert_eq!(d.retry, None);
        // The event type was reset by the empty line.
        let events = d.push(b"data: y\n\n");
        assert_eq!(events[0].event, "message");
    }

    proptest! {
        #[test]
        fn round_trips_through_any_chunking(
            items in proptest::collection::vec(("[a-z0-9-]{1,12}", "\\PC{0,40}(\n\\PC{0,20})?"), 1..8),
            cuts in proptest::collection::vec(0usize..400, 0..6),
        ) {
            let wire: String = items
                .iter()
                .map(|(id, data)| encode_event(Some(id), Some("message"), data))
                .collect();
            let bytes = wire.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c < bytes.len()).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut d = Decoder::new();
            let mut got = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                got.extend(d.push(&bytes[start..cut]));
                start = cut;
            }
            prop_assert_eq!(got.len(), items.len());
            for (event, (id, data)) in got.iter().zip(&items) {
                prop_assert_eq!(event.id.as_deref(), Some(id.as_str()));
                prop_assert_eq!(&event.data, data);
            }
        }
    }

    #[test]
    fn goodbyes_round_trip_through_the_stream() {
        for reason in [
            ByeReason::Budget,
            ByeReason::AccessLost,
            ByeReason::Error,
            ByeReason::Other("drain".into()),
        ] {
            let bye = Bye {
                queries: 43,
                rows_read: 1_200,
                reason,
            };
            let mut d = Decoder::default();
            assert_eq!(d.bye, None);
            d.push(b": heartbeat\n\n");
            assert_eq!(d.bye, None);
            d.push(encode_comment(&bye.comment()).as_bytes());
            assert_eq!(d.bye.as_ref(), Some(&bye));
            assert_eq!(Bye::parse(d.last_comment.as_deref().unwrap()), Some(bye));
        }
        assert_eq!(
            Bye::parse("bye queries=3 reason=budget"),
            Some(Bye {
                queries: 3,
                rows_read: 0,
                reason: ByeReason::Budget
            })
        );
        for not in [
            "heartbeat",
            "byebye queries=1",
            "bye reason=budget",
            "bye queries=x",
        ] {
            assert_eq!(Bye::parse(not), None, "{not}");
        }
    }
}
