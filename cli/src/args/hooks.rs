//! `hook decide` and `setup-hooks` (issue 17): Claude Code's permission
//! prompts, plans and questions answered from the room.

use clap::{Args, Subcommand};

pub const HOOK_HELP: &str = "\
Commands Claude Code runs as hooks (see `meet-ai setup-hooks`).";

pub const DECIDE_HELP: &str = "\
Run by Claude Code as a PermissionRequest hook: reads the hook input on
stdin, asks the room (MEET_AI_ROOM) with the agent's member token
(MEET_AI_KEY), waits for a person's answer and prints it the way Claude Code
expects: allow (the tool input echoed, with the answers for a question, and
the \"always allow\" rule when one was chosen) or deny (with the person's
feedback as the message).

When the request expires, is cancelled, fails, or the hook is stopped, it
cancels the request where it can, prints nothing and exits 0: Claude Code
then asks in the terminal as usual. It never allows on a timeout.

Only the environment configures it (MEET_AI_ROOM, MEET_AI_KEY, MEET_AI_URL,
or --url/--key); it reads no .env file.

Example (what Claude Code runs):
  echo \"$HOOK_INPUT\" | MEET_AI_ROOM=<room> MEET_AI_KEY=mem_... meet-ai hook decide";

pub const SETUP_HOOKS_HELP: &str = "\
Adds the PermissionRequest hook that runs `meet-ai hook decide` to Claude
Code's settings: ~/.claude/settings.json, or ./.claude/settings.json with
--project. Everything already in the file stays; running it again changes
nothing. The hook's timeout is the decision's lifetime plus 60 seconds.

The room and the token are not written anywhere: Claude Code passes its
environment to hooks, so start it with MEET_AI_ROOM and MEET_AI_KEY set.

Examples:
  meet-ai invite <room> claude --role agent     # owner: prints MEET_AI_KEY=mem_...
  meet-ai setup-hooks --project
  MEET_AI_ROOM=<room> MEET_AI_KEY=mem_... claude";

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Answer a Claude Code PermissionRequest from the room (reads the hook
    /// input on stdin).
    #[command(after_help = DECIDE_HELP)]
    Decide(DecideArgs),
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// How long the room has to answer, seconds (1-3600; setup-hooks
    /// writes 300 unless told otherwise).
    #[arg(long, value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub expires_in: u64,
}

#[derive(Debug, Args)]
pub struct SetupHooksArgs {
    /// Write ./.claude/settings.json (this project) instead of
    /// ~/.claude/settings.json.
    #[arg(long)]
    pub project: bool,

    /// How long the room has to answer each request, seconds (10-3600).
    #[arg(long, value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub expires_in: u64,
}
