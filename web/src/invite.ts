// Member credentials in links and snippets (pure). An invite link carries the
// member token in the URL fragment, which a browser never sends to a server,
// so it stays out of requests, logs and Referer headers.

export const MEMBER_TOKEN = /^mem_[A-Za-z0-9_-]{24}$/;

/** The member token in a `#invite=<token>` fragment, or null. */
export function inviteFromHash(hash: string): string | null {
  const raw = hash.startsWith("#") ? hash.slice(1) : hash;
  if (!raw) return null;
  const token = new URLSearchParams(raw).get("invite")?.trim() ?? "";
  return MEMBER_TOKEN.test(token) ? token : null;
}

export function inviteLink(origin: string, roomId: string, token: string): string {
  return `${origin}/r/${roomId}#invite=${encodeURIComponent(token)}`;
}

/** The `.env` lines the CLI reads. */
export function agentEnv(origin: string, token: string): string {
  return `MEET_AI_URL=${origin}\nMEET_AI_KEY=${token}`;
}

/** Registers the room's MCP endpoint with Claude Code. */
export function mcpCommand(origin: string, token: string): string {
  return `claude mcp add --transport http meet-ai ${origin}/mcp --header "Authorization: Bearer ${token}"`;
}
