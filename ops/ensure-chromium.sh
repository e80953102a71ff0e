#!/usr/bin/env bash
# The browser tests drive Debian's chromium through pip playwright (playwright cannot
# download its own browsers here). Installs it once; a no-op when it is already there.
set -euo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing: run 'sudo apt-get install -y chromium'" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
