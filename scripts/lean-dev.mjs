#!/usr/bin/env node
// The lean runner: serves the Worker through wrangler's programmatic API
// (`unstable_startWorker`) with the DevTools inspector and the file watcher
// off. `wrangler dev` always attaches an inspector, which costs CPU on every
// request; benchmarks must not measure that.
//
//   node scripts/lean-dev.mjs --port 8787 --persist .state/bench \
//        [--var NAME:VALUE]... [--env paid] [--config wrangler.toml] [--max-seconds 1800] \
//        [--entry snapshot/build/index.js] [--assets snapshot/public]
//
// --entry and --assets serve a copy of the built Worker and of public/:
// wrangler watches the assets folder even with watch off and reloads the
// Worker (closing every open stream) when it changes, and other builds in
// the same tree rewrite public/ and build/ at any time.
//
// Prints `ready <url>` on stdout once the Worker answers. Stops on SIGTERM or
// SIGINT (disposing the runtime), and by itself after --max-seconds. Callers
// run it in its own process group and stop that group, so the workerd
// children go too even if this process cannot clean up.

import { resolve } from "node:path";
import { unstable_startWorker } from "wrangler";

function parseArgs(argv) {
  const opts = {
    port: 8787,
    persist: ".state/bench",
    vars: {},
    env: undefined,
    config: "wrangler.toml",
    maxSeconds: 1800,
    entry: undefined,
    assets: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i++;
    switch (flag) {
      case "--port":
        opts.port = Number.parseInt(value, 10);
        break;
      case "--persist":
        opts.persist = value;
        break;
      case "--var": {
        const at = value.indexOf(":");
        if (at < 1) throw new Error(`--var wants NAME:VALUE, got ${value}`);
        opts.vars[value.slice(0, at)] = value.slice(at + 1);
        break;
      }
      case "--env":
        opts.env = value;
        break;
      case "--config":
        opts.config = value;
        break;
      case "--entry":
        opts.entry = value;
        break;
      case "--assets":
        opts.assets = value;
        break;
      case "--max-seconds":
        opts.maxSeconds = Number.parseInt(value, 10);
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port <= 0) throw new Error("--port must be a port number");
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
// Miniflare would fetch the Request.cf placeholder from the internet at
// start; benchmarks stay on this machine.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
const bindings = Object.fromEntries(
  Object.entries(opts.vars).map(([name, value]) => [name, { type: "plain_text", value }]),
);

const worker = await unstable_startWorker({
  config: resolve(opts.config),
  env: opts.env,
  ...(opts.entry && { entrypoint: resolve(opts.entry) }),
  ...(opts.assets && { assets: resolve(opts.assets) }),
  sendMetrics: false,
  bindings,
  dev: {
    inspector: false,
    watch: false,
    liveReload: false,
    remote: false,
    persist: resolve(opts.persist),
    logLevel: "warn",
    server: { hostname: "127.0.0.1", port: opts.port },
  },
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try {
    await Promise.race([worker.dispose(), new Promise((r) => setTimeout(r, 5000))]);
  } finally {
    process.exit(code);
  }
}
process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));
setTimeout(() => {
  console.error(`lean-dev: --max-seconds ${opts.maxSeconds} reached, stopping`);
  stop(0);
}, opts.maxSeconds * 1000).unref();

await worker.ready;
const url = await worker.url;
console.log(`ready ${url.origin}`);
// Keep the event loop alive until a signal or the lifetime bound.
setInterval(() => {}, 1 << 30);
