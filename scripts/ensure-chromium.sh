#!/usr/bin/env bash
# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium not found: installing Debian's chromium package" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "chromium is not installed; the browser tests will be skipped (sudo apt-get install chromium)" >&2
