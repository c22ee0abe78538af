// A real local meet-ai for the browser tests: fresh D1/KV state under
// target/, migrations and the demo seed applied, `wrangler dev` on a free
// loopback port in its own process group (bounded by `timeout`), stopped by
// group on teardown. The Worker must be built first (`make worker`, or
// `make worker-paid` for the paid variant).
//
// MEET_AI_E2E_ENV=paid (the name the Rust suites use) serves the paid variant
// (build-paid/, `--env paid`: Durable Objects and the WebSocket route) instead
// of the free one.

import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
/** The seeded public room (seed/demo.sql), featured by FEATURED_ROOM_ID. */
export const DEMO_ROOM_ID = "5eed0000-0000-4000-8000-0000000000a1";

/** The variant under test: "paid" under MEET_AI_E2E_ENV=paid, else "free". */
export const VARIANT = process.env.MEET_AI_E2E_ENV === "paid" ? "paid" : "free";

const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
/** Longest a server may live, even if this process dies without cleaning up. */
const LIFETIME_SECS = 900;
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" };

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function run(args, what) {
  const out = spawnSync(WRANGLER, args, { cwd: ROOT, env, encoding: "utf8", timeout: 300_000 });
  if (out.status !== 0) {
    throw new Error(`${what} failed (${out.status ?? out.signal}):\n${out.stdout}\n${out.stderr}`);
  }
}

const running = new Set();
process.on("exit", () => {
  for (const pid of running) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
});

/**
 * Starts a server of the variant under test (`variant` overrides it). `vars`
 * are `--var NAME:VALUE` overrides; FEATURED_ROOM_ID defaults to the demo
 * room (pass `FEATURED_ROOM_ID: ""` for none).
 */
export async function startServer({ vars = {}, variant = VARIANT } = {}) {
  const paid = variant === "paid";
  const build = paid ? "build-paid" : "build";
  const envArgs = paid ? ["--env", "paid"] : [];
  if (!existsSync(join(ROOT, build, "index.js"))) {
    throw new Error(`${build}/index.js is missing: run \`make ${paid ? "build-paid" : "build"}\` first`);
  }
  if (!existsSync(join(ROOT, "public/assets/main.js"))) {
    throw new Error("public/assets/main.js is missing: run `npm run build:web` first");
  }
  const stateDir = join(ROOT, "target/web-test-state", `${process.pid}-${Date.now()}`);
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  run(["d1", "migrations", "apply", "meet-ai", "--local", "--persist-to", stateDir, ...envArgs], "migrations");
  run(["d1", "execute", "meet-ai", "--local", "--persist-to", stateDir, "--file", "seed/demo.sql", ...envArgs], "seed");

  // Serve private copies of the Worker and of public/: wrangler dev reloads
  // (ending every open stream) when they change, and a rebuild elsewhere must
  // not pull the rug from under a running test.
  const buildCopy = `${stateDir}.build`;
  const assetsCopy = `${stateDir}.public`;
  cpSync(join(ROOT, build), buildCopy, { recursive: true });
  cpSync(join(ROOT, "public"), assetsCopy, { recursive: true });
  // The paid variant is two scripts in one wrangler dev: the Worker (first,
  // serving the port) and its room objects (scripts/private-rooms.sh).
  const configArgs = [];
  if (paid) {
    const rooms = spawnSync(join(ROOT, "scripts/private-rooms.sh"), [`${stateDir}.rooms`], { cwd: ROOT, encoding: "utf8" });
    if (rooms.status !== 0) throw new Error(`scripts/private-rooms.sh failed:\n${rooms.stderr}`);
    configArgs.push("-c", join(ROOT, "wrangler.toml"), "-c", rooms.stdout.trim());
  }

  const port = await freePort();
  const allVars = { FEATURED_ROOM_ID: DEMO_ROOM_ID, ...vars };
  const args = [
    "--kill-after=5",
    String(LIFETIME_SECS),
    WRANGLER,
    "dev",
    join(buildCopy, "index.js"),
    ...configArgs,
    "--assets",
    assetsCopy,
    "--local",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(await freePort()),
    "--persist-to",
    stateDir,
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
    ...envArgs,
  ];
  for (const [k, v] of Object.entries(allVars)) args.push("--var", `${k}:${v}`);
  const logPath = join(stateDir, "wrangler.log");
  const log = openSync(logPath, "a");
  const child = spawn("timeout", args, { cwd: ROOT, env, detached: true, stdio: ["ignore", log, log] });
  running.add(child.pid);
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = { code, signal };
  });

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited) {
      throw new Error(`wrangler dev exited early (${JSON.stringify(exited)}):\n${readFileSync(logPath, "utf8")}`);
    }
    let health = null;
    try {
      const res = await fetch(`${base}/api/health`);
      if (res.ok) health = await res.json();
    } catch {
      // Not listening yet.
    }
    if (health) {
      // The build must be the variant asked for (a stale build-paid/ would
      // silently test the free code path).
      if (health.features?.websocket !== paid) {
        await stop();
        throw new Error(`${build}/ is not the ${variant} variant: /api/health said ${JSON.stringify(health)}`);
      }
      break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not become healthy in 120 s:\n${readFileSync(logPath, "utf8")}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  async function stop() {
    if (!running.has(child.pid)) return;
    running.delete(child.pid);
    const gone = new Promise((r) => (exited ? r() : child.once("exit", r)));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }, 5000);
    await gone;
    clearTimeout(timer);
    // Set MEET_AI_KEEP_STATE=1 to keep the database and wrangler.log for a look.
    if (!process.env.MEET_AI_KEEP_STATE) {
      for (const dir of [stateDir, buildCopy, assetsCopy]) rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Makes wrangler dev reload the Worker, as a deploy would: every open event
   * stream and WebSocket is cut. The server keeps its port and state.
   */
  function reload() {
    appendFileSync(join(buildCopy, "index.js"), `\n// reloaded by the tests at ${Date.now()}\n`);
  }

  return { base, port, stateDir, logPath, variant, reload, stop };
}

let ipCounter = 0;

/** wrangler dev's own answer when its pooled connection to the Worker dies
 * under a request (workers-sdk issue 14641): the Worker never saw it. */
const PROXY_LOST = "Your worker restarted mid-request";

/** `fetch`, sending a request again (twice at most) when wrangler dev's proxy
 * lost it before the Worker saw it. Narrower on purpose than the clients'
 * rule (`unhandled_wait` in cli/src/client/errors.rs, `unhandledWait` in
 * web/src/api.ts: any non-JSON 503 with a short Retry-After): a test resends
 * only this dev server's known answer, so nothing else of the kind is hidden.
 * Bodies here are strings, so they can be sent again. */
export async function devFetch(url, init) {
  for (let retries = 0; ; retries++) {
    const res = await fetch(url, init);
    if (res.status !== 503 || retries >= 2) return res;
    const text = await res.clone().text();
    if (!text.startsWith(PROXY_LOST)) return res;
    console.error(`not handled in front of the Worker, sending again: ${init?.method ?? "GET"} ${url}`);
  }
}

/** A fresh key, from its own client IP (the server allows 3 keys per IP per hour). */
export async function createKey(base) {
  ipCounter++;
  const ip = `198.18.${(process.pid >> 8) & 255}.${(ipCounter + process.pid) & 255}`;
  const res = await devFetch(`${base}/api/keys`, { method: "POST", headers: { "CF-Connecting-IP": ip } });
  if (res.status !== 201) throw new Error(`POST /api/keys: ${res.status} ${await res.text()}`);
  return (await res.json()).key;
}

/** A JSON API call with a key; throws on an unexpected status. */
export async function api(base, key, method, path, body, expect = [200, 201, 204]) {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await devFetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}
