// @mentions, the pure part: where one is being typed, which handles complete
// it, and where mentions sit in a text (for highlighting). The rule follows
// the server's parser (docs: contract, Mentions): `@name` at a word boundary
// (start of text, or after a character that is not [A-Za-z0-9_]), name a run
// of [A-Za-z0-9_.-] with trailing `.`/`-` dropped, case-insensitive.

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const WORD_CHAR = /[A-Za-z0-9_]/;

/** A handle that `@handle` can name (others cannot be mentioned). */
export function isMentionable(handle: string): boolean {
  return /^[A-Za-z0-9_.-]*[A-Za-z0-9_]$/.test(handle);
}

/** A mention being typed just before the caret: `@` at `start`, `query` after it. */
export interface MentionQuery {
  start: number;
  query: string;
}

export function mentionQueryAt(text: string, caret: number): MentionQuery | null {
  let i = caret;
  while (i > 0 && NAME_CHAR.test(text[i - 1]!)) i--;
  if (i === 0 || text[i - 1] !== "@") return null;
  const at = i - 1;
  if (at > 0 && WORD_CHAR.test(text[at - 1]!)) return null;
  // Inside inline code (an odd number of backticks before it on the line) or a fence: no completion.
  const before = text.slice(0, at);
  const fences = (before.match(/^```/gm) ?? []).length;
  if (fences % 2 === 1) return null;
  const line = before.slice(before.lastIndexOf("\n") + 1);
  if ((line.match(/`/g) ?? []).length % 2 === 1) return null;
  return { start: at, query: text.slice(i, caret) };
}

/**
 * Handles that complete `query`: mentionable ones, deduped case-insensitively
 * (first spelling wins, so list members before recent senders), those starting
 * with the query before those merely containing it, `all` last.
 */
export function matchHandles(candidates: Iterable<string>, query: string, limit = 8, exclude: string | null = null): string[] {
  const q = query.toLowerCase();
  const seen = new Set<string>();
  const starts: string[] = [];
  const contains: string[] = [];
  if (exclude) seen.add(exclude.toLowerCase());
  for (const c of candidates) {
    const lower = c.toLowerCase();
    if (seen.has(lower) || !isMentionable(c) || lower === "all") continue;
    seen.add(lower);
    if (lower.startsWith(q)) starts.push(c);
    else if (q && lower.includes(q)) contains.push(c);
  }
  const out = [...starts, ...contains];
  if ("all".startsWith(q)) out.push("all");
  return out.slice(0, limit);
}

/** The text with `@handle ` in place of the mention being typed; the caret after it. */
export function applyCompletion(text: string, q: MentionQuery, caret: number, handle: string): { text: string; caret: number } {
  const rest = text.slice(caret);
  const insert = `@${handle}${rest.startsWith(" ") ? "" : " "}`;
  const out = text.slice(0, q.start) + insert + rest;
  return { text: out, caret: q.start + insert.length + (rest.startsWith(" ") ? 1 : 0) };
}

/** Where `@name` mentions sit in plain text (no code awareness: callers pass text outside code). */
export function mentionSpans(text: string): { start: number; end: number; name: string }[] {
  const out: { start: number; end: number; name: string }[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "@" || (i > 0 && WORD_CHAR.test(text[i - 1]!))) continue;
    let j = i + 1;
    while (j < text.length && NAME_CHAR.test(text[j]!)) j++;
    while (j > i + 1 && /[.-]/.test(text[j - 1]!)) j--;
    if (j > i + 1) {
      out.push({ start: i, end: j, name: text.slice(i + 1, j) });
      i = j - 1;
    }
  }
  return out;
}

/** The message mentions this handle (or @all), by the server's `mentions`. */
export function mentionsHandle(mentions: readonly string[] | undefined, handle: string | null): boolean {
  if (!mentions?.length || !handle) return false;
  const me = handle.toLowerCase();
  return mentions.some((m) => m.toLowerCase() === me || m.toLowerCase() === "all");
}
