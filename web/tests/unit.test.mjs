// The UI's pure modules, bundled by esbuild for node (no browser needed).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { ROOT } from "./server.mjs";

let dir;
let m;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "meet-ai-unit-"));
  const out = join(dir, "pure.mjs");
  await esbuild.build({
    stdin: {
      contents: `
        export * from "./handle";
        export * from "./color";
        export * from "./time";
        export * from "./langs";
        export { waitPhrase, isRoomId, ApiError, unhandledWait } from "./api";
        export * from "./mention";
        export * from "./invite";
        export * from "./decision";
      `,
      resolveDir: join(ROOT, "web/src"),
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    outfile: out,
    logLevel: "error",
  });
  m = await import(pathToFileURL(out).href);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("handles are adjective-animal-number and normalised like the API's sender", () => {
  for (let i = 0; i < 200; i++) assert.match(m.randomHandle(), /^[a-z]+-[a-z]+-[1-9]\d$/);
  let x = 0;
  const seq = () => [0, 0.5, 0.999][x++ % 3];
  assert.equal(m.randomHandle(seq), "misty-zebra-10");
  assert.equal(m.normalizeHandle("  ada   lovelace \n"), "ada lovelace");
  assert.equal(m.normalizeHandle("   "), null);
  assert.equal(Array.from(m.normalizeHandle("é".repeat(100))).length, 64, "64 characters, not bytes");
});

test("sender colors: the message's own if valid, else stable per name", () => {
  assert.equal(m.senderColor("claude", "#D97757"), "#d97757");
  assert.equal(m.senderColor("claude", "red"), m.colorForName("claude"));
  assert.equal(m.senderColor("claude", null), m.colorForName("claude"));
  assert.equal(m.colorForName("Maya"), m.colorForName(" maya "));
  assert.notEqual(m.colorForName("maya"), m.colorForName("codex"));
  for (const name of ["a", "maya", "codex", "brave-otter-42", "🦀"]) assert.match(m.colorForName(name), /^#[0-9a-f]{6}$/);
});

test("relative times", () => {
  const now = new Date("2026-11-26T12:00:00Z");
  const ago = (s) => new Date(now.getTime() - s * 1000);
  assert.equal(m.relativeTime(ago(5), now), "just now");
  assert.equal(m.relativeTime(ago(-30), now), "just now", "a clock slightly ahead is still now");
  assert.equal(m.relativeTime(ago(120), now), "2 min ago");
  assert.equal(m.relativeTime(ago(3 * 3600), now), "3 h ago");
  assert.equal(m.relativeTime(ago(30 * 3600), now), "yesterday");
  assert.equal(m.relativeTime(ago(3 * 86400), now), "3 days ago");
});

test("code fence languages resolve to the curated grammars", () => {
  assert.equal(m.resolveLanguage("rust"), "rust");
  assert.equal(m.resolveLanguage("rs"), "rust");
  assert.equal(m.resolveLanguage("Rust title=main.rs"), "rust");
  assert.equal(m.resolveLanguage("sh"), "bash");
  assert.equal(m.resolveLanguage("patch"), "diff");
  assert.equal(m.resolveLanguage("yml"), "yaml");
  assert.equal(m.resolveLanguage("cobol"), null);
  assert.equal(m.resolveLanguage(""), null);
  for (const lang of ["rust", "typescript", "javascript", "python", "bash", "json", "diff", "sql", "toml", "yaml", "go", "html", "css"]) {
    assert.ok(m.LANGUAGES.includes(lang), lang);
  }
});

test("rate-limit waits and errors read as sentences", () => {
  assert.equal(m.waitPhrase(1), "in 1 second");
  assert.equal(m.waitPhrase(42), "in 42 seconds");
  assert.equal(m.waitPhrase(61), "in about 2 minutes");
  assert.equal(m.waitPhrase(3599), "in about 1 hour");
  assert.equal(m.waitPhrase(7200), "in about 2 hours");
  const e = new m.ApiError(429, "key generation is limited to 3 per hour per IP address", "rate_limited", 2400);
  assert.equal(e.describe(), "Key generation is limited to 3 per hour per IP address. Try again in about 40 minutes.");
  assert.ok(m.isRoomId("5eed0000-0000-4000-8000-0000000000a1"));
  assert.ok(!m.isRoomId("5EED0000-0000-4000-8000-0000000000A1"));
  assert.ok(!m.isRoomId("../etc/passwd"));
});

test("@-completion: the mention being typed before the caret", () => {
  assert.deepEqual(m.mentionQueryAt("hi @ad", 6), { start: 3, query: "ad" });
  assert.deepEqual(m.mentionQueryAt("@", 1), { start: 0, query: "" });
  assert.deepEqual(m.mentionQueryAt("(@claude.code", 13), { start: 1, query: "claude.code" });
  assert.equal(m.mentionQueryAt("mail me@ada", 11), null, "not after a word character");
  assert.equal(m.mentionQueryAt("hi @ad x", 8), null, "the caret left the mention");
  assert.equal(m.mentionQueryAt("no at here", 5), null);
  assert.equal(m.mentionQueryAt("see `@ad", 8), null, "not inside inline code");
  assert.equal(m.mentionQueryAt("```\n@ad", 7), null, "not inside a fence");
  assert.deepEqual(m.mentionQueryAt("```\nx\n```\n@ad", 13), { start: 10, query: "ad" }, "after a closed fence");
  // Caret in the middle of a name: the part before it is the query.
  assert.deepEqual(m.mentionQueryAt("@adams", 3), { start: 0, query: "ad" });
});

test("@-completion: matching handles", () => {
  const c = ["ada", "Adam", "claude", "maddie", "ADA", "ada lovelace", "bob-", "codex"];
  assert.deepEqual(m.matchHandles(c, "ad"), ["ada", "Adam", "maddie"], "prefix first, contains after, deduped, unmentionable dropped");
  assert.deepEqual(m.matchHandles(c, "AD"), ["ada", "Adam", "maddie"], "case-insensitive");
  assert.deepEqual(m.matchHandles(c, ""), ["ada", "Adam", "claude", "maddie", "codex", "all"], "everything, @all last");
  assert.deepEqual(m.matchHandles(c, "a", 8, "ADA"), ["Adam", "claude", "maddie", "all"], "not yourself");
  assert.deepEqual(m.matchHandles(c, "zz"), []);
  assert.equal(m.matchHandles(c, "", 2).length, 2, "limited");
  assert.equal(m.isMentionable("claude.code"), true);
  assert.equal(m.isMentionable("ada lovelace"), false);
  assert.equal(m.isMentionable("trailing."), false);
});

test("@-completion: inserting the handle", () => {
  assert.deepEqual(m.applyCompletion("hi @ad", { start: 3, query: "ad" }, 6, "ada"), { text: "hi @ada ", caret: 8 });
  assert.deepEqual(m.applyCompletion("@cl look", { start: 0, query: "cl" }, 3, "claude"), { text: "@claude look", caret: 8 });
  assert.deepEqual(m.applyCompletion("@clx", { start: 0, query: "cl" }, 3, "claude"), { text: "@claude x", caret: 8 });
});

test("mentions in text, by the server's rule", () => {
  const spans = (t) => m.mentionSpans(t).map((s) => s.name);
  assert.deepEqual(spans("@ada and @claude.code, please"), ["ada", "claude.code"]);
  assert.deepEqual(spans("thanks @bob. and @eve-"), ["bob", "eve"], "trailing . and - dropped");
  assert.deepEqual(spans("mail ada@example.com"), [], "not after a word character");
  assert.deepEqual(spans("(@all)"), ["all"]);
  assert.deepEqual(spans("@ alone"), []);
  const s = m.mentionSpans("hi @ada!")[0];
  assert.deepEqual([s.start, s.end], [3, 7]);
  assert.equal(m.mentionsHandle(["Ada"], "ada"), true);
  assert.equal(m.mentionsHandle(["all"], "ada"), true);
  assert.equal(m.mentionsHandle(["bob"], "ada"), false);
  assert.equal(m.mentionsHandle(undefined, "ada"), false);
  assert.equal(m.mentionsHandle(["ada"], null), false);
});

test("invites: the token travels in the fragment only", () => {
  const token = "mem_abcdefghijklmnopqrstuvwx";
  assert.equal(m.inviteFromHash(`#invite=${token}`), token);
  assert.equal(m.inviteFromHash(`invite=${token}`), token);
  assert.equal(m.inviteFromHash(`#x=1&invite=${token}`), token);
  assert.equal(m.inviteFromHash("#invite=mai_abcdefghijklmnopqrstuvwx"), null, "an owner key is not an invite");
  assert.equal(m.inviteFromHash("#invite=mem_short"), null);
  assert.equal(m.inviteFromHash(""), null);
  assert.equal(m.inviteFromHash("#"), null);
  const room = "11c77f20-0000-4000-8000-000000000001";
  const link = m.inviteLink("https://meet-ai.cc", room, token);
  assert.equal(link, `https://meet-ai.cc/r/${room}#invite=${token}`);
  const url = new URL(link);
  assert.equal(url.pathname, `/r/${room}`);
  assert.equal(url.search, "", "nothing in the query");
  assert.equal(m.inviteFromHash(url.hash), token, "round trip");
  assert.equal(m.agentEnv("https://meet-ai.cc", token), `MEET_AI_URL=https://meet-ai.cc\nMEET_AI_KEY=${token}`);
  assert.equal(
    m.mcpCommand("https://meet-ai.cc", token),
    `claude mcp add --transport http meet-ai https://meet-ai.cc/mcp --header "Authorization: Bearer ${token}"`,
  );
});

test("decisions: only a verified human who did not ask gets the buttons", () => {
  const byAgent = { requester: "claude", requester_verified: true };
  const byOwner = { requester: "claude", requester_verified: false };
  const human = { kind: "member", handle: "ada", role: "human" };
  assert.equal(m.canAnswer({ kind: "owner" }, byAgent), true);
  assert.equal(m.canAnswer(human, byAgent), true);
  assert.equal(m.canAnswer({ kind: "owner" }, byOwner), false, "the owner key asked: only human members");
  assert.equal(m.canAnswer(human, byOwner), true);
  assert.equal(m.canAnswer({ kind: "member", handle: "Claude", role: "agent" }, byAgent), false, "the requester");
  assert.equal(m.canAnswer({ kind: "member", handle: "codex", role: "agent" }, byAgent), false, "another agent");
  assert.equal(m.canAnswer({ kind: "member", handle: "vic", role: "viewer" }, byAgent), false);
  assert.equal(m.canAnswer({ kind: "visitor" }, byAgent), false);
  assert.equal(m.canAnswer({ kind: "member", handle: "CLAUDE", role: "human" }, byAgent), false);
});

test("decisions: countdown, expiry computed from expires_at, final state in words", () => {
  const now = Date.parse("2026-11-29T12:00:00Z");
  assert.equal(m.countdown("2026-11-29T12:04:05Z", now), "4:05 left");
  assert.equal(m.countdown("2026-11-29T13:00:09Z", now), "1:00:09 left");
  assert.equal(m.countdown("2026-11-29T12:00:00Z", now), "");
  const d = {
    kind: "permission", requester: "claude", status: "pending", decided_by: null,
    expires_at: "2026-11-29T12:00:00Z",
  };
  assert.equal(m.effectiveStatus(d, now), "expired");
  assert.equal(m.effectiveStatus({ ...d, expires_at: "2026-11-29T12:00:01Z" }, now), "pending");
  assert.match(m.finalText(d, now), /^Expired/);
  assert.equal(m.finalText({ ...d, status: "allowed", decided_by: "ada" }, now), "Allowed by ada");
  assert.equal(m.finalText({ ...d, status: "denied", decided_by: "owner" }, now), "Denied by the room's owner");
  assert.equal(m.finalText({ ...d, status: "answered", decided_by: "ada" }, now), "Answered by ada");
  assert.equal(m.finalText({ ...d, status: "cancelled" }, now), "Cancelled by claude");
  assert.equal(m.finalText({ ...d, kind: "plan", status: "allowed", decided_by: "ada" }, now), "Plan approved by ada");
});

test("decisions: long values fold with their start and end kept", () => {
  assert.equal(m.fold("npm test"), null);
  const long = "A".repeat(10) + "x".repeat(5000) + "Z".repeat(10);
  const f = m.fold(long);
  assert.ok(f.head.startsWith("AAAAAAAAAA"));
  assert.ok(f.tail.endsWith("ZZZZZZZZZZ"));
  assert.equal(f.head + f.middle + f.tail, long, "nothing is lost");
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n");
  const g = m.fold(lines);
  assert.ok(g.head.startsWith("line 0\n"));
  assert.ok(g.tail.endsWith("line 39"));
  assert.equal(g.head + g.middle + g.tail, lines);
  assert.equal(m.valueText({ a: 1 }), '{\n  "a": 1\n}');
  assert.equal(m.valueText("x"), "x");
});

test("decisions: suggestions in words; answers collected per question", () => {
  assert.equal(
    m.describeSuggestion({ type: "addRules", rules: [{ toolName: "Bash", ruleContent: "npm test:*" }], behavior: "allow", destination: "localSettings" }),
    "Always allow Bash(npm test:*) (this project, local settings)",
  );
  assert.equal(
    m.describeSuggestion({ type: "setMode", mode: "acceptEdits", destination: "session" }),
    "Accept edits without asking for this session",
  );
  const qs = [
    { question: "Which database?", header: "DB", options: [{ label: "Postgres" }, { label: "SQLite" }], multiSelect: false },
    { question: "Which checks?", header: "Checks", options: [{ label: "Lint" }, { label: "Tests" }], multiSelect: true },
  ];
  assert.deepEqual(
    m.collectAnswers(qs, [{ labels: ["SQLite"], other: null }, { labels: ["Lint", "Tests"], other: null }]),
    { answers: { "Which database?": "SQLite", "Which checks?": ["Lint", "Tests"] } },
  );
  assert.deepEqual(
    m.collectAnswers(qs, [{ labels: [], other: " DuckDB " }, { labels: [], other: "Fuzz" }]),
    { answers: { "Which database?": "Other: DuckDB", "Which checks?": ["Other: Fuzz"] } },
  );
  assert.match(m.collectAnswers(qs, [{ labels: [], other: null }, { labels: ["Lint"], other: null }]).error, /DB/);
  assert.match(m.collectAnswers(qs, [{ labels: ["SQLite"], other: "  " }, { labels: ["Lint"], other: null }]).error, /own answer/);
  assert.match(m.collectAnswers(qs, [{ labels: ["SQLite", "Postgres"], other: null }, { labels: ["Lint"], other: null }]).error, /one answer/);
  assert.equal(m.answerText(["Lint", "Tests"]), "Lint, Tests");
});

test("decisions: a decided snapshot replaces pending, never the other way", () => {
  const p = { status: "pending", created_at: "2026-11-29T12:00:00Z" };
  const a = { status: "allowed", created_at: "2026-11-29T12:01:00Z" };
  assert.equal(m.replaces(p, a), true);
  assert.equal(m.replaces(a, p), false, "an older pending snapshot loaded later");
  assert.equal(m.replaces(a, { status: "cancelled", created_at: "2026-11-29T12:02:00Z" }), true);
});

test("a 503 made in front of the Worker is sent again; the Worker's own answers are not", () => {
  const proxy = "Your worker restarted mid-request. Please try sending the request again.";
  assert.equal(m.unhandledWait(503, "0", proxy), 0);
  assert.equal(m.unhandledWait(503, "2", proxy), 2);
  assert.equal(m.unhandledWait(503, "3", proxy), null, "longer waits are the caller's");
  assert.equal(m.unhandledWait(503, null, proxy), null, "no Retry-After, no resend");
  assert.equal(m.unhandledWait(502, "0", proxy), null);
  assert.equal(m.unhandledWait(503, "0", '{"error":"reads are spent","code":"daily_reads_spent"}'), null);
});
