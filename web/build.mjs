// Bundles the web UI (web/src) into public/assets/ with esbuild: one ES module
// per page (main.js for / and /r/<id>, key.js for /key), app.css, and split
// chunks (Shiki and each grammar load only when a code block needs them).
// public/assets/ is generated (public/.gitignore); the HTML in public/ is not.
//
//   node web/build.mjs           production build, prints sizes
//   node web/build.mjs --dev     with source maps, not minified
//   node web/build.mjs --watch   rebuild on change (implies --dev)

import { readdirSync, rmSync, statSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "public/assets");
const watch = process.argv.includes("--watch");
const dev = watch || process.argv.includes("--dev");

/** @type {import("esbuild").BuildOptions} */
const options = {
  absWorkingDir: root,
  entryPoints: {
    main: "web/src/main.ts",
    key: "web/src/key.ts",
    app: "web/src/app.css",
  },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["es2022", "chrome111", "firefox113", "safari16.4"],
  chunkNames: "chunks/[name]-[hash]",
  // The CSS refers to /favicon.svg, served from public/ as it is.
  external: ["/favicon.svg"],
  minify: !dev,
  sourcemap: dev ? "linked" : false,
  legalComments: dev ? "inline" : "eof",
  logLevel: "warning",
  metafile: true,
  define: { "process.env.NODE_ENV": dev ? '"development"' : '"production"' },
};

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

function kb(n) {
  return `${(n / 1024).toFixed(1)} KiB`.padStart(10);
}

function report() {
  const files = walk(outdir).filter((f) => !f.endsWith(".map"));
  let total = 0;
  let totalGz = 0;
  const rows = files.map((f) => {
    const buf = readFileSync(f);
    const gz = gzipSync(buf, { level: 9 }).length;
    total += buf.length;
    totalGz += gz;
    return { name: relative(join(root, "public"), f), size: buf.length, gz };
  });
  rows.sort((a, b) => b.size - a.size);
  const initial = rows.filter((r) => /^assets\/(main|key|app)\.(js|css)$/.test(r.name));
  console.log("web: initial load (per page entry, gzipped)");
  for (const r of initial) console.log(`  ${r.name.padEnd(44)} ${kb(r.size)} ${kb(r.gz)} gz`);
  const chunks = rows.filter((r) => !initial.includes(r));
  console.log(`web: ${chunks.length} lazy chunks; largest:`);
  for (const r of chunks.slice(0, 6)) console.log(`  ${r.name.padEnd(44)} ${kb(r.size)} ${kb(r.gz)} gz`);
  console.log(`web: total ${kb(total).trim()} (${kb(totalGz).trim()} gz) in ${rows.length} files`);
}

rmSync(outdir, { recursive: true, force: true });
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log("web: watching web/src for changes (Ctrl-C to stop)");
} else {
  await esbuild.build(options);
  report();
}
