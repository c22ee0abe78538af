//! The command line, as clap derives it. Parsing only: nothing here touches the
//! network, the environment or the file system.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use protocol::validate::Color;
use protocol::wire::SenderType;

const MAIN_HELP: &str = "\
Configuration:
  MEET_AI_URL   server (default https://meet-ai.cc)
  MEET_AI_KEY   your API key (mai_...)
  Both are read from the environment or from a .env file in the current
  directory (the environment wins); --url and --key override both.

Output:
  On a terminal, readable text. Otherwise (pipes, files, agents) JSON: the
  API's objects, one JSON array for lists, one object per line for `listen`.
  --json forces JSON on a terminal too. Errors go to stderr as one line.

Exit codes:
  0 ok                      4 room (or message) not found
  1 other error             5 rate limited
  2 usage error             6 server unreachable
  3 missing or bad API key  7 listen --timeout passed with no message
  8 listen --transport ws on a server without WebSocket
  130 listen stopped by Ctrl-C (SIGINT); SIGTERM ends listen with 0

Examples:
  meet-ai generate-key                      # then put MEET_AI_KEY=... in .env
  meet-ai create-room design review
  meet-ai rooms
  meet-ai send-message <room> claude 'On it: reading the failing test now.'
  meet-ai listen <room> --exclude claude    # JSON lines, reconnects by itself
  meet-ai listen <room> --exclude claude --count 1 --timeout 300

Docs: docs/CLI.md";

const GENERATE_KEY_HELP: &str = "\
Examples:
  meet-ai generate-key
  meet-ai generate-key --json | jq -r .key

The key is shown once. Keep it in .env (MEET_AI_KEY=mai_...) or in your
environment; anyone holding it can read and write its rooms.";

const REVOKE_KEY_HELP: &str = "\
Examples:
  meet-ai revoke-key
  meet-ai revoke-key --key mai_xxxxxxxxxxxxxxxxxxxxxxxx

After this the key and its rooms are unreachable for good.";

const ROOMS_HELP: &str = "\
Examples:
  meet-ai rooms
  meet-ai rooms --json | jq -r '.[] | .id + \"  \" + .name'";

const CREATE_ROOM_HELP: &str = "\
Examples:
  meet-ai create-room design review
  ROOM=$(meet-ai create-room standup --json | jq -r .id)";

const SEND_HELP: &str = "\
The content is the words after the sender, joined with spaces. For anything
multi-line (markdown, code blocks) use --file, or `-` to read standard input:
the text is sent byte for byte.

A send carries an Idempotency-Key and is retried on network errors, 5xx and
429 (after Retry-After), so a retry never posts the message twice.

Examples:
  meet-ai send-message <room> claude 'Tests pass on my side.'
  meet-ai send-message <room> claude --file reply.md
  printf '```rust\\nfn main() {}\\n```\\n' | meet-ai send-message <room> claude -
  meet-ai send-message <room> ada --sender-type human --color '#3366ff' hello";

const POLL_HELP: &str = "\
Prints history once, oldest first: the latest --limit messages, or those after
--after. --exclude drops a sender's messages after the page is fetched.

Examples:
  meet-ai poll <room>
  meet-ai poll <room> --after <message-id> --exclude claude
  meet-ai poll <room> --limit 10 --json | jq -r '.[].content'";

const LISTEN_HELP: &str = "\
Follows the room and prints each new message as it arrives (JSON, one object
per line, when stdout is not a terminal). Drops, server restarts and streams
the server ends are survived: listen reconnects by itself (at once after a
clean end, otherwise backing off from ~1 s to 15 s with jitter) and resumes
after the last message it received, so nothing is lost or printed twice.

It follows the room over the server's WebSocket when /api/health announces
one (the paid plan), otherwise over Server-Sent Events; --transport picks one
(the output is the same either way).

Connection events go to stderr as JSON lines:
  {\"event\":\"connected\",\"transport\":\"sse|ws\",...} {\"event\":\"disconnected\",...}
  {\"event\":\"reconnecting\",\"attempt\":N,\"delay_ms\":M} {\"event\":\"resumed\",...}

Exit: 0 after --count messages (or on SIGTERM), 7 when --timeout seconds pass
without a message printed, 130 on Ctrl-C, 3/4 if the key or room goes away,
8 for --transport ws on a server without WebSocket.

Examples:
  meet-ai listen <room> --exclude claude
  meet-ai listen <room> --exclude claude --count 1 --timeout 300   # wait for a reply
  meet-ai listen <room> --after <message-id>                       # replay, then follow";

/// meet-ai: real-time chat rooms for humans and coding agents.
#[derive(Debug, Parser)]
#[command(name = "meet-ai", version, after_help = MAIN_HELP)]
pub struct Cli {
    /// Server URL (overrides MEET_AI_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,

    /// API key (overrides MEET_AI_KEY).
    #[arg(long, global = true, value_name = "KEY")]
    pub key: Option<String>,

    /// Print JSON even on a terminal.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new API key (no key needed) and show how to save it.
    #[command(after_help = GENERATE_KEY_HELP)]
    GenerateKey,

    /// Revoke the configured API key.
    #[command(after_help = REVOKE_KEY_HELP)]
    RevokeKey,

    /// List your rooms.
    #[command(after_help = ROOMS_HELP)]
    Rooms,

    /// Create a room and print it.
    #[command(after_help = CREATE_ROOM_HELP)]
    CreateRoom {
        /// The room's name (several words are joined with spaces).
        #[arg(required = true, num_args = 1.., value_name = "NAME")]
        name: Vec<String>,
    },

    /// Post a message to a room.
    #[command(after_help = SEND_HELP)]
    SendMessage(SendArgs),

    /// Print a room's history once (one JSON array when piped).
    #[command(after_help = POLL_HELP)]
    Poll(PollArgs),

    /// Follow a room live and print each new message.
    #[command(after_help = LISTEN_HELP)]
    Listen(ListenArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SenderKind {
    Human,
    Agent,
}

impl From<SenderKind> for SenderType {
    fn from(kind: SenderKind) -> SenderType {
        match kind {
            SenderKind::Human => SenderType::Human,
            SenderKind::Agent => SenderType::Agent,
        }
    }
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Room id (or exact room name).
    pub room: String,

    /// Who is speaking: your name in the room.
    pub sender: String,

    /// The message; `-` alone reads it from standard input. Text that starts
    /// with a dash goes after `--`.
    #[arg(
        num_args = 0..,
        value_name = "CONTENT",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub content: Vec<String>,

    /// Read the content from this file (sent byte for byte).
    #[arg(long, short = 'f', value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Shown next to the sender's name.
    #[arg(long, value_enum, default_value_t = SenderKind::Agent)]
    pub sender_type: SenderKind,

    /// Display color, #rrggbb.
    #[arg(long, value_name = "#RRGGBB", value_parser = parse_color)]
    pub color: Option<String>,

    /// Retries on network errors, 5xx and 429 before giving up.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub retries: u32,

    /// Use this Idempotency-Key instead of a random one (1-64 printable
    /// ASCII): re-running a send with the same key never posts twice.
    #[arg(long, value_name = "KEY", value_parser = parse_idempotency_key)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct PollArgs {
    /// Room id (or exact room name).
    pub room: String,

    /// Only messages after this message id.
    #[arg(long, value_name = "MESSAGE_ID")]
    pub after: Option<String>,

    /// Drop this sender's messages (repeatable).
    #[arg(long, value_name = "SENDER")]
    pub exclude: Vec<String>,

    /// Page size, 1-500 (server default 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=500))]
    pub limit: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Room id (or exact room name).
    pub room: String,

    /// Drop this sender's messages (repeatable): pass your own name.
    #[arg(long, value_name = "SENDER")]
    pub exclude: Vec<String>,

    /// Start after this message id (replays what came after it) instead of now.
    #[arg(long, value_name = "MESSAGE_ID")]
    pub after: Option<String>,

    /// Exit 0 after printing N messages.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Exit 7 when this many seconds pass with no message printed.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,

    /// How to follow the room (ws exits 8 on a server without WebSocket).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = TransportArg::Auto)]
    pub transport: TransportArg,
}

/// `listen --transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum TransportArg {
    /// Ask `/api/health`: WebSocket if `features.websocket`, else SSE.
    #[default]
    Auto,
    /// Server-Sent Events (every server has them).
    Sse,
    /// WebSocket (servers that announce it: the paid plan).
    Ws,
}

fn parse_color(raw: &str) -> Result<String, String> {
    Color::parse(raw)
        .map(|c| c.as_ref().to_owned())
        .map_err(|e| e.to_string())
}

fn parse_idempotency_key(raw: &str) -> Result<String, String> {
    protocol::validate::IdempotencyKey::parse(raw)
        .map(|k| k.as_ref().to_owned())
        .map_err(|e| e.to_string())
}

impl SendArgs {
    /// Where the content comes from.
    pub fn source(&self) -> ContentSource {
        if let Some(path) = &self.file {
            return ContentSource::File(path.clone());
        }
        if self.content.len() == 1 && self.content[0] == "-" {
            return ContentSource::Stdin;
        }
        ContentSource::Inline(self.content.join(" "))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentSource {
    Inline(String),
    File(PathBuf),
    Stdin,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("meet-ai").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn send_joins_words_after_the_sender() {
        let cli = parse(&["send-message", "r1", "claude", "hello", "big", "world"]).unwrap();
        let Command::SendMessage(send) = cli.command else {
            panic!("not send-message");
        };
        assert_eq!(send.room, "r1");
        assert_eq!(send.sender, "claude");
        assert_eq!(
            send.source(),
            ContentSource::Inline("hello big world".into())
        );
        assert_eq!(send.sender_type, SenderKind::Agent);
        assert_eq!(send.color, None);
        assert_eq!(send.retries, 5);
    }

    #[test]
    fn send_reads_stdin_for_a_lone_dash_and_keeps_leading_dashes_in_text() {
        let cli = parse(&["send-message", "r", "me", "-"]).unwrap();
        let Command::SendMessage(send) = cli.command else {
            panic!()
        };
        assert_eq!(send.source(), ContentSource::Stdin);

        let cli = parse(&["send-message", "r", "me", "-", "and", "more"]).unwrap();
        let Command::SendMessage(send) = cli.command else {
            panic!()
        };
        assert_eq!(send.source(), ContentSource::Inline("- and more".into()));
    }

    #[test]
    fn send_file_excludes_inline_content() {
        let cli = parse(&["send-message", "r", "me", "--file", "a.md"]).unwrap();
        let Command::SendMessage(send) = cli.command else {
            panic!()
        };
        assert_eq!(send.source(), ContentSource::File("a.md".into()));

        let err = parse(&["send-message", "r", "me", "--file", "a.md", "text"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        let err = parse(&["send-message", "r", "me"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn send_validates_color_and_sender_type() {
        let cli = parse(&[
            "send-message",
            "r",
            "ada",
            "--sender-type",
            "human",
            "--color",
            "#AABBCC",
            "hi",
        ])
        .unwrap();
        let Command::SendMessage(send) = cli.command else {
            panic!()
        };
        assert_eq!(send.sender_type, SenderKind::Human);
        assert_eq!(send.color.as_deref(), Some("#aabbcc"));

        let err = parse(&["send-message", "r", "a", "--color", "red", "hi"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueValidation);
        let err = parse(&["send-message", "r", "a", "--sender-type", "robot", "hi"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidValue);
        let err = parse(&["send-message", "r", "a", "--idempotency-key", "é", "hi"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueValidation);
    }

    #[test]
    fn listen_takes_repeated_excludes_count_and_timeout() {
        let cli = parse(&[
            "listen",
            "room",
            "--exclude",
            "me",
            "--exclude",
            "bot",
            "--count",
            "3",
            "--timeout",
            "60",
            "--after",
            "m1",
        ])
        .unwrap();
        let Command::Listen(listen) = cli.command else {
            panic!()
        };
        assert_eq!(listen.exclude, vec!["me", "bot"]);
        assert_eq!(listen.count, Some(3));
        assert_eq!(listen.timeout, Some(60));
        assert_eq!(listen.after.as_deref(), Some("m1"));
        assert_eq!(listen.transport, TransportArg::Auto);

        for (flag, want) in [
            ("auto", TransportArg::Auto),
            ("sse", TransportArg::Sse),
            ("ws", TransportArg::Ws),
        ] {
            let cli = parse(&["listen", "room", "--transport", flag]).unwrap();
            let Command::Listen(listen) = cli.command else {
                panic!()
            };
            assert_eq!(listen.transport, want);
        }
        assert_eq!(
            parse(&["listen", "room", "--transport", "carrier-pigeon"])
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidValue
        );

        for bad in [["--count", "0"], ["--timeout", "0"], ["--count", "-1"]] {
            let mut args = vec!["listen", "room"];
            args.extend(bad);
            assert!(parse(&args).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn poll_limit_is_bounded() {
        let cli = parse(&["poll", "r", "--limit", "500", "--after", "x"]).unwrap();
        let Command::Poll(poll) = cli.command else {
            panic!()
        };
        assert_eq!(poll.limit, Some(500));
        assert_eq!(poll.after.as_deref(), Some("x"));
        assert!(parse(&["poll", "r", "--limit", "501"]).is_err());
        assert!(parse(&["poll", "r", "--limit", "0"]).is_err());
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = parse(&["rooms", "--json", "--url", "http://x", "--key", "k"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.url.as_deref(), Some("http://x"));
        assert_eq!(cli.key.as_deref(), Some("k"));
        let cli = parse(&["--json", "create-room", "two", "words"]).unwrap();
        let Command::CreateRoom { name } = cli.command else {
            panic!()
        };
        assert_eq!(name.join(" "), "two words");
    }

    #[test]
    fn usage_errors_and_help() {
        assert_eq!(
            parse(&["nope"]).unwrap_err().kind(),
            ErrorKind::InvalidSubcommand
        );
        assert_eq!(
            parse(&["create-room"]).unwrap_err().kind(),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse(&["listen", "--help"]).unwrap_err().kind(),
            ErrorKind::DisplayHelp
        );
    }
}
