#!/usr/bin/env bash
# Installs what the build needs, pinned, and only what is missing: a second run
# costs seconds. worker-build's own downloads (from GitHub) cannot work on an
# offline machine, so its tools come from crates.io and npm instead.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
# wasm-bindgen-cli must match the wasm-bindgen the Worker links, exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)

say() { printf '==> %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding rust component $component"
    rustup component add "$component"
  fi
done

# `worker-build --version` prints the bare version; `wasm-bindgen --version` a name first.
if ! worker-build --version 2>/dev/null | grep -qw "$WORKER_BUILD_VERSION"; then
  say "installing worker-build $WORKER_BUILD_VERSION (takes a few minutes once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --force
fi

if ! wasm-bindgen --version 2>/dev/null | grep -qw "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (takes a few minutes once)"
  # Not --locked: its own lockfile pins crates that no longer build on this toolchain.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# npm: wrangler, esbuild and binaryen, exactly as package-lock.json pins them.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi

# schemathesis for `make test-api-schema`, from PyPI, pinned with everything it
# pulls in, in a venv of its own (Debian's python3-venv if venv is missing).
ST_VENV=target/schemathesis-venv
ST_REQS=scripts/schemathesis-requirements.txt
if [ ! -f "$ST_VENV/.installed" ] || [ "$ST_REQS" -nt "$ST_VENV/.installed" ]; then
  say "installing schemathesis into $ST_VENV (pinned: $ST_REQS)"
  if ! python3 -m venv "$ST_VENV" 2> /dev/null; then
    rm -rf "$ST_VENV"
    apt-get update -qq && apt-get install -y -qq python3-venv > /dev/null
    python3 -m venv "$ST_VENV"
  fi
  "$ST_VENV/bin/pip" install -q --disable-pip-version-check -r "$ST_REQS"
  touch "$ST_VENV/.installed"
fi
