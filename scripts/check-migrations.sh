#!/usr/bin/env bash
# Migrations are append-only and applied by file name: each must be NNNN_name.sql
# with a number used once, or two branches can silently skip each other's.
set -euo pipefail
cd "$(dirname "$0")/../migrations"
bad=$(ls | grep -vE '^[0-9]{4}_[a-z0-9_]+\.sql$' || true)
[ -z "$bad" ] || { echo "migrations not named NNNN_name.sql: $bad" >&2; exit 1; }
dupes=$(ls | cut -c1-4 | sort | uniq -d)
[ -z "$dupes" ] || { echo "migration numbers used twice: $dupes" >&2; exit 1; }
