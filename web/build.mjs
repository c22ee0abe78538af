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

/** Sizes: what each page loads up front (entry + static imports), then the lazy chunks. */
function report(metafile) {
  const size = new Map();
  for (const f of walk(outdir).filter((f) => !f.endsWith(".map"))) {
    const buf = readFileSync(f);
    size.set(relative(root, f), { raw: buf.length, gz: gzipSync(buf, { level: 9 }).length });
  }
  const closure = (out, seen = new Set()) => {
    if (seen.has(out)) return seen;
    seen.add(out);
    for (const imp of metafile.outputs[out]?.imports ?? []) {
      if (imp.kind === "import-statement" && !imp.external) closure(imp.path, seen);
    }
    return seen;
  };
  const upFront = new Set();
  console.log("web: loaded up front (raw, gzipped)");
  for (const entry of ["main.js", "key.js", "app.css"]) {
    const files = [...closure(`public/assets/${entry}`)];
    files.forEach((f) => upFront.add(f));
    const raw = files.reduce((n, f) => n + (size.get(f)?.raw ?? 0), 0);
    const gz = files.reduce((n, f) => n + (size.get(f)?.gz ?? 0), 0);
    console.log(`  ${entry.padEnd(10)} ${kb(raw)} ${kb(gz)} gz  (${files.length} file${files.length > 1 ? "s" : ""})`);
  }
  const lazy = [...size].filter(([f]) => !upFront.has(f)).sort((a, b) => b[1].raw - a[1].raw);
  const lazyRaw = lazy.reduce((n, [, s]) => n + s.raw, 0);
  const lazyGz = lazy.reduce((n, [, s]) => n + s.gz, 0);
  console.log(`web: ${lazy.length} lazy chunks (Shiki and grammars), ${kb(lazyRaw).trim()} (${kb(lazyGz).trim()} gz) in all; largest:`);
  for (const [f, s] of lazy.slice(0, 4)) console.log(`  ${f.replace("public/assets/", "").padEnd(40)} ${kb(s.raw)} ${kb(s.gz)} gz`);
}

rmSync(outdir, { recursive: true, force: true });
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log("web: watching web/src for changes (Ctrl-C to stop)");
} else {
  const result = await esbuild.build(options);
  report(result.metafile);
}
