//! Arguments of the members (issue 12) and read-cursor (issue 13) commands.

use clap::{Args, ValueEnum};
use protocol::wire::Role;

pub(super) const WAIT_HELP: &str = "\
Waits until the room holds something unread for HANDLE: a message that
mentions it (@HANDLE or @all), or with --any any message not sent by it.
Prints those messages (up to 50, oldest first) as JSON lines, always, even
on a terminal; then marks them read (POST /read through the last printed
id, only after printing) and exits 0. --follow keeps going: one line per
message, for as long as it runs (fits Claude Code's Monitor tool and
background tasks: every stdout line is an event).

Unread means after HANDLE's read cursor on the server, so a restarted wait
delivers exactly what was not marked read; nothing is lost in between.
--no-ack prints without marking read (the same messages come again next
time; not with --follow).

With a member token (MEET_AI_KEY=mem_...) --as may be left out: it is the
token's handle. With an owner key --as is required.

--timeout is the whole wait (default: forever); each server call is at most
50 s and network errors are retried with backoff. Exit 7 when it passes with
nothing printed, 0 once something was printed, 130 on Ctrl-C, 0 on SIGTERM.

Examples:
  meet-ai wait <room>                             # next mention, then exit
  meet-ai wait <room> --follow                    # every mention, as they come
  meet-ai wait <room> --as claude --any --timeout 300
  meet-ai wait <room> --no-ack | jq -r .content   # peek, leave them unread";

pub(super) const INBOX_HELP: &str = "\
Prints {\"handle\",\"cursor\",\"unread\",\"mentions\":[message...],\"has_more\"}:
how many messages after your read cursor are not yours, and the unread ones
that mention you or @all (oldest first). Nothing is marked read; --after
pages on through the mentions.

Examples:
  meet-ai inbox <room>                      # member token: your inbox
  meet-ai inbox <room> --as claude          # owner key: a handle's inbox
  meet-ai inbox <room> --json | jq .unread";

pub(super) const READ_HELP: &str = "\
Moves HANDLE's read cursor forward through message ID (an older id leaves it
where it is). `wait` does this by itself after printing.

Examples:
  meet-ai read <room> --through <message-id>
  meet-ai read <room> --as claude --through <message-id>";

pub(super) const MEMBERS_HELP: &str = "\
The owner sees handle, role, when each joined, when it was last seen and its
token prefix; a member sees handles and roles.

Examples:
  meet-ai members <room>
  meet-ai members <room> --json | jq -r '.[].handle'";

pub(super) const INVITE_HELP: &str = "\
Creates a member (owner key only) and prints it with its token, shown only
this once. On a terminal it also prints how to hand the token over: for an
agent the .env lines (MEET_AI_URL=..., MEET_AI_KEY=mem_...), for a person
the invite link <url>/r/<room>#invite=<token>. A member's messages carry its
handle as sender, marked verified. Roles: agent, human (read and send),
viewer (read only).

Examples:
  meet-ai invite <room> claude --role agent
  meet-ai invite <room> ada --role human
  meet-ai invite <room> claude --json | jq -r '\"MEET_AI_KEY=\" + .token' >> agent/.env";

pub(super) const REMOVE_HELP: &str = "\
Owner key only. The member's token stops working at once (its listeners end).

Examples:
  meet-ai remove-member <room> claude";

pub(super) const REISSUE_HELP: &str = "\
Owner key only. Prints the member with a new token (shown once), like
invite; the old token stops working at once.

Examples:
  meet-ai reissue-token <room> claude";

pub(super) const WHOAMI_HELP: &str = "\
Prints {\"kind\":\"owner\"} or {\"kind\":\"member\",\"room_id\",\"handle\",\"role\"}.

Examples:
  meet-ai whoami
  meet-ai whoami --json | jq -r .handle";

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Room id (or exact room name).
    pub room: String,

    /// The handle to wait for (default: the member token's own).
    #[arg(long = "as", value_name = "HANDLE")]
    pub as_handle: Option<String>,

    /// Any message not sent by HANDLE, not only mentions.
    #[arg(long)]
    pub any: bool,

    /// Exit 7 when this many seconds pass in all with nothing printed.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,

    /// Keep waiting after the first delivery: one JSON line per message.
    #[arg(long)]
    pub follow: bool,

    /// Do not mark the printed messages read.
    #[arg(long, conflicts_with = "follow")]
    pub no_ack: bool,
}

#[derive(Debug, Args)]
pub struct InboxArgs {
    /// Room id (or exact room name).
    pub room: String,

    /// Whose inbox (default: the member token's own).
    #[arg(long = "as", value_name = "HANDLE")]
    pub as_handle: Option<String>,

    /// Mentions after this message id (pages on; the cursor stays).
    #[arg(long, value_name = "MESSAGE_ID")]
    pub after: Option<String>,

    /// Mentions per page, 1-500 (server default 50).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=500))]
    pub limit: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Room id (or exact room name).
    pub room: String,

    /// Whose cursor (default: the member token's own).
    #[arg(long = "as", value_name = "HANDLE")]
    pub as_handle: Option<String>,

    /// Mark read through this message id.
    #[arg(long, value_name = "MESSAGE_ID")]
    pub through: String,
}

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// Room id (or exact room name).
    pub room: String,

    /// The member's name in the room (its messages' sender).
    pub handle: String,

    /// agent or human (read and send), viewer (read only).
    #[arg(long, value_enum, default_value_t = RoleArg::Agent)]
    pub role: RoleArg,
}

/// `invite --role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Reads and sends; its messages are sender_type agent.
    Agent,
    /// Reads and sends; its messages are sender_type human.
    Human,
    /// Reads only.
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Agent => Role::Agent,
            RoleArg::Human => Role::Human,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

#[derive(Debug, Args)]
pub struct MemberArgs {
    /// Room id (or exact room name).
    pub room: String,

    /// The member's handle (case-insensitive).
    pub handle: String,
}
