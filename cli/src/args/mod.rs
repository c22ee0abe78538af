//! The command line, as clap derives it. Parsing only: nothing here touches the
//! network, the environment or the file system.

mod hooks;
mod members;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use hooks::{DecideArgs, HookCommand, SetupHooksArgs};
use hooks::{HOOK_HELP, SETUP_HOOKS_HELP};
pub use members::{InboxArgs, InviteArgs, MemberArgs, ReadArgs, WaitArgs};
use members::{
    INBOX_HELP, INVITE_HELP, MEMBERS_HELP, READ_HELP, REISSUE_HELP, REMOVE_HELP, WAIT_HELP,
    WHOAMI_HELP,
};
use protocol::validate::Color;
use protocol::wire::SenderType;

const MAIN_HELP: &str = "\
Configuration:
  MEET_AI_URL   server (default https://meet-ai.cc)
  MEET_AI_KEY   your owner key (mai_...) or a member token (mem_...) that
                an owner gave you; a member token fixes your sender name
  Both are read from the environment or from a .env file in the current
  directory (the environment wins); --url and --key override both. The URL
  never comes from a less explicit place than the key: a .env's MEET_AI_URL
  is ignored when the key came from the environment or --key. A key goes
  over plain http:// only to this machine (127.0.0.0/8, ::1, localhost)
  unless --insecure-http or MEET_AI_ALLOW_HTTP=1 (else exit 12).

Output:
  On a terminal, readable text. Otherwise (pipes, files, agents) JSON: the
  API's objects, one JSON array for lists, one object per line for `listen`
  and `wait` (`wait` prints JSON lines on a terminal too).
  --json forces JSON on a terminal too. Errors go to stderr as one line.

Exit codes:
  0 ok                          7 listen/wait --timeout passed, nothing printed
  1 other error                 8 listen --transport ws, server has no WebSocket
  2 usage error                 9 forbidden for this key or member token
  3 missing or bad API key     10 conflict (handle taken, room full)
  4 room or message not found  11 loop guard: agents only for too long; wait
  5 rate limited                  for a human, do not retry
  6 server unreachable         12 key refused over plain http to another host
                              130 Ctrl-C ended listen/wait (SIGTERM: 0)

Examples:
  meet-ai generate-key                      # then put MEET_AI_KEY=... in .env
  meet-ai create-room design review
  meet-ai rooms
  meet-ai send-message <room> claude 'On it: reading the failing test now.'
  meet-ai invite <room> claude --role agent # prints MEET_AI_KEY=mem_... for it
  meet-ai send-message <room> 'Hi @ada'     # with a member token: no sender
  meet-ai wait <room> --follow              # with a member token: your mentions
  meet-ai listen <room> --exclude claude    # JSON lines, reconnects by itself
  meet-ai setup-hooks --project             # answer Claude Code's prompts in the room

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
Two forms:
  send-message <room> <sender> <content>...   the sender named (owner key)
  send-message <room> <content>               one content argument: the sender
                                              is the member token's handle
With a member token (MEET_AI_KEY=mem_...) the server fixes the sender; a
sender named must be the token's handle. With an owner key the sender is
required (exit 2 without). With --file or `-`, the only other word is the
sender. Quote multi-word content in the second form.

The content is the words after the sender, joined with spaces. For anything
multi-line (markdown, code blocks) use --file, or `-` to read standard input:
the text is sent byte for byte.

A send carries an Idempotency-Key and is retried on network errors, 5xx and
429 (after Retry-After), so a retry never posts the message twice.

Examples:
  meet-ai send-message <room> claude 'Tests pass on my side.'
  meet-ai send-message <room> claude --file reply.md
  printf '```rust\\nfn main() {}\\n```\\n' | meet-ai send-message <room> claude -
  meet-ai send-message <room> ada --sender-type human --color '#3366ff' hello
  meet-ai send-message <room> '@ada done, see the PR'   # member token
  meet-ai send-message <room> --file reply.md           # member token";

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

--mentions HANDLE prints only messages that mention HANDLE (or @all),
case-insensitively (to be woken only when addressed, see also `wait`).

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

    /// Allow the key over plain http:// to a host that is not this machine
    /// (also MEET_AI_ALLOW_HTTP=1). Without it such a URL is refused (exit 12).
    #[arg(long, global = true)]
    pub insecure_http: bool,

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

    /// Wait for messages that mention you (or any, with --any); print them
    /// as JSON lines and mark them read.
    #[command(after_help = WAIT_HELP)]
    Wait(WaitArgs),

    /// Show your unread count and unread mentions in a room.
    #[command(after_help = INBOX_HELP)]
    Inbox(InboxArgs),

    /// Mark a room read through a message (moves your read cursor).
    #[command(after_help = READ_HELP)]
    Read(ReadArgs),

    /// List a room's members.
    #[command(after_help = MEMBERS_HELP)]
    Members {
        /// Room id (or exact room name).
        room: String,
    },

    /// Add a member to a room and print its token (shown once).
    #[command(after_help = INVITE_HELP)]
    Invite(InviteArgs),

    /// Remove a member from a room; its token stops working at once.
    #[command(after_help = REMOVE_HELP)]
    RemoveMember(MemberArgs),

    /// Give a member a fresh token; the old one stops working.
    #[command(after_help = REISSUE_HELP)]
    ReissueToken(MemberArgs),

    /// Say what the configured key is: an owner key, or whose member token.
    #[command(after_help = WHOAMI_HELP)]
    Whoami,

    /// Hooks Claude Code runs (`hook decide`).
    #[command(after_help = HOOK_HELP)]
    Hook {
        #[command(subcommand)]
        command: HookCommand,
    },

    /// Add the meet-ai PermissionRequest hook to Claude Code's settings.
    #[command(after_help = SETUP_HOOKS_HELP)]
    SetupHooks(SetupHooksArgs),
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

    /// [SENDER] CONTENT...: your name in the room, then the message. One
    /// argument alone is the content, sent as the member token's handle.
    /// `-` as the content reads standard input; text that starts with a
    /// dash goes after `--`.
    #[arg(
        num_args = 0..,
        value_name = "WORDS",
        required_unless_present = "file"
    )]
    pub words: Vec<String>,

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

    /// Only messages that mention this handle (or @all), case-insensitively.
    #[arg(long, value_name = "HANDLE")]
    pub mentions: Option<String>,

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
    /// The sender named on the line (`None`: the member token's handle) and
    /// where the content comes from. With `--file` the only word allowed is
    /// the sender; otherwise one word is the content, more are the sender
    /// and then the content.
    pub fn split(&self) -> Result<(Option<String>, ContentSource), String> {
        let words = self.words.as_slice();
        if let Some(path) = &self.file {
            return match words {
                [] => Ok((None, ContentSource::File(path.clone()))),
                [sender] => Ok((Some(sender.clone()), ContentSource::File(path.clone()))),
                _ => Err(format!(
                    "with --file, give at most a sender before it, not text too (got {} words)",
                    words.len()
                )),
            };
        }
        let (sender, content) = match words {
            [] => return Err("give the message content (or --file PATH)".to_owned()),
            [content] => (None, std::slice::from_ref(content)),
            [sender, content @ ..] => (Some(sender.clone()), content),
        };
        let source = if content.len() == 1 && content[0] == "-" {
            ContentSource::Stdin
        } else {
            ContentSource::Inline(content.join(" "))
        };
        Ok((sender, source))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentSource {
    Inline(String),
    File(PathBuf),
    Stdin,
}

/// Which transport `listen` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    Sse,
    Ws,
}

/// The transport for `--transport requested`, given whether the server
/// announced `features.websocket`.
pub fn choose(
    requested: TransportArg,
    websocket: bool,
    base: &str,
) -> crate::error::Result<Chosen> {
    match (requested, websocket) {
        (TransportArg::Sse, _) | (TransportArg::Auto, false) => Ok(Chosen::Sse),
        (TransportArg::Ws, true) | (TransportArg::Auto, true) => Ok(Chosen::Ws),
        (TransportArg::Ws, false) => Err(crate::error::CliError::unsupported(format!(
            "the server at {base} does not offer WebSocket (its /api/health does not announce \
             features.websocket); use --transport sse or auto"
        ))),
    }
}
