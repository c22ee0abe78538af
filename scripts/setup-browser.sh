#!/usr/bin/env bash
# Debian's Chromium for the browser tests (playwright's own download cannot
# work offline). Installed once; later runs cost nothing.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's chromium (once)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium > /dev/null
fi
