#!/usr/bin/env bash
# `make bench`: the standard benchmark set against the Worker served by the
# lean runner (scripts/lean-dev.mjs: wrangler's API with the inspector off),
# then docs/BENCHMARKS.md from the results. About 10 minutes (plus the paid
# variant's build when it is out of date).
#
#   send      N = 1, 4, 16 senders, 10 s each
#   fanout    SSE, L = 1, 10, 50 listeners at 5 msg/s, 20 s each; and two
#             diagnostics at 50: reconnecting at once, and a 60 s run
#   fanout    WebSocket, L = 1, 10, 50 at 10 msg/s (paid variant; skipped with a
#             note when wrangler.toml has no [env.paid] or it has no WebSocket)
#   history   rooms of 100, 10,000 and 100,000 messages, seeded into local D1
#   idle      one SSE listener on a quiet room (runs alongside the above)
#   wake      mention-to-wake: a member waits, another mentions it, 20 rounds
#   waiting   an agent's back-to-back waits on a quiet room, empty and with
#             1,000 read messages, 120 s each (in the background from the end
#             of history, during the paid variant's runs)
#   soak      5 minutes, 10 listeners, the server restarted once at 150 s
#   memory    workerd RSS of the runner's process group before and after
#
# Shorter runs for trying the script: SEND_SECONDS, FANOUT_SECONDS,
# IDLE_SECONDS, SOAK_MINUTES, RESTART_AFTER, HISTORY_SIZES, WAKE_ROUNDS,
# WAITING_SECONDS, WAITING_HISTORY. Results (one JSON per scenario) stay in
# target/bench/results; BENCH_OUT moves that folder and BENCH_DOC the report
# (docs/BENCHMARKS.md).
#
# `scripts/bench.sh --mentions` runs only wake and waiting (about 3 minutes)
# on a fresh runner and prints their section of the report; it leaves the
# other results and docs/BENCHMARKS.md alone.
#
# Every server this starts listens on 127.0.0.1 only, runs in its own process
# group under `timeout`, and is stopped by that group.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

OUT=${BENCH_OUT:-$ROOT/target/bench}
RESULTS=$OUT/results
SNAP=$OUT/snapshot
WRANGLER=$ROOT/node_modules/.bin/wrangler
LT=$ROOT/target/release/meet-ai-loadtest
DOC=${BENCH_DOC:-$ROOT/docs/BENCHMARKS.md}
RUNNER_LIFETIME=1800

SEND_SECONDS=${SEND_SECONDS:-10}
FANOUT_SECONDS=${FANOUT_SECONDS:-20}
IDLE_SECONDS=${IDLE_SECONDS:-400}
SOAK_MINUTES=${SOAK_MINUTES:-5}
RESTART_AFTER=${RESTART_AFTER:-150}
HISTORY_SIZES=${HISTORY_SIZES:-100,10000,100000}
WAKE_ROUNDS=${WAKE_ROUNDS:-20}
WAITING_SECONDS=${WAITING_SECONDS:-120}
WAITING_HISTORY=${WAITING_HISTORY:-1000}
MENTIONS_ONLY=""
[ "${1:-}" = "--mentions" ] && MENTIONS_ONLY=1
RUNNER_NAME="lean-dev"
RUNNER_DETAIL="scripts/lean-dev.mjs: wrangler 4.86.0 unstable_startWorker, local mode, inspector off, watch off, serving a snapshot of build/ and public/; the paid variant (WS fanout): wrangler dev, its two scripts in one runtime, inspector on"

export WRANGLER_SEND_METRICS=false

say() { printf '==> %s\n' "$*" >&2; }

# A TCP port free on 127.0.0.1 a moment ago.
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# VmRSS (kB) of the workerd processes in process group $1, as "total proxy
# runtime": the proxy is the one listening on the runner's port $2 (wrangler's
# local proxy worker, which a deployment does not have), the runtime the rest
# (the Worker's isolate and the local D1/KV/Durable Object simulators).
rss_split() {
  local pg=$1 port=${2:-0} total=0 proxy=0 d stat rest kb
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = workerd ] || continue
    stat=$(cat "$d/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    # After the command: state, ppid, pgrp.
    set -- $rest
    [ "${3:-}" = "$pg" ] || continue
    kb=$(awk '/^VmRSS:/ { print $2 }' "$d/status" 2>/dev/null || echo 0)
    kb=${kb:-0}
    total=$((total + kb))
    if tr '\0' '\n' < "$d/cmdline" 2>/dev/null | grep -q "^--socket-addr=entry=127.0.0.1:$port\$"; then
      proxy=$((proxy + kb))
    fi
  done
  echo "$total $proxy $((total - proxy))"
}

# Sum of VmRSS (kB) of the workerd processes in process group $1.
rss_kb() {
  local split; split=$(rss_split "$1")
  echo "${split%% *}"
}

# start_runner NAME: runs $OUT/NAME.start (written by define_runner) in its own
# process group and waits until /api/health answers.
start_runner() {
  local name=$1 port pg i
  port=$(cat "$OUT/$name.port")
  setsid bash "$OUT/$name.start" >> "$OUT/$name.log" 2>&1 < /dev/null &
  pg=$!
  echo "$pg" > "$OUT/$name.pgid"
  for i in $(seq 1 180); do
    if curl -sf "http://127.0.0.1:$port/api/health" > /dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$pg" 2>/dev/null; then
      say "runner $name exited before it was healthy:"; tail -n 30 "$OUT/$name.log" >&2
      return 1
    fi
    sleep 0.5
  done
  say "runner $name not healthy within 90 s:"; tail -n 30 "$OUT/$name.log" >&2
  stop_runner "$name"
  return 1
}

# Stops the runner's whole process group: TERM, then KILL what is left.
stop_runner() {
  local name=$1 pg i
  [ -f "$OUT/$name.pgid" ] || return 0
  pg=$(cat "$OUT/$name.pgid")
  kill -TERM -- "-$pg" 2>/dev/null || true
  for i in $(seq 1 40); do
    kill -0 -- "-$pg" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL -- "-$pg" 2>/dev/null || true
  rm -f "$OUT/$name.pgid"
  # Wait for the port to be free for a restart on it.
  local port; port=$(cat "$OUT/$name.port")
  for i in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null || break
    sleep 0.2
  done
}

# define_runner NAME STATE ENTRY [ENV]: writes the command that starts it.
define_runner() {
  local name=$1 state=$2 entry=$3 env=${4:-}
  # A runner keeps its port when defined again (restarts reuse the address).
  [ -s "$OUT/$name.port" ] || free_port > "$OUT/$name.port"
  {
    echo "cd '$ROOT'"
    printf 'exec timeout --kill-after=5 %s node scripts/lean-dev.mjs --port %s --persist %q --entry %q --assets %q --max-seconds %s' \
      "$RUNNER_LIFETIME" "$(cat "$OUT/$name.port")" "$state" "$entry" "$SNAP/public" "$RUNNER_LIFETIME"
    for v in "${SERVER_VARS[@]}"; do printf ' --var %q' "$v"; done
    [ -n "$env" ] && printf ' --env %q' "$env"
    echo
  } > "$OUT/$name.start"
}

# define_paid_runner NAME STATE ENTRY ROOMS_TOML: the paid variant is two
# scripts (the Worker and its room objects, scripts/private-rooms.sh), which
# only the wrangler CLI runs together (`-c ... -c ...`), so this runner is
# `wrangler dev`, with its DevTools inspector on a port of its own.
define_paid_runner() {
  local name=$1 state=$2 entry=$3 rooms=$4
  [ -s "$OUT/$name.port" ] || free_port > "$OUT/$name.port"
  {
    echo "cd '$ROOT'"
    printf 'exec timeout --kill-after=5 %s %q dev %q -c wrangler.toml -c %q --env paid --local --ip 127.0.0.1 --port %s --persist-to %q --assets %q --inspector-port %s --show-interactive-dev-session=false --log-level warn' \
      "$RUNNER_LIFETIME" "$WRANGLER" "$entry" "$rooms" "$(cat "$OUT/$name.port")" "$state" "$SNAP/public" "$(free_port)"
    for v in "${SERVER_VARS[@]}"; do printf ' --var %q' "$v"; done
    echo
  } > "$OUT/$name.start"
}

# The soak's restart hook: stop the runner and start it again (same port, state).
if [ "${1:-}" = "--restart-runner" ]; then
  name=${2:?runner name}
  SERVER_VARS=()
  stop_runner "$name"
  start_runner "$name"
  echo "restarted $name on port $(cat "$OUT/$name.port")"
  exit 0
fi

note() { printf '%s\n' "$*" >> "$OUT/notes.txt"; say "note: $*"; }
# Commands for the report, with this checkout's paths made relative.
command_ran() { printf '%s\n' "${*//$ROOT\//}" >> "$OUT/commands.txt"; }

# run NAME ARGS...: one scenario; its JSON to results/NAME.json, stderr beside it.
run() {
  local name=$1; shift
  say "$name: meet-ai-loadtest $*"
  command_ran "target/release/meet-ai-loadtest --url \$URL $*"
  local rc=0
  "$LT" --url "$URL" --runner "$RUNNER_NAME" "$@" > "$RESULTS/$name.json" 2> "$RESULTS/$name.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    say "$name exited $rc: $(tail -n 1 "$RESULTS/$name.err")"
  fi
  sample_rss "$name"
}

# After each scenario: the free runner's workerd RSS (total, proxy, runtime)
# to results/rss.txt, and the peak so far.
RSS_PEAK=0
sample_rss() {
  [ -f "$OUT/free.pgid" ] || return 0
  local split kb
  split=$(rss_split "$(cat "$OUT/free.pgid")" "$(cat "$OUT/free.port")")
  echo "${1:-sample} $split" >> "$RESULTS/rss.txt"
  kb=${split%% *}
  [ "$kb" -gt "$RSS_PEAK" ] && RSS_PEAK=$kb
  return 0
}

cleanup() {
  stop_runner free 2>/dev/null || true
  stop_runner paid 2>/dev/null || true
  [ -n "${IDLE_PID:-}" ] && kill "$IDLE_PID" 2>/dev/null || true
  for p in ${WAITING_PIDS:-}; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

[ -f build/index.js ] || { say "build/index.js is missing: run make build (make bench does)"; exit 1; }
mkdir -p "$OUT"
if [ -n "$MENTIONS_ONLY" ]; then
  # Only the mention scenarios' files are replaced; the rest stay as they were.
  rm -rf "$SNAP" "$OUT"/state-* "$OUT"/*.log "$OUT"/*.port "$OUT"/*.start "$OUT"/*.pgid \
    "$RESULTS"/wake.* "$RESULTS"/waiting.* "$RESULTS"/waiting-history.*
else
  rm -rf "$RESULTS" "$SNAP" "$OUT"/state-* "$OUT"/*.log "$OUT"/*.port "$OUT"/*.start "$OUT"/*.pgid \
    "$OUT"/notes.txt "$OUT"/commands.txt
fi
mkdir -p "$RESULTS" "$SNAP"
touch "$OUT/notes.txt" "$OUT/commands.txt"

# What is measured is the tree as it is now: note its commit before building.
export BENCH_META_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
export BENCH_META_DIRTY=$(git status --porcelain -- src protocol 2>/dev/null | head -c 1 | wc -c)

say "building the load generator (release)"
cargo build --release -p meet-ai-loadtest --quiet
command_ran "make build && cargo build --release -p meet-ai-loadtest"

# Serve a copy: other builds in this tree rewrite build/ and public/, and
# wrangler reloads the Worker (dropping every stream) when public/ changes.
cp -a build public "$SNAP/"
WASM_GZ=$(gzip -9c build/index_bg.wasm | wc -c)

SERVER_VARS=(RATE_KEYS_PER_HOUR:0 RATE_ROOMS_PER_DAY:0 RATE_MESSAGES_PER_MINUTE:0 RATE_MESSAGES_PER_DAY:0 CLIENT_RATE_LIMITS:off)
STATE=$OUT/state-free
"$WRANGLER" d1 migrations apply meet-ai --local --persist-to "$STATE" > "$OUT/migrate.log" 2>&1
define_runner free "$STATE" "$SNAP/build/index.js"
say "starting the lean runner"
start_runner free
URL="http://127.0.0.1:$(cat "$OUT/free.port")"
command_ran "node scripts/lean-dev.mjs --port 8787 --persist .state/bench --var RATE_KEYS_PER_HOUR:0 --var RATE_ROOMS_PER_DAY:0 --var RATE_MESSAGES_PER_MINUTE:0 --var RATE_MESSAGES_PER_DAY:0 --var CLIENT_RATE_LIMITS:off   # URL=http://127.0.0.1:8787, after wrangler d1 migrations apply meet-ai --local --persist-to .state/bench"

RSS_BEFORE=$(rss_kb "$(cat "$OUT/free.pgid")")
# Limits off must let a message through; if the Worker refuses every send with
# the message limit at 0, measure with a limit no run can reach instead, and say so.
if ! "$LT" --url "$URL" --runner "$RUNNER_NAME" send --senders 1 --seconds 1 > "$OUT/preflight.json" 2>&1; then
  statuses=$(grep -o '"statuses":{[^}]*}' "$OUT/preflight.json" | head -c 200 || true)
  note "With RATE_MESSAGES_PER_MINUTE=0 (limit off) no send got through (${statuses:-no result}; see docs/FINDINGS.md, Settled); the runs below use RATE_MESSAGES_PER_MINUTE=1000000000 instead, which keeps the limit's COUNT subquery in every send."
  stop_runner free
  SERVER_VARS=(RATE_KEYS_PER_HOUR:0 RATE_ROOMS_PER_DAY:0 RATE_MESSAGES_PER_MINUTE:1000000000 RATE_MESSAGES_PER_DAY:0 CLIENT_RATE_LIMITS:off)
  define_runner free "$STATE" "$SNAP/build/index.js"
  start_runner free
  RSS_BEFORE=$(rss_kb "$(cat "$OUT/free.pgid")")
fi
sample_rss "start (and a 1 s preflight send)"

# A waiting agent's cost, in the background on rooms of its own: its polls
# depend only on its room, and the numbers are counts, not latencies.
start_waiting() {
  WAITING_PIDS=""
  command_ran "target/release/meet-ai-loadtest --url \$URL waiting --seconds $WAITING_SECONDS   # alongside"
  "$LT" --url "$URL" --runner "$RUNNER_NAME" waiting --seconds "$WAITING_SECONDS" \
    > "$RESULTS/waiting.json" 2> "$RESULTS/waiting.err" &
  WAITING_PIDS="$!"
  command_ran "target/release/meet-ai-loadtest --url \$URL waiting --seconds $WAITING_SECONDS --history $WAITING_HISTORY   # alongside"
  "$LT" --url "$URL" --runner "$RUNNER_NAME" waiting --seconds "$WAITING_SECONDS" --history "$WAITING_HISTORY" \
    > "$RESULTS/waiting-history.json" 2> "$RESULTS/waiting-history.err" &
  WAITING_PIDS="$WAITING_PIDS $!"
}
wait_waiting() {
  local p
  for p in $WAITING_PIDS; do
    wait "$p" || say "a waiting run exited non-zero: see $RESULTS/waiting*.err"
  done
  WAITING_PIDS=""
}

if [ -n "$MENTIONS_ONLY" ]; then
  start_waiting
  run wake wake --rounds "$WAKE_ROUNDS"
  say "waiting for the waiting agents"
  wait_waiting
  stop_runner free
  "$LT" report --results "$RESULTS" --mentions-only
  say "done: results in $RESULTS (docs/BENCHMARKS.md untouched)"
  exit 0
fi

say "idle listener in the background for $IDLE_SECONDS s"
command_ran "target/release/meet-ai-loadtest --url \$URL idle --seconds $IDLE_SECONDS   # alongside the scenarios below"
"$LT" --url "$URL" --runner "$RUNNER_NAME" idle --seconds "$IDLE_SECONDS" > "$RESULTS/idle.json" 2> "$RESULTS/idle.err" &
IDLE_PID=$!

for n in 1 4 16; do
  run "send-$n" send --senders "$n" --seconds "$SEND_SECONDS"
done
for l in 1 10 50; do
  run "fanout-sse-$l" fanout --transport sse --listeners "$l" --rate 5 --seconds "$FANOUT_SECONDS"
done
# Diagnostic, not a target: the same 50 listeners reconnecting at once when a
# stream ends instead of waiting the retry: hint, to show what that wait costs.
run fanout-sse-50-immediate fanout --transport sse --listeners 50 --rate 5 --seconds "$FANOUT_SECONDS" --reconnect immediate
# Diagnostic: a 20 s run sees about one stream seam per listener, wherever it
# happens to fall; three times as long shows the steady share of messages
# that wait out a reconnect.
run fanout-sse-50-long fanout --transport sse --listeners 50 --rate 5 --seconds "$((FANOUT_SECONDS * 3))"
run wake wake --rounds "$WAKE_ROUNDS"
run history history --sizes "$HISTORY_SIZES" --state-dir "$STATE" --repo "$ROOT"
# The waiting agents start here, not with idle: the one in a room with history
# posts its 1,000 messages first, which would load the latency runs above.
start_waiting

# WebSocket fanout on the paid variant, while the idle listener finishes.
WS_SKIPPED=""
WASM_PAID_GZ=""
WASM_ROOMS_GZ=""
if grep -q 'env.paid' wrangler.toml; then
  say "building the paid variant (make worker-paid)"
  if make -s worker-paid > "$OUT/build-paid.log" 2>&1 && [ -f build-paid/index.js ]; then
    cp -a build-paid "$SNAP/"
    WASM_PAID_GZ=$(gzip -9c build-paid/index_bg.wasm | wc -c)
    WASM_ROOMS_GZ=$(gzip -9c build-rooms/index_bg.wasm | wc -c)
    PAID_STATE=$OUT/state-paid
    "$WRANGLER" d1 migrations apply meet-ai --local --env paid --persist-to "$PAID_STATE" > "$OUT/migrate-paid.log" 2>&1
    ROOMS_TOML=$(scripts/private-rooms.sh "$SNAP/rooms")
    define_paid_runner paid "$PAID_STATE" "$SNAP/build-paid/index.js" "$ROOMS_TOML"
    if start_runner paid; then
      PAID_URL="http://127.0.0.1:$(cat "$OUT/paid.port")"
      if curl -sf "$PAID_URL/api/health" | grep -q '"websocket":true'; then
        command_ran "make worker-paid && wrangler dev build-paid/index.js -c wrangler.toml -c wrangler.rooms.toml --env paid ...   # same vars, its own state, inspector on"
        SAVED_URL=$URL; URL=$PAID_URL
        for l in 1 10 50; do
          run "fanout-ws-$l" fanout --transport ws --listeners "$l" --rate 10 --seconds "$FANOUT_SECONDS"
        done
        URL=$SAVED_URL
      else
        WS_SKIPPED="the paid build's /api/health does not report features.websocket=true"
      fi
      stop_runner paid
    else
      WS_SKIPPED="the paid variant did not start (see target/bench/paid.log)"
    fi
  else
    WS_SKIPPED="make worker-paid failed (see target/bench/build-paid.log)"
  fi
else
  WS_SKIPPED="wrangler.toml has no [env.paid] yet (make dev-paid is not available)"
fi
[ -n "$WS_SKIPPED" ] && note "WebSocket fanout skipped: $WS_SKIPPED"

say "waiting for the idle listener and the waiting agents"
wait "$IDLE_PID" || say "idle exited non-zero: $(tail -n 1 "$RESULTS/idle.err")"
IDLE_PID=""
wait_waiting
sample_rss idle
RSS_AFTER_LOAD=$(rss_kb "$(cat "$OUT/free.pgid")")

run soak soak --minutes "$SOAK_MINUTES" --listeners 10 \
  --restart-hook "BENCH_OUT='$OUT' '$ROOT/scripts/bench.sh' --restart-runner free" \
  --restart-after "$RESTART_AFTER"
RSS_AFTER_SOAK=$(rss_kb "$(cat "$OUT/free.pgid")")
stop_runner free

say "writing $DOC"
export BENCH_META_DATE=$(date -u +%Y-%m-%dT%H:%MZ)
export BENCH_META_NPROC=$(nproc)
export BENCH_META_CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
export BENCH_META_MEM=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
export BENCH_META_OS="$(uname -sr), node $(node --version)"
export BENCH_META_RUNNER="$RUNNER_DETAIL"
export BENCH_META_VARS="${SERVER_VARS[*]}; SSE intervals from wrangler.toml"
export BENCH_META_SSE_ACTIVE=$(awk -F'"' '/^SSE_ACTIVE_POLL_MS/ { print $2; exit }' wrangler.toml)
export BENCH_META_SSE_RETRY=$(awk -F'"' '/^SSE_RETRY_MS/ { print $2; exit }' wrangler.toml)
export RSS_BEFORE RSS_AFTER_LOAD RSS_AFTER_SOAK RSS_PEAK WASM_GZ WASM_PAID_GZ WASM_ROOMS_GZ WS_SKIPPED OUT
node -e '
const fs = require("fs");
const e = process.env;
const lines = (f) => fs.readFileSync(f, "utf8").split("\n").filter(Boolean);
const n = (v) => (v === undefined || v === "" ? null : Number(v));
const notes = lines(e.OUT + "/notes.txt");
if (e.BENCH_META_DIRTY !== "0") notes.push("The Worker source (src/, protocol/) had uncommitted changes when this ran; the numbers are for the build in build/ at that time.");
const meta = {
  date: e.BENCH_META_DATE, commit: e.BENCH_META_COMMIT,
  runner: "lean-dev", runner_detail: e.BENCH_META_RUNNER,
  machine: { nproc: n(e.BENCH_META_NPROC), cpu_model: e.BENCH_META_CPU, mem_total_kb: n(e.BENCH_META_MEM), os: e.BENCH_META_OS },
  server_vars: e.BENCH_META_VARS,
  sse_active_poll_ms: n(e.BENCH_META_SSE_ACTIVE) ?? 500,
  sse_retry_ms: n(e.BENCH_META_SSE_RETRY) ?? 1000,
  rss_kb: { before: n(e.RSS_BEFORE), after_load: n(e.RSS_AFTER_LOAD), after_soak: n(e.RSS_AFTER_SOAK), peak: n(e.RSS_PEAK) },
  wasm_gz_bytes: n(e.WASM_GZ), wasm_paid_gz_bytes: n(e.WASM_PAID_GZ), wasm_rooms_gz_bytes: n(e.WASM_ROOMS_GZ),
  ws_skipped: e.WS_SKIPPED || null,
  rss_series: fs.existsSync(e.OUT + "/results/rss.txt")
    ? lines(e.OUT + "/results/rss.txt").map((l) => {
        const p = l.trim().split(" ");
        const [total, proxy, runtime] = p.slice(-3).map(Number);
        return { after: p.slice(0, -3).join(" "), total_kb: total, proxy_kb: proxy, runtime_kb: runtime };
      })
    : [],
  notes,
  commands: ["make bench   # all of the below, about 10 minutes", ...lines(e.OUT + "/commands.txt")],
};
fs.writeFileSync(e.OUT + "/results/meta.json", JSON.stringify(meta, null, 2));
'
mkdir -p "$(dirname "$DOC")"
"$LT" report --results "$RESULTS" --out "$DOC"
say "done: $DOC (results in $RESULTS)"
