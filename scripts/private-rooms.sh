#!/usr/bin/env bash
# The paid variant's room objects, for a test server: copies build-rooms/ to
# DEST.build and writes DEST.toml, a wrangler.rooms.toml serving that copy.
# Prints DEST.toml, for `wrangler dev -c wrangler.toml -c DEST.toml --env paid`.
#
# Servers under test run private copies of their builds, so that a rebuild
# elsewhere does not reload them mid-test (wrangler dev reloads when its
# script changes); the e2e harness, the browser and MCP tests, schemathesis
# and the benchmarks all start the paid variant through this.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:?usage: scripts/private-rooms.sh DEST}
main='main = "build-rooms/index.js"'
[ -f build-rooms/index.js ] || { echo "build-rooms/index.js is missing: run make build-paid" >&2; exit 1; }
grep -qxF "$main" wrangler.rooms.toml || { echo "wrangler.rooms.toml lacks: $main" >&2; exit 1; }
rm -rf "$dest.build"
cp -r build-rooms "$dest.build"
# `|` cannot occur in a path we make (target/... and mktemp names).
sed "s|^$main\$|main = \"$dest.build/index.js\"|" wrangler.rooms.toml > "$dest.toml"
echo "$dest.toml"
