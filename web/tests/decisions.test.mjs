// Decisions end to end (issue 17): a real `meet-ai hook decide` process, fed
// a real Claude Code PermissionRequest (cli/tests/fixtures/hooks/*.json),
// waits while a person answers on the card in headless Chromium; the process
// then prints exactly what Claude Code expects. Against wrangler dev with
// fresh state (the free variant, or the paid one with MEET_AI_E2E_ENV=paid).
// Builds the CLI (target/debug/meet-ai) first if needed.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { api, createKey, devFetch, ROOT, startServer, VARIANT } from "./server.mjs";

const WAIT = 30_000;
const SHOTS = join(ROOT, "test-output");
const BIN = process.env.MEET_AI_BIN ?? join(ROOT, "target/debug/meet-ai");
const fixture = (name) => JSON.parse(readFileSync(join(ROOT, `cli/tests/fixtures/hooks/${name}.json`), "utf8"));

let server;
let browser;
let base;

before(
  async () => {
    mkdirSync(SHOTS, { recursive: true });
    if (!process.env.MEET_AI_BIN) {
      const built = spawnSync("cargo", ["build", "-p", "meet-ai", "--quiet"], { cwd: ROOT, stdio: "inherit" });
      assert.equal(built.status, 0, "cargo build -p meet-ai");
    }
    server = await startServer();
    base = server.base;
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
    });
  },
  { timeout: 600_000 },
);

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A room with an agent (`claude`) and a human (`ada`): their tokens. */
async function roomWithAgentAndHuman() {
  const key = await createKey(base);
  const room = await api(base, key, "POST", "/api/rooms", { name: "decisions" });
  const agent = await api(base, key, "POST", `/api/rooms/${room.id}/members`, { handle: "claude", role: "agent" });
  const human = await api(base, key, "POST", `/api/rooms/${room.id}/members`, { handle: "ada", role: "human" });
  return { key, room, agent: agent.token, human: human.token };
}

let supported;
/** Whether this server has the decisions API (a body it refuses, not a route it lacks). */
async function hasDecisions(roomId, token) {
  if (supported === undefined) {
    const res = await devFetch(`${base}/api/rooms/${roomId}/decisions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: "{}",
    });
    supported = res.status !== 404 && res.status !== 405;
  }
  return supported;
}

/** `meet-ai hook decide` with the hook input on stdin; resolves when it exits. */
function decide(roomId, token, input, args = []) {
  const child = spawn(BIN, ["hook", "decide", ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, MEET_AI_URL: base, MEET_AI_KEY: token, MEET_AI_ROOM: roomId },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  child.stdin.end(JSON.stringify(input));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return exited.finally(() => clearTimeout(timer));
}

/**
 * The room page as a member (via the invite link) or, with `owner`, as the
 * owner key; `deaf` cuts its live updates (event stream and WebSocket), so
 * it still shows a card others have answered. Records CSP violations and errors.
 */
async function openAs(roomId, token, { owner = false, deaf = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "dark" });
  if (owner) await context.addInitScript((k) => localStorage.setItem("meet-ai-key", k), token);
  const page = await context.newPage();
  if (deaf) {
    await page.route(/\/api\/rooms\/[^/]+\/events/, (route) => route.abort());
    await page.routeWebSocket(/\/ws/, () => {});
  }
  const problems = [];
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  page.on("console", (m) => {
    if (/content security policy|refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(owner ? `${base}/r/${roomId}` : `${base}/r/${roomId}#invite=${token}`);
  return {
    page,
    async done() {
      await context.close();
      assert.deepEqual(problems, [], "no CSP violations or uncaught errors");
    },
  };
}

const card = (page) => page.locator("li.decision-msg .decision");

test("a person clicks Allow; the hook prints the allow with the input echoed", { timeout: 180_000 }, async (t) => {
  const fx = fixture("bash");
  const { room, agent, human } = await roomWithAgentAndHuman();
  if (!(await hasDecisions(room.id, agent))) return t.skip("this server has no decisions API");
  const { page, done } = await openAs(room.id, human);
  const hook = decide(room.id, agent, fx.input);
  await page.locator("li.decision-msg .decision[data-status=pending]").waitFor({ timeout: WAIT });
  assert.equal(await card(page).count(), 1);
  const text = await card(page).innerText();
  assert.match(text, /claude/);
  assert.match(text, /Bash/);
  assert.match(text, /npm test -- --run src\/cart\.test\.ts/, "the whole input is shown");
  assert.match(text, /left/, "a countdown");
  assert.match(text, /Always allow Bash\(npm test:\*\)/, "the suggestion is offered");
  await page.screenshot({ path: join(SHOTS, `decision-permission-${VARIANT}.png`) });
  await page.locator("[data-action=allow]").click();
  const run = await hook;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.split("\n").filter(Boolean).length, 1, run.stdout);
  assert.deepEqual(JSON.parse(run.stdout), fx.cases[0].output);
  await page.locator(".decision[data-status=allowed]").waitFor({ timeout: WAIT });
  assert.match(await card(page).innerText(), /Allowed by ada/);
  assert.equal(await card(page).count(), 1, "the later snapshot redrew the card, no second card");
  assert.equal(await page.locator("[data-action=allow]").count(), 0);
  await done();
});

test("a person answers two questions; the hook prints the answers", { timeout: 180_000 }, async (t) => {
  const fx = fixture("ask-user-question");
  const { room, agent, human } = await roomWithAgentAndHuman();
  if (!(await hasDecisions(room.id, agent))) return t.skip("this server has no decisions API");
  const { page, done } = await openAs(room.id, human);
  const hook = decide(room.id, agent, fx.input);
  await page.locator(".decision[data-status=pending] fieldset.decision-question").first().waitFor({ timeout: WAIT });
  const [first, second] = [page.locator("fieldset.decision-question").nth(0), page.locator("fieldset.decision-question").nth(1)];
  assert.equal(await first.locator("input[type=radio]").count(), 3, "two options and Other");
  assert.equal(await second.locator("input[type=checkbox]").count(), 4, "three options and Other");
  await first.getByLabel("SQLite").check();
  await second.getByLabel("Lint").check();
  await second.getByLabel("Type check").check();
  await page.screenshot({ path: join(SHOTS, `decision-question-${VARIANT}.png`) });
  await page.locator("[data-action=submit-answers]").click();
  const run = await hook;
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), fx.cases[0].output);
  await page.locator(".decision[data-status=answered]").waitFor({ timeout: WAIT });
  assert.match(await card(page).innerText(), /Answered by ada/);
  await done();
});

test("nobody answers: the hook prints nothing, exits 0, and the card says expired", { timeout: 180_000 }, async (t) => {
  const fx = fixture("exit-plan-mode");
  const { room, agent, human } = await roomWithAgentAndHuman();
  if (!(await hasDecisions(room.id, agent))) return t.skip("this server has no decisions API");
  const { page, done } = await openAs(room.id, human);
  const started = Date.now();
  const hook = decide(room.id, agent, fx.input, ["--expires-in", "3"]);
  await card(page).waitFor({ timeout: WAIT });
  assert.match(await card(page).innerText(), /Fix the cart total/, "the plan as markdown");
  assert.equal(await page.locator(".decision-plan h2").count(), 1);
  const run = await hook;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "", "nothing: Claude Code asks in the terminal");
  assert.ok(Date.now() - started < 60_000);
  await page.locator(".decision[data-status=expired], .decision[data-status=cancelled]").waitFor({ timeout: WAIT });
  assert.equal(await page.locator("[data-action=allow]").count(), 0, "no buttons once it is over");
  await done();
});

test("the agent that asked gets no buttons", { timeout: 180_000 }, async (t) => {
  const fx = fixture("bash");
  const { room, agent } = await roomWithAgentAndHuman();
  if (!(await hasDecisions(room.id, agent))) return t.skip("this server has no decisions API");
  const { page, done } = await openAs(room.id, agent);
  const hook = decide(room.id, agent, fx.input, ["--expires-in", "4"]);
  await card(page).waitFor({ timeout: WAIT });
  assert.equal(await page.locator("[data-action=allow]").count(), 0);
  assert.match(await card(page).innerText(), /Waiting for a person/);
  const run = await hook;
  assert.equal(run.stdout, "");
  await done();
});

test("a long input is folded with its start and end shown; a late answer sees the winner", { timeout: 180_000 }, async (t) => {
  const fx = fixture("bash");
  const { key, room, agent, human } = await roomWithAgentAndHuman();
  if (!(await hasDecisions(room.id, agent))) return t.skip("this server has no decisions API");
  const input = structuredClone(fx.input);
  input.tool_input.command = `echo START-${"x".repeat(4000)}-THE-END`;
  const ada = await openAs(room.id, human);
  const hook = decide(room.id, agent, input);
  await ada.page.locator(".decision[data-status=pending]").waitFor({ timeout: WAIT });
  // Opened after the request was posted, so its history has the card; then it hears nothing more.
  const late = await openAs(room.id, key, { owner: true, deaf: true });
  await late.page.locator(".decision[data-status=pending]").waitFor({ timeout: WAIT });
  const value = ada.page.locator(".decision-value").first();
  assert.match(await value.locator(".fold-head").innerText(), /^echo START-x+/);
  assert.match(await value.locator(".fold-tail").innerText(), /x+-THE-END$/);
  assert.equal(await value.locator(".fold-middle").isVisible(), false, "the middle is folded");
  await value.locator(".fold-toggle").click();
  assert.equal(await value.locator(".fold-middle").isVisible(), true, "and unfolds");
  await ada.page.screenshot({ path: join(SHOTS, `decision-folded-${VARIANT}.png`) });
  await ada.page.locator("[data-action=deny]").click();
  const run = await hook;
  assert.equal(JSON.parse(run.stdout).hookSpecificOutput.decision.behavior, "deny");
  // The owner's page never heard: its Allow gets 409, and the card shows who won.
  await late.page.locator("[data-action=allow]").click();
  await late.page.locator(".decision[data-status=denied]").waitFor({ timeout: WAIT });
  assert.match(await late.page.locator(".decision-final").innerText(), /Someone answered first\. Denied by ada/);
  await ada.done();
  await late.done();
});
