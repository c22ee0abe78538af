// The web UI in headless Chromium (Debian's, driven by playwright-core)
// against a real local server: wrangler dev with fresh state and the demo
// seed. Each test makes its own keys (each from its own client IP), so tests
// do not see each other's rooms. Screenshots go to test-output/, named with
// the variant (`-free`, `-paid`).
//
// MEET_AI_E2E_ENV=paid (`npm run test:browser:paid`) runs the same suite
// against the paid variant, where the page must receive over the WebSocket
// and open no EventSource; the free run must open no WebSocket.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { api, createKey, DEMO_ROOM_ID, devFetch, ROOT, startServer, VARIANT } from "./server.mjs";

const SHOTS = join(ROOT, "test-output");
const PAID = VARIANT === "paid";
/** The cursor before a room's first message. */
const START = "00000000-0000-0000-0000-000000000000";
/** A screenshot's path, with the variant in its name. */
const shot = (name) => join(SHOTS, `${name}-${VARIANT}.png`);
const WAIT = 30_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let server;
let browser;
let base;

before(
  async () => {
    mkdirSync(SHOTS, { recursive: true });
    // Streams end after 4 polls (2-8 s) instead of 40: every test then runs
    // across the server's routine stream ends and EventSource's reconnects.
    server = await startServer({ vars: { SSE_MAX_POLLS: "4" } });
    base = server.base;
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  },
  { timeout: 300_000 },
);

after(async () => {
  await browser?.close();
  await server?.stop();
});

let ipSeq = 0;
/** A client IP of its own for a browser context (keys are limited per IP). */
function freshIp() {
  ipSeq++;
  return `203.0.${113 + (ipSeq >> 8)}.${ipSeq & 255}`;
}

/**
 * A page in a fresh context (own localStorage), dark by default, recording
 * CSP violations (event and console), uncaught errors and WebSockets (with the
 * frames they receive); `done()` asserts there were no violations or errors,
 * and that the page used only its variant's transport: no WebSocket on the
 * free one, no EventSource on the paid one.
 */
async function open({ key = null, viewport = DESKTOP, colorScheme = "dark", ip = freshIp(), mobile = false } = {}) {
  const context = await browser.newContext({
    viewport,
    colorScheme,
    extraHTTPHeaders: { "CF-Connecting-IP": ip },
    ...(mobile ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  await context.addInitScript(() => {
    // Counts event streams made and (re)opened, to show the tests cross
    // reconnects and which transport a page uses.
    window.__streams = 0;
    window.__streamOpens = 0;
    const Native = window.EventSource;
    window.EventSource = class extends Native {
      constructor(...args) {
        super(...args);
        window.__streams++;
        this.addEventListener("open", () => window.__streamOpens++);
      }
    };
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  if (key) {
    await context.addInitScript((k) => {
      if (!sessionStorage.getItem("seeded")) {
        localStorage.setItem("meet-ai-key", k);
        sessionStorage.setItem("seeded", "1");
      }
    }, key);
  }
  const page = await context.newPage();
  const sockets = [];
  page.on("websocket", (ws) => {
    const socket = { url: new URL(ws.url()), received: [], closed: false };
    ws.on("framereceived", (f) => socket.received.push(typeof f.payload === "string" ? JSON.parse(f.payload) : null));
    ws.on("close", () => (socket.closed = true));
    sockets.push(socket);
  });
  const problems = [];
  page.on("console", (m) => {
    if (/content security policy|refused to (load|execute|apply|connect)/i.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  return {
    page,
    context,
    sockets,
    async done() {
      const csp = await page.evaluate(() => window.__csp).catch(() => []);
      const streams = await page.evaluate(() => window.__streams).catch(() => 0);
      await context.close();
      assert.deepEqual([...problems, ...csp], [], "no CSP violations or uncaught errors");
      if (PAID) assert.equal(streams, 0, "the paid variant opens no EventSource");
      else assert.deepEqual(sockets.map((s) => s.url.pathname), [], "the free variant opens no WebSocket");
    },
  };
}

async function text(locator) {
  await locator.first().waitFor({ timeout: WAIT });
  return (await locator.first().innerText()).trim();
}

/** Waits until `fn` (run in the page) returns something truthy; returns it. */
async function until(page, fn, arg, what) {
  try {
    const handle = await page.waitForFunction(fn, arg, { timeout: WAIT, polling: 100 });
    return await handle.jsonValue();
  } catch (e) {
    throw new Error(`timed out waiting for ${what}: ${e.message}`);
  }
}

const messageItems = (page) => page.locator("ol.messages:not(.pending) > li.msg");

/** The page's WebSockets to a room's live route. */
const roomSockets = (sockets, roomId) => sockets.filter((s) => s.url.pathname === `/api/rooms/${roomId}/ws`);

/** Ids of the message frames the sockets received, in order. */
const frameIds = (sockets) =>
  sockets.flatMap((s) => s.received.filter((f) => f?.type === "message").map((f) => f.id));

/** Waits until the room's sockets have received message frames for all `ids` (paid only). */
async function framesArrive(sockets, roomId, ids, what) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const got = new Set(frameIds(roomSockets(sockets, roomId)));
    if (ids.every((id) => got.has(id))) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for WebSocket frames of ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function newRoom(name, { isPublic = false } = {}) {
  const key = await createKey(base);
  const room = await api(base, key, "POST", "/api/rooms", { name });
  if (isPublic) await api(base, key, "PATCH", `/api/rooms/${room.id}`, { public: true });
  return { key, room };
}

function post(key, roomId, content, sender = "claude", sender_type = "agent") {
  return api(base, key, "POST", `/api/rooms/${roomId}/messages`, { sender, sender_type, content });
}

/** Posts through a server that may be reloading: retried with one Idempotency-Key. */
async function postSurely(key, roomId, content) {
  const idem = `test-${Date.now()}-${Math.random()}`;
  const deadline = Date.now() + WAIT;
  for (;;) {
    try {
      const res = await fetch(`${base}/api/rooms/${roomId}/messages`, {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", "Idempotency-Key": idem },
        body: JSON.stringify({ sender: "claude", sender_type: "agent", content }),
      });
      if (res.status === 201 || res.status === 200) return await res.json();
      if (res.status < 500) throw new Error(`POST: ${res.status} ${await res.text()}`);
    } catch (e) {
      if (e.message.startsWith("POST:")) throw e;
    }
    if (Date.now() > deadline) throw new Error("the server did not take the message");
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function highlightedSpans(page, selector) {
  await page.locator(`${selector} code.highlighted`).first().waitFor({ timeout: WAIT });
  return page.evaluate((sel) => {
    const code = document.querySelector(`${sel} code.highlighted`);
    const spans = Array.from(code.querySelectorAll("span.line > span"));
    const colored = spans.filter((s) => s.style.color !== "");
    return { spans: spans.length, colored: colored.length, colors: new Set(colored.map((s) => s.style.color)).size };
  }, selector);
}

describe("meet-ai web UI", () => {
  test("a visitor without a key watches the featured room live, read-only, highlighted", async () => {
    const { page, done } = await open();
    await page.goto(`${base}/`);
    assert.equal(await text(page.locator("h1.room-name")), "webhook-retries");
    await until(page, () => document.querySelectorAll("ol.messages:not(.pending) > li.msg").length === 13, null, "13 demo messages");
    assert.equal(await page.locator("li.msg .badge").count(), 9, "one agent badge per agent message");
    assert.equal(await text(page.locator("li.msg").first().locator(".sender")), "maya");
    assert.equal(await page.locator("textarea").count(), 0, "no composer for a visitor");
    assert.equal(await page.locator(".readonly.visitor").count(), 1);
    const jump = page.getByRole("link", { name: "Jump in →" });
    assert.equal(await jump.getAttribute("href"), "/key?next=%2F");
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live state");
    assert.equal(await text(page.locator(".conn")), "Live");
    assert.equal(await text(page.locator(".visibility")), "Public");
    // Times: relative text, exact time on hover.
    const time = page.locator("li.msg time").last();
    assert.match(await time.innerText(), /^(just now|\d+ min ago)$/);
    assert.ok((await time.getAttribute("title")).length > 10, "exact time in the title");
    // The rust blocks come out highlighted: colored spans in the code.
    const rust = await highlightedSpans(page, ".codeblock:has(code[data-lang='rust'])");
    assert.ok(rust.colored >= 10 && rust.colors >= 3, `rust highlighted: ${JSON.stringify(rust)}`);
    const diff = await highlightedSpans(page, ".codeblock:has(code[data-lang='diff'])");
    assert.ok(diff.colored >= 1, `diff highlighted: ${JSON.stringify(diff)}`);
    // Pinned to the newest message.
    const gap = await page.evaluate(() => {
      const s = document.querySelector(".scroller");
      return s.scrollHeight - s.scrollTop - s.clientHeight;
    });
    assert.ok(gap <= 2, `scrolled to the bottom (gap ${gap})`);
    await page.screenshot({ path: shot("featured-visitor-desktop") });
    await done();
  });

  test("the featured room on a phone, in the light theme too", async () => {
    for (const colorScheme of ["dark", "light"]) {
      const { page, done } = await open({ viewport: PHONE, mobile: true, colorScheme });
      await page.goto(`${base}/`);
      await until(page, () => document.querySelectorAll("li.msg").length === 13, null, "messages");
      await page.locator("code.highlighted").first().waitFor({ timeout: WAIT });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no sideways scrolling on a phone (${overflow}px)`);
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, colorScheme === "dark" ? "rgb(14, 17, 22)" : "rgb(255, 255, 255)");
      await page.screenshot({ path: shot(`featured-visitor-phone-${colorScheme}`) });
      await done();
    }
  });

  test("Jump in leads to /key: one click makes a key, shown once, then back to the chat", async () => {
    const { page, done } = await open();
    await page.goto(`${base}/`);
    await page.getByRole("link", { name: "Jump in →" }).click();
    await page.waitForURL(`${base}/key?next=%2F`, { timeout: WAIT });
    await page.getByRole("button", { name: "Generate my key" }).click();
    const key = await text(page.locator("#the-key"));
    assert.match(key, /^mai_[A-Za-z0-9_-]{24}$/);
    assert.equal(await page.evaluate(() => localStorage.getItem("meet-ai-key")), key);
    assert.ok((await text(page.locator("#env-line"))).startsWith(`MEET_AI_KEY=${key}`));
    const quick = await text(page.locator("pre.snippet"));
    for (const cmd of ["cargo install --path cli", "meet-ai create-room", "meet-ai listen", "meet-ai send-message"]) {
      assert.ok(quick.includes(cmd), `quick start mentions ${cmd}`);
    }
    await page.getByRole("button", { name: "Copy the key" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
    await page.screenshot({ path: shot("key-created"), fullPage: true });

    await page.getByRole("link", { name: "Continue to the chat →" }).click();
    await page.waitForURL(`${base}/`, { timeout: WAIT });
    assert.equal(await text(page.locator(".notice h1")), "Your first room");
    assert.equal(await text(page.locator(".key-chip")), `key ${key.slice(0, 8)}…`);
    assert.equal(await page.locator("nav#sidebar").count(), 1);
    assert.deepEqual(await api(base, key, "GET", "/api/rooms"), [], "the key works and has no rooms");
    await done();
  });

  test("a refused key request (429) is explained", async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++) {
      const res = await devFetch(`${base}/api/keys`, { method: "POST", headers: { "CF-Connecting-IP": ip } });
      assert.equal(res.status, 201);
    }
    const { page, done } = await open({ ip });
    await page.goto(`${base}/key`);
    await page.getByRole("button", { name: "Generate my key" }).click();
    const error = await text(page.locator(".form-error"));
    assert.match(error, /limited to 3 per hour/);
    assert.match(error, /Try again in (about )?\d+ (seconds?|minutes?|hours?)\.$/);
    assert.equal(await page.evaluate(() => localStorage.getItem("meet-ai-key")), null);
    await done();
  });

  test("a key holder creates a room and sends messages (Enter, Shift+Enter, own handle)", async () => {
    const key = await createKey(base);
    const { page, done } = await open({ key });
    await page.goto(`${base}/`);
    await page.locator("#new-room-name").fill("Design review");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    await page.waitForURL(/\/r\/[0-9a-f-]{36}$/, { timeout: WAIT });
    const roomId = page.url().split("/r/")[1];
    assert.equal(await text(page.locator("h1.room-name")), "Design review");
    assert.equal(await page.locator(`nav#sidebar a[data-room="${roomId}"][aria-current="page"]`).count(), 1);
    await until(page, () => document.activeElement?.tagName === "TEXTAREA", null, "the composer focused");

    const handle = await page.evaluate(() => localStorage.getItem("meet-ai-handle"));
    assert.match(handle, /^[a-z]+-[a-z]+-\d{2}$/);
    assert.equal(await text(page.locator(".composer .handle")), handle);

    const box = page.locator(".composer textarea");
    await box.fill("Hello **team**");
    await box.press("Enter");
    const first = messageItems(page).filter({ hasText: "Hello team" });
    await first.waitFor({ timeout: WAIT });
    assert.equal(await text(first.locator(".content strong")), "team");
    assert.equal(await text(first.locator(".sender")), handle);
    assert.equal(await first.locator(".badge").count(), 0, "no agent badge on a human");
    assert.equal(await box.inputValue(), "");

    const before = (await box.boundingBox()).height;
    await box.pressSequentially("line one");
    await box.press("Shift+Enter");
    await box.pressSequentially("line two");
    await box.press("Shift+Enter");
    await box.pressSequentially("line three");
    assert.ok((await box.boundingBox()).height > before, "the composer grows with its text");
    await box.press("Enter");
    await messageItems(page).filter({ hasText: "line three" }).waitFor({ timeout: WAIT });

    await page.locator(".composer .handle").click();
    const input = page.getByRole("textbox", { name: "Your name in this chat" });
    await input.fill("ada");
    await input.press("Enter");
    assert.equal(await text(page.locator(".composer .handle")), "ada");
    assert.equal(await page.evaluate(() => localStorage.getItem("meet-ai-handle")), "ada");
    await box.fill("hi, ada here");
    await box.press("Enter");
    await messageItems(page).filter({ hasText: "hi, ada here" }).waitFor({ timeout: WAIT });

    const stored = await api(base, key, "GET", `/api/rooms/${roomId}/messages`);
    assert.deepEqual(
      stored.map((m) => [m.sender, m.sender_type, m.content]),
      [
        [handle, "human", "Hello **team**"],
        [handle, "human", "line one\nline two\nline three"],
        ["ada", "human", "hi, ada here"],
      ],
    );
    // Shown once each, even though the live stream delivers them too.
    await page.waitForTimeout(2000);
    assert.equal(await messageItems(page).count(), 3);
    await done();
  });

  test("messages from another client arrive live; HTML in them stays inert text; rust is highlighted", async () => {
    const { key, room } = await newRoom("agents at work");
    const { page, sockets, done } = await open({ key });
    const streams = [];
    page.on("request", (r) => {
      const url = new URL(r.url());
      if (url.pathname === `/api/rooms/${room.id}/events`) streams.push(url);
    });
    await page.goto(`${base}/r/${room.id}`);
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live state");
    assert.equal(await messageItems(page).count(), 0);
    // The room is empty: the live connection starts at START, not "from now".
    const [first] = PAID ? roomSockets(sockets, room.id).map((s) => s.url) : streams;
    assert.ok(first, `a live ${PAID ? "WebSocket" : "event stream"} to the room`);
    assert.equal(first.searchParams.get("after"), START);
    // The key never goes in a URL: a single-use stream ticket does.
    assert.equal(first.searchParams.get("token"), null, "no key in the stream URL");
    assert.match(first.searchParams.get("ticket") ?? "", /^tkt_[A-Za-z0-9_-]{24}$/);
    assert.ok(!first.href.includes(key), "the key is nowhere in the stream URL");

    await post(key, room.id, "Reading the failing test now.");
    await messageItems(page).filter({ hasText: "Reading the failing test now." }).waitFor({ timeout: WAIT });
    // Screen readers hear it through the live region.
    await until(page, () => document.querySelector("#announcer[aria-live=polite]")?.textContent.includes("claude (agent): Reading the failing test now."), null, "the announcement");

    const xss =
      'Careful: <img src=x onerror="window.__pwned=1"> and <script>window.__pwned=2</script> ' +
      "and [a link](javascript:window.__pwned=3)";
    await post(key, room.id, xss, "mallory", "human");
    const evil = messageItems(page).filter({ hasText: "mallory" });
    await evil.waitFor({ timeout: WAIT });
    const shown = await text(evil.locator(".content"));
    assert.ok(shown.includes('<img src=x onerror="window.__pwned=1">'), `img shown as text: ${shown}`);
    assert.ok(shown.includes("<script>window.__pwned=2</script>"), `script shown as text: ${shown}`);

    const rust = "Fix:\n\n```rust\nfn main() {\n    let answer: u32 = 42;\n    println!(\"{answer}\");\n}\n```";
    await post(key, room.id, rust);
    await messageItems(page).filter({ hasText: "println!" }).waitFor({ timeout: WAIT });
    const spans = await highlightedSpans(page, "li.msg:last-child .codeblock");
    assert.ok(spans.colored >= 5 && spans.colors >= 3, `rust highlighted: ${JSON.stringify(spans)}`);

    const inert = async () => {
      const state = await page.evaluate(() => ({
        imgs: document.querySelectorAll("main img").length,
        scripts: document.querySelectorAll(".content script").length,
        jsLinks: document.querySelectorAll('.content a[href^="javascript"]').length,
        pwned: window.__pwned ?? null,
      }));
      assert.deepEqual(state, { imgs: 0, scripts: 0, jsLinks: 0, pwned: null });
    };
    await inert();
    await page.screenshot({ path: shot("chat-desktop") });
    const ids = (await api(base, key, "GET", `/api/rooms/${room.id}/messages`)).map((m) => m.id);
    if (PAID) {
      // They came over the socket, each once.
      await framesArrive(sockets, room.id, ids, "the 3 messages");
      assert.deepEqual(frameIds(roomSockets(sockets, room.id)), ids);
    }

    // The same through history (a reload), and nothing shown twice.
    await page.reload();
    await until(page, () => document.querySelectorAll("li.msg").length === 3, null, "3 messages after reload");
    await page.locator("li.msg code.highlighted").waitFor({ timeout: WAIT });
    await inert();
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live after reload");
    await page.waitForTimeout(1500);
    assert.deepEqual(await page.locator("li.msg").evaluateAll((els) => els.map((e) => e.dataset.id)), ids);
    if (PAID) {
      // The new page's socket resumes after the newest message it loaded.
      const reopened = roomSockets(sockets, room.id);
      assert.equal(reopened.length, 2);
      assert.equal(reopened[1].url.searchParams.get("after"), ids[2]);
      assert.deepEqual(frameIds([reopened[1]]), [], "nothing replayed twice");
    }
    await done();
  });

  test("every curated language is highlighted, each grammar loaded on demand", async () => {
    const samples = {
      rust: "fn main() { let x: u8 = 1; }",
      typescript: "const n: number = 1;\nexport type T = { a: string };",
      javascript: "const f = (a) => a + 1; // add",
      python: "def f(x):\n    return x + 1  # add",
      bash: "for f in *.rs; do echo \"$f\"; done",
      json: '{ "a": [1, true, null] }',
      diff: "--- a/x\n+++ b/x\n-old\n+new",
      sql: "SELECT id FROM rooms WHERE public = 1;",
      toml: '[package]\nname = "meet-ai"',
      yaml: "name: ci\non: [push]",
      go: "func main() { fmt.Println(\"hi\") }",
      html: '<a href="/">home</a>',
      css: ".a { color: red; }",
    };
    const content = Object.entries(samples).map(([lang, code]) => "```" + lang + "\n" + code + "\n```").join("\n\n");
    const { key, room } = await newRoom("polyglot");
    await post(key, room.id, content);
    const { page, done } = await open({ key });
    const grammars = [];
    page.on("request", (r) => {
      const m = /\/assets\/chunks\/([a-z]+)-[A-Z0-9]+\.js$/.exec(r.url());
      if (m) grammars.push(m[1]);
    });
    await page.goto(`${base}/r/${room.id}`);
    for (const lang of Object.keys(samples)) {
      const sel = `.codeblock:has(code[data-lang='${lang}'])`;
      const spans = await highlightedSpans(page, sel);
      assert.ok(spans.colored >= 1 && spans.colors >= 2, `${lang} highlighted: ${JSON.stringify(spans)}`);
    }
    for (const lang of ["rust", "python", "go", "sql"]) assert.ok(grammars.includes(lang), `${lang} grammar fetched as its own chunk`);
    assert.ok(!grammars.includes("tsx") && !grammars.includes("jsx"), "grammars nobody used were not fetched");
    await done();
  });

  test("across stream ends and a dropped network, every message arrives once, in order", async () => {
    const { key, room } = await newRoom("flaky wifi");
    const opening = await post(key, room.id, "before the page opened");
    const { page, context, sockets, done } = await open({ key });
    await page.goto(`${base}/r/${room.id}`);
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live state");
    const steady = [];
    for (let i = 1; i <= 8; i++) {
      steady.push((await post(key, room.id, `steady ${i}`)).id);
      await new Promise((r) => setTimeout(r, 1500));
    }
    await messageItems(page).filter({ hasText: "steady 8" }).waitFor({ timeout: WAIT });
    if (PAID) {
      // One socket, opened after the loaded message, carried all eight (the
      // server never ends a socket by itself).
      await framesArrive(sockets, room.id, steady, "the steady messages");
      const [ws, ...more] = roomSockets(sockets, room.id);
      assert.equal(more.length, 0, "one socket so far");
      assert.equal(ws.url.searchParams.get("after"), opening.id);
      assert.deepEqual(frameIds([ws]), steady);
    } else {
      const opens = await page.evaluate(() => window.__streamOpens);
      assert.ok(opens >= 2, `the stream was reopened along the way (${opens} opens)`);
    }

    await context.setOffline(true);
    await until(page, () => document.querySelector(".conn")?.dataset.state === "reconnecting", null, "reconnecting state");
    assert.equal(await text(page.locator(".conn")), "Reconnecting…");
    await post(key, room.id, "sent while you were offline 1");
    await post(key, room.id, "sent while you were offline 2");
    await context.setOffline(false);
    await messageItems(page).filter({ hasText: "sent while you were offline 2" }).waitFor({ timeout: WAIT });
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live again");

    await page.waitForTimeout(1500);
    const shown = await page.locator("li.msg").evaluateAll((els) => els.map((e) => e.dataset.id));
    const stored = (await api(base, key, "GET", `/api/rooms/${room.id}/messages`)).map((m) => m.id);
    assert.equal(stored.length, 11);
    assert.deepEqual(shown, stored, "each message once, in the server's order");
    if (PAID) {
      // Offline dropped the socket; the one that replaced it resumed after
      // the last message received (the two sent while offline came with the
      // REST check before it, or in its replay), and a message sent now
      // arrives on it.
      const all = roomSockets(sockets, room.id);
      assert.ok(all.length >= 2 && all[0].closed, `the first socket was dropped (${all.length} sockets)`);
      const last = all[all.length - 1];
      assert.ok(stored.slice(8).includes(last.url.searchParams.get("after")), `resumed after ${last.url.searchParams.get("after")}`);
      const now = await post(key, room.id, "back online");
      await framesArrive(sockets, room.id, [now.id], "the message sent after reconnecting");
      assert.equal(new Set(frameIds(all)).size, frameIds(all).length, "no message received twice");
    }
    await done();
  });

  test("the server reloads under the page: it reconnects by itself, every message once", async () => {
    const { key, room } = await newRoom("deploy day");
    const opening = await post(key, room.id, "before the reload");
    const { page, sockets, done } = await open({ key });
    await page.goto(`${base}/r/${room.id}`);
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live state");
    const opens = await page.evaluate(() => window.__streamOpens);

    server.reload();
    if (PAID) {
      const deadline = Date.now() + WAIT;
      while (!roomSockets(sockets, room.id)[0]?.closed) {
        assert.ok(Date.now() < deadline, "the reload closed the socket");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // Sent while the page is (probably) still reconnecting: it must come with
    // the new connection's replay. The server may be mid-reload: retry with
    // one Idempotency-Key, so a retry never doubles it.
    const during = await postSurely(key, room.id, "sent during the reload");
    await messageItems(page).filter({ hasText: "sent during the reload" }).waitFor({ timeout: WAIT });
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live again");
    const later = await post(key, room.id, "sent after the reload");
    await messageItems(page).filter({ hasText: "sent after the reload" }).waitFor({ timeout: WAIT });

    await page.waitForTimeout(1500);
    const shown = await page.locator("li.msg").evaluateAll((els) => els.map((e) => e.dataset.id));
    const stored = (await api(base, key, "GET", `/api/rooms/${room.id}/messages`)).map((m) => m.id);
    assert.deepEqual(stored, [opening.id, during.id, later.id]);
    assert.deepEqual(shown, stored, "each message once, in the server's order");
    if (PAID) {
      const [first, ...rest] = roomSockets(sockets, room.id);
      assert.ok(rest.length >= 1, "a new socket");
      assert.deepEqual(frameIds([first]), [], "the first socket saw nothing new");
      // The new socket resumed after the last message the page had (or the
      // REST check caught up first), and brought the rest, each once.
      assert.ok([opening.id, during.id].includes(rest[rest.length - 1].url.searchParams.get("after")));
      const ids = frameIds(rest);
      assert.ok(ids.includes(later.id), "the later message came over the new socket");
      assert.equal(new Set(ids).size, ids.length, "no message received twice");
    } else {
      const reopened = await page.evaluate(() => window.__streamOpens);
      assert.ok(reopened > opens, "the event stream reopened");
    }
    await done();
  });

  test("scrolled up: older history loads without a jump, new messages show a pill", async () => {
    const { key, room } = await newRoom("long thread");
    // 54 agent messages in a row: more than the default loop guard (20) allows.
    await api(base, key, "PATCH", `/api/rooms/${room.id}`, { loop_guard: 0 });
    const total = 54;
    for (let i = 1; i <= total; i++) {
      await post(key, room.id, `Message ${i}\n\nwith a second paragraph so the thread is tall`);
    }
    const { page, done } = await open({ key });
    await page.goto(`${base}/r/${room.id}`);
    await until(page, () => document.querySelectorAll("li.msg").length === 50, null, "the first page of 50");
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live state");
    assert.equal(await text(messageItems(page).last().locator(".content p").first()), `Message ${total}`);

    const anchor = await page.evaluate(() => {
      const s = document.querySelector(".scroller");
      s.scrollTop = 0;
      const first = document.querySelector("li.msg");
      return { id: first.dataset.id, top: first.getBoundingClientRect().top };
    });
    await until(page, () => document.querySelectorAll("li.msg").length === 54, null, "older messages loaded");
    await until(page, () => document.querySelector("ol.messages.at-start") !== null, null, "start of the room");
    assert.equal(await text(messageItems(page).first().locator(".content p").first()), "Message 1");
    const topAfter = await page.evaluate((id) => document.querySelector(`li[data-id="${id}"]`).getBoundingClientRect().top, anchor.id);
    assert.ok(Math.abs(topAfter - anchor.top) <= 2, `the view held still (${anchor.top} -> ${topAfter})`);

    await post(key, room.id, "New one A");
    await post(key, room.id, "New one B");
    const pill = page.locator(".new-pill");
    await until(page, () => document.querySelector(".new-pill")?.textContent === "2 new messages ↓", null, "the pill");
    assert.ok(await pill.isVisible());
    const topWithPill = await page.evaluate((id) => document.querySelector(`li[data-id="${id}"]`).getBoundingClientRect().top, anchor.id);
    assert.ok(Math.abs(topWithPill - anchor.top) <= 2, "new messages did not move the view");

    await pill.click();
    assert.equal(await pill.isVisible(), false);
    const gap = await page.evaluate(() => {
      const s = document.querySelector(".scroller");
      return s.scrollHeight - s.scrollTop - s.clientHeight;
    });
    assert.ok(gap <= 2, `at the bottom after the pill (gap ${gap})`);
    assert.ok(await messageItems(page).filter({ hasText: "New one B" }).isVisible());

    // At the bottom, a new message keeps the view pinned and shows no pill.
    await post(key, room.id, "New one C");
    await messageItems(page).filter({ hasText: "New one C" }).waitFor({ timeout: WAIT });
    await until(page, () => {
      const s = document.querySelector(".scroller");
      return s.scrollHeight - s.scrollTop - s.clientHeight <= 2;
    }, null, "still pinned");
    assert.equal(await pill.isVisible(), false);
    await done();
  });

  test("the owner makes a room public; /r/<id> then reads without a key, live; private again hides it", async () => {
    const { key, room } = await newRoom("open house");
    await post(key, room.id, "Welcome, readers.");
    const owner = await open({ key });
    await owner.page.goto(`${base}/r/${room.id}`);
    const sw = owner.page.getByRole("switch", { name: "Public" });
    assert.equal(await sw.getAttribute("aria-checked"), "false");
    await sw.click();
    await until(owner.page, () => document.querySelector("[role=switch]")?.getAttribute("aria-checked") === "true", null, "switch on");
    assert.equal((await api(base, key, "GET", `/api/rooms/${room.id}`)).public, true);

    await owner.page.getByRole("button", { name: "Copy link" }).click();
    assert.equal(await owner.page.evaluate(() => navigator.clipboard.readText()), `${base}/r/${room.id}`);

    const visitor = await open();
    await visitor.page.goto(`${base}/r/${room.id}`);
    assert.equal(await text(visitor.page.locator("h1.room-name")), "open house");
    await messageItems(visitor.page).filter({ hasText: "Welcome, readers." }).waitFor({ timeout: WAIT });
    assert.equal(await visitor.page.locator("textarea").count(), 0, "read-only without the key");
    assert.equal(
      await visitor.page.getByRole("link", { name: "Jump in →" }).getAttribute("href"),
      `/key?next=${encodeURIComponent(`/r/${room.id}`)}`,
    );
    await until(visitor.page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live state");
    const live = await post(key, room.id, "Live for visitors too.");
    await messageItems(visitor.page).filter({ hasText: "Live for visitors too." }).waitFor({ timeout: WAIT });
    if (PAID) {
      // Over a socket of the visitor's own, without a key.
      await framesArrive(visitor.sockets, room.id, [live.id], "the live message");
      const [ws] = roomSockets(visitor.sockets, room.id);
      assert.equal(ws.url.searchParams.get("token"), null, "no key in the visitor's socket");
      assert.equal(ws.url.searchParams.get("after"), (await api(base, key, "GET", `/api/rooms/${room.id}/messages`))[0].id);
    }

    await sw.click();
    await until(owner.page, () => document.querySelector("[role=switch]")?.getAttribute("aria-checked") === "false", null, "switch off");
    // The open page loses the room at the next message, which it never shows.
    await post(key, room.id, "For the owner's eyes only.");
    await until(visitor.page, () => document.querySelector(".conn")?.dataset.state === "failed", null, "the visitor disconnected");
    assert.equal(await text(visitor.page.locator(".room-status")), "This room is private now, or it no longer exists.");
    assert.equal(await messageItems(visitor.page).filter({ hasText: "owner's eyes" }).count(), 0);
    if (PAID) assert.ok(roomSockets(visitor.sockets, room.id)[0].closed, "the server closed the visitor's socket");
    await visitor.page.reload();
    assert.equal(await text(visitor.page.locator(".notice h1")), "Room not found");
    await owner.done();
    await visitor.done();
  });

  test("a returning visitor on /key sees only the prefix and can revoke the key", async () => {
    const key = await createKey(base);
    const { page, done } = await open({ key });
    await page.goto(`${base}/key`);
    assert.equal(await text(page.locator("h1")), "You have a key");
    assert.equal(await text(page.locator("code.prefix")), `${key.slice(0, 8)}…`);
    assert.equal(await page.evaluate((k) => document.body.innerText.includes(k), key), false, "the full key is not shown");
    const revoke = page.getByRole("button", { name: "Revoke this key" });
    await revoke.click();
    await page.getByRole("button", { name: /Really revoke/ }).click();
    await page.getByRole("button", { name: "Generate my key" }).waitFor({ timeout: WAIT });
    assert.match(await text(page.locator(".ok")), /revoked/);
    assert.equal(await page.evaluate(() => localStorage.getItem("meet-ai-key")), null);
    await api(base, key, "GET", "/api/rooms", undefined, [401]);
    await done();
  });

  test("phone width: the rooms drawer opens and closes from the keyboard; the composer fits", async () => {
    const { key, room } = await newRoom("pocket");
    await post(key, room.id, "Short message for a small screen.\n\n```bash\ncargo test --workspace -- --test-threads 4\n```");
    const { page, done } = await open({ key, viewport: PHONE, mobile: true });
    await page.goto(`${base}/r/${room.id}`);
    await page.locator("li.msg code.highlighted").waitFor({ timeout: WAIT });
    const menu = page.getByRole("button", { name: "Rooms" });
    assert.ok(await menu.isVisible());
    assert.equal(await page.locator("nav#sidebar").isVisible(), false, "drawer closed");
    assert.ok(await page.locator(".composer textarea").isVisible());
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px)`);
    await page.screenshot({ path: shot("chat-phone") });
    await menu.click();
    assert.equal(await menu.getAttribute("aria-expanded"), "true");
    await until(page, () => getComputedStyle(document.querySelector("#sidebar")).visibility === "visible", null, "drawer open");
    assert.ok(await page.locator(`#sidebar a[data-room="${room.id}"]`).isVisible());
    await page.screenshot({ path: shot("chat-phone-drawer") });
    await page.keyboard.press("Escape");
    assert.equal(await menu.getAttribute("aria-expanded"), "false");
    await until(page, () => document.activeElement?.classList.contains("menu-btn"), null, "focus back on the menu button");
    await done();
  });

  test("pages carry the CSP, link-preview tags and a PNG image", async () => {
    for (const path of ["/", "/key", `/r/${DEMO_ROOM_ID}`]) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200);
      // The pages run under the strict CSP (so "no violations" above means something).
      assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self';/);
      const html = await res.text();
      for (const tag of ['property="og:title"', 'property="og:image"', 'name="twitter:card" content="summary_large_image"', 'name="twitter:image"']) {
        assert.ok(html.includes(tag), `${path} has ${tag}`);
      }
    }
    const png = await fetch(`${base}/og.png`);
    assert.equal(png.status, 200);
    assert.equal(png.headers.get("content-type"), "image/png");
    const buf = Buffer.from(await png.arrayBuffer());
    assert.equal(buf.subarray(1, 4).toString(), "PNG");
    assert.deepEqual([buf.readUInt32BE(16), buf.readUInt32BE(20)], [1200, 630]);
  });
});

/** Adds a member through the API; returns the created member (with its token). */
function addMember(key, roomId, handle, role = "human") {
  return api(base, key, "POST", `/api/rooms/${roomId}/members`, { handle, role });
}

const inviteUrl = (roomId, token) => `${base}/r/${roomId}#invite=${token}`;
const VERIFIED = '.verified[title="verified by the server"]';

describe("members and mentions (issues 12, 13)", () => {
  test("the owner invites a person from the members panel; both chat; the member's messages are verified", async () => {
    const { key, room } = await newRoom("pairing");
    const owner = await open({ key });
    await owner.page.goto(`${base}/r/${room.id}`);
    await owner.page.getByRole("button", { name: "Members" }).click();
    assert.equal(await text(owner.page.locator(".member-list")), "No members yet.");

    // An agent: what to paste, the .env lines and the MCP command.
    await owner.page.locator("#member-handle").fill("claude");
    await owner.page.locator("#member-role").selectOption("agent");
    await owner.page.getByRole("button", { name: "Add member" }).click();
    const env = await text(owner.page.locator(".agent-env code"));
    assert.match(env, new RegExp(`^MEET_AI_URL=${base.replace(/[.]/g, "\\.")}\\nMEET_AI_KEY=mem_[A-Za-z0-9_-]{24}$`));
    const agentToken = env.split("MEET_AI_KEY=")[1];
    assert.equal(
      await text(owner.page.locator(".agent-mcp code")),
      `claude mcp add --transport http meet-ai ${base}/mcp --header "Authorization: Bearer ${agentToken}"`,
    );
    assert.equal((await api(base, agentToken, "GET", "/api/whoami")).handle, "claude", "the shown token works");

    // A person: an invite link with the token in the fragment only.
    await owner.page.locator("#member-handle").fill("ada");
    await owner.page.locator("#member-role").selectOption("human");
    await owner.page.getByRole("button", { name: "Add member" }).click();
    const link = await text(owner.page.locator(".invite-link code"));
    const url = new URL(link);
    assert.equal(url.origin + url.pathname, `${base}/r/${room.id}`);
    assert.equal(url.search, "", "no token in the query");
    assert.match(url.hash, /^#invite=mem_[A-Za-z0-9_-]{24}$/);
    const adaToken = url.hash.slice("#invite=".length);
    await until(owner.page, () => document.querySelectorAll(".member-list li.member").length === 2, null, "two members listed");
    const rows = await owner.page.locator(".member-list li.member").allInnerTexts();
    assert.match(rows[0], /claude[\s\S]*agent[\s\S]*seen just now/, "its token was just used");
    assert.match(rows[1], /ada[\s\S]*human[\s\S]*never seen/);
    await owner.page.screenshot({ path: shot("members-panel") });

    // The person opens the link in a browser of their own.
    const ada = await open();
    await ada.page.goto(link);
    assert.equal(await text(ada.page.locator("h1.room-name")), "pairing");
    assert.equal(ada.page.url(), `${base}/r/${room.id}`, "the fragment is gone from the address");
    assert.deepEqual(
      await ada.page.evaluate(() => JSON.parse(localStorage.getItem("meet-ai-members"))),
      { [room.id]: adaToken },
      "the token is kept for its room",
    );
    assert.equal(await text(ada.page.locator(".composer .handle.fixed")), "ada");
    assert.equal(await ada.page.locator(".composer button.handle").count(), 0, "the handle cannot be changed");
    assert.equal(await ada.page.locator(`nav#sidebar .invited-list a[data-room="${room.id}"]`).count(), 1);
    await until(ada.page, () => document.querySelector(".conn")?.dataset.state === "live", null, "ada live");

    const box = ada.page.locator(".composer textarea");
    await box.fill("Hi, ada here.");
    await box.press("Enter");
    const mine = messageItems(ada.page).filter({ hasText: "Hi, ada here." });
    await mine.waitFor({ timeout: WAIT });
    assert.equal(await text(mine.locator(".sender")), "ada");
    assert.equal(await mine.locator(VERIFIED).count(), 1, "verified in ada's view");
    const theirs = messageItems(owner.page).filter({ hasText: "Hi, ada here." });
    await theirs.waitFor({ timeout: WAIT });
    assert.equal(await theirs.locator(VERIFIED).count(), 1, "verified in the owner's view");
    assert.equal(await theirs.locator(VERIFIED).getAttribute("aria-label"), "verified by the server");
    const stored = (await api(base, key, "GET", `/api/rooms/${room.id}/messages`)).find((m) => m.content === "Hi, ada here.");
    assert.equal(stored.verified, true);
    assert.equal(stored.sender, "ada");

    // The owner answers; ada sees it live, and it is not verified.
    const ownerBox = owner.page.locator(".composer textarea");
    await ownerBox.fill("Welcome aboard.");
    await ownerBox.press("Enter");
    const welcome = messageItems(ada.page).filter({ hasText: "Welcome aboard." });
    await welcome.waitFor({ timeout: WAIT });
    assert.equal(await welcome.locator(VERIFIED).count(), 0, "an owner-key message is not verified");
    await ada.page.screenshot({ path: shot("invited-member") });

    // A reload keeps the membership; the last-seen time now shows for the owner.
    await ada.page.reload();
    await messageItems(ada.page).filter({ hasText: "Welcome aboard." }).waitFor({ timeout: WAIT });
    assert.equal(await text(ada.page.locator(".composer .handle.fixed")), "ada");
    await owner.page.getByRole("button", { name: "Close members" }).click();
    await owner.page.getByRole("button", { name: "Members" }).click();
    await until(
      owner.page,
      () => /ada[\s\S]*seen (just now|\d+ min ago)/.test(document.querySelector(".member-list")?.innerText ?? ""),
      null,
      "ada's last-seen time",
    );

    // A new token for the agent: fresh .env lines, the old token dead.
    await owner.page.getByRole("button", { name: "New token for claude" }).click();
    await owner.page.getByRole("button", { name: "Sure? claude's old token stops working" }).click();
    await until(owner.page, (old) => {
      const env = document.querySelector(".agent-env code")?.textContent ?? "";
      return /MEET_AI_KEY=mem_/.test(env) && !env.includes(old);
    }, agentToken, "the new token shown");
    const renewed = (await text(owner.page.locator(".agent-env code"))).split("MEET_AI_KEY=")[1];
    assert.equal((await api(base, renewed, "GET", "/api/whoami")).handle, "claude");
    await api(base, agentToken, "GET", "/api/whoami", undefined, [401]);

    // Removing ada kills the token: her next visit forgets the room.
    await owner.page.getByRole("button", { name: "Remove ada" }).click();
    await owner.page.getByRole("button", { name: "Remove ada?" }).click();
    await until(owner.page, () => document.querySelectorAll(".member-list li.member").length === 1, null, "one member left");
    await api(base, adaToken, "GET", `/api/rooms/${room.id}`, undefined, [401]);
    // Her open page loses the room at the stream's next poll (the socket closes at once) and says why.
    await until(ada.page, () => /no longer a member of this room/.test(document.querySelector(".room-status")?.textContent ?? ""), null, "ada told she was removed");
    assert.equal(await ada.page.locator(".composer textarea").isDisabled(), true);
    assert.equal(await ada.page.evaluate(() => localStorage.getItem("meet-ai-members")), null, "the dead token forgotten");
    await ada.page.reload();
    await until(ada.page, () => localStorage.getItem("meet-ai-members") === null, null, "the dead token forgotten");
    await owner.done();
    await ada.done();
  });

  test("a viewer's invite opens the room read-only", async () => {
    const { key, room } = await newRoom("gallery");
    await post(key, room.id, "Look but don't touch.");
    const viewer = await addMember(key, room.id, "vera", "viewer");
    const { page, done } = await open();
    await page.goto(inviteUrl(room.id, viewer.token));
    await messageItems(page).filter({ hasText: "Look but don't touch." }).waitFor({ timeout: WAIT });
    assert.equal(await page.locator("textarea").count(), 0, "no composer for a viewer");
    assert.match(await text(page.locator(".readonly.viewer")), /viewer/);
    await done();
  });

  test("typing @ offers the room's members and recent senders; keyboard and mouse insert the handle", async () => {
    const { key, room } = await newRoom("completion");
    await addMember(key, room.id, "ada", "human");
    await addMember(key, room.id, "adrian", "agent");
    await post(key, room.id, "Build is green.", "codex", "agent");
    const { page, done } = await open({ key });
    await page.goto(`${base}/r/${room.id}`);
    await messageItems(page).filter({ hasText: "Build is green." }).waitFor({ timeout: WAIT });
    const box = page.locator(".composer textarea");
    await box.click();
    await box.pressSequentially("hey @ad");
    const options = page.locator(".mention-list [role=option]");
    await until(page, () => document.querySelectorAll(".mention-list [role=option]").length === 2, null, "two options");
    assert.deepEqual(await options.allInnerTexts(), ["@ada", "@adrian"]);
    assert.equal(await box.getAttribute("aria-expanded"), "true");
    await box.press("ArrowDown");
    assert.equal(await page.locator(".mention-list [aria-selected=true]").innerText(), "@adrian");
    await box.press("Enter");
    assert.equal(await box.inputValue(), "hey @adrian ", "Enter inserted the handle and did not send");
    assert.equal(await page.locator(".mention-list").isHidden(), true);

    // A recent sender (not a member), by mouse.
    await box.pressSequentially("and @co");
    await page.locator(".mention-list [role=option]", { hasText: "codex" }).click();
    assert.equal(await box.inputValue(), "hey @adrian and @codex ");
    // Escape closes without inserting; Tab inserts.
    await box.pressSequentially("@a");
    await page.locator(".mention-list").waitFor({ timeout: WAIT });
    await box.press("Escape");
    assert.equal(await page.locator(".mention-list").isHidden(), true);
    await box.pressSequentially("d");
    await page.locator(".mention-list").waitFor({ timeout: WAIT });
    await box.press("Tab");
    assert.equal(await box.inputValue(), "hey @adrian and @codex @ada ");
    await page.screenshot({ path: shot("mention-completion") });
    await box.press("Enter");
    const sent = messageItems(page).filter({ hasText: "hey @adrian and @codex @ada" });
    await sent.waitFor({ timeout: WAIT });
    const stored = (await api(base, key, "GET", `/api/rooms/${room.id}/messages`)).at(-1);
    assert.deepEqual([...stored.mentions].sort(), ["ada", "adrian", "codex"]);
    assert.equal(await sent.locator("mark.mention").count(), 3, "the mentions are marked");
    await done();
  });

  test("a mention of the member's own handle is highlighted in the member's view", async () => {
    const { key, room } = await newRoom("review");
    const ada = await addMember(key, room.id, "ada", "human");
    await addMember(key, room.id, "bob", "human");
    const { page, done } = await open();
    await page.goto(inviteUrl(room.id, ada.token));
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live");
    await post(key, room.id, "@bob this one is yours", "maya", "human");
    await post(key, room.id, "@ada could you review `@ada` #12?", "maya", "human");
    const forBob = messageItems(page).filter({ hasText: "this one is yours" });
    const forAda = messageItems(page).filter({ hasText: "could you review" });
    await forAda.waitFor({ timeout: WAIT });
    assert.equal(await forAda.evaluate((li) => li.classList.contains("mentions-me")), true, "the message is highlighted");
    assert.deepEqual(await forAda.locator("mark.mention.me").allInnerTexts(), ["@ada"], "the @ada text, not the one in code");
    assert.equal(await forBob.evaluate((li) => li.classList.contains("mentions-me")), false, "someone else's mention is not");
    assert.equal(await forBob.locator("mark.mention:not(.me)").count(), 1);
    await page.screenshot({ path: shot("mention-highlight") });
    await done();
  });

  test("an owner key and two invites in one browser; a mention in a room not open shows an unread count", async () => {
    // This browser owns a room of its own...
    const own = await newRoom("my own room");
    // ...and is invited (as ada) to two rooms of someone else.
    const { key, room: roomA } = await newRoom("team-a");
    const roomB = await api(base, key, "POST", "/api/rooms", { name: "team-b" });
    const adaA = await addMember(key, roomA.id, "ada", "human");
    const adaB = await addMember(key, roomB.id, "ada", "human");
    const { page, done } = await open({ key: own.key });
    await page.goto(inviteUrl(roomB.id, adaB.token));
    await text(page.locator("h1.room-name"));
    await page.goto(inviteUrl(roomA.id, adaA.token));
    assert.equal(await text(page.locator("h1.room-name")), "team-a");
    const sidebar = page.locator("nav#sidebar");
    assert.equal(await sidebar.locator(`a[data-room="${own.room.id}"]`).count(), 1, "own room listed");
    assert.equal(await sidebar.locator(`.invited-list a[data-room="${roomA.id}"]`).count(), 1);
    assert.equal(await sidebar.locator(`.invited-list a[data-room="${roomB.id}"]`).count(), 1);

    // Each room with its own credential: ada's message in team-a is verified.
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live");
    const box = page.locator(".composer textarea");
    await box.fill("ada in team-a");
    await box.press("Enter");
    await messageItems(page).filter({ hasText: "ada in team-a" }).locator(VERIFIED).waitFor({ timeout: WAIT });

    // A mention in team-b (not open) raises its count.
    const badgeB = sidebar.locator(`a[data-room="${roomB.id}"] .unread`);
    assert.equal(await badgeB.isHidden(), true, "nothing unread yet");
    await post(key, roomB.id, "@ada the build broke", "maya", "human");
    await post(key, roomB.id, "never mind", "maya", "human");
    // Counts refresh when the page gets focus back (and when messages arrive in the open room).
    await page.evaluate(() => window.dispatchEvent(new Event("focus")));
    await until(page, (id) => document.querySelector(`a[data-room="${id}"] .unread:not([hidden])`)?.textContent, roomB.id, "team-b's count");
    assert.equal(await text(badgeB), "@ 2");
    assert.equal(await badgeB.getAttribute("aria-label"), "2 unread, mentions you");
    assert.equal(await badgeB.evaluate((el) => el.classList.contains("mentioned")), true);
    await page.screenshot({ path: shot("unread-counts") });

    // Opening team-b reads it: the badge goes and the server's cursor moves.
    await sidebar.locator(`a[data-room="${roomB.id}"]`).click();
    await messageItems(page).filter({ hasText: "never mind" }).waitFor({ timeout: WAIT });
    assert.ok(await messageItems(page).filter({ hasText: "the build broke" }).evaluate((li) => li.classList.contains("mentions-me")));
    const deadline = Date.now() + WAIT;
    let inbox;
    for (;;) {
      inbox = await api(base, adaB.token, "GET", `/api/rooms/${roomB.id}/inbox`);
      if (inbox.unread === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(inbox.unread, 0, "the read cursor moved through the newest message");
    // Own rooms still open with the owner key.
    await sidebar.locator(`a[data-room="${own.room.id}"]`).click();
    await until(page, () => document.querySelector("h1.room-name")?.textContent === "my own room", null, "own room");
    assert.equal(await page.getByRole("switch", { name: "Public" }).count(), 1, "the owner's controls");
    await done();
  });

  test("a tripped loop guard shows as a notice; Carry on lets the agents go on", async () => {
    const { key, room } = await newRoom("loop");
    await api(base, key, "PATCH", `/api/rooms/${room.id}`, { loop_guard: 2 });
    const { page, done } = await open({ key });
    await page.goto(`${base}/r/${room.id}`);
    await until(page, () => document.querySelector(".conn")?.dataset.state === "live", null, "live");
    await post(key, room.id, "agent one");
    await post(key, room.id, "agent two");
    await api(base, key, "POST", `/api/rooms/${room.id}/messages`, { sender: "claude", sender_type: "agent", content: "agent three" }, [429]);
    const notice = page.locator("li.notice-msg");
    await notice.waitFor({ timeout: WAIT });
    assert.equal(await notice.locator(".avatar").count(), 0, "not rendered as someone's message");
    const carry = notice.getByRole("button", { name: "Carry on" });
    await carry.waitFor({ timeout: WAIT });
    await page.screenshot({ path: shot("loop-guard") });
    // The owner may raise the limit from the notice (it doubles)...
    await notice.getByRole("button", { name: "Raise the limit" }).click();
    await until(page, () => /4 messages in a row/.test(document.getElementById("toast")?.textContent ?? ""), null, "the toast");
    assert.equal((await api(base, key, "GET", `/api/rooms/${room.id}`)).loop_guard, 4);
    // ...or let them go on with a human message.
    await carry.click();
    await messageItems(page).filter({ hasText: "Carry on." }).waitFor({ timeout: WAIT });
    assert.equal(await carry.isVisible(), false, "the actions go once the notice is not the newest");
    await post(key, room.id, "agent three, again");
    await messageItems(page).filter({ hasText: "agent three, again" }).waitFor({ timeout: WAIT });
    await done();
  });
});

describe("without a featured room", () => {
  let other;
  before(async () => {
    // A room id that exists nowhere: /api/featured answers 404.
    other = await startServer({ vars: { FEATURED_ROOM_ID: "00000000-0000-4000-8000-000000000000" } });
  }, { timeout: 300_000 });
  after(async () => {
    await other?.stop();
  });

  test("a visitor gets a friendly landing that leads to /key", async () => {
    const res = await fetch(`${other.base}/api/featured`);
    assert.equal(res.status, 404);
    const context = await browser.newContext({ viewport: DESKTOP, colorScheme: "dark" });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => /content security policy/i.test(m.text()) && errors.push(m.text()));
    await page.goto(`${other.base}/`);
    assert.equal(await text(page.locator(".landing h1")), "Where you and your coding agents talk.");
    await page.screenshot({ path: shot("landing") });
    await page.getByRole("link", { name: "Get a key →" }).click();
    await page.waitForURL(`${other.base}/key`, { timeout: WAIT });
    assert.equal(await text(page.locator("h1")), "Get your API key");
    await context.close();
    assert.deepEqual(errors, []);
  });
});
