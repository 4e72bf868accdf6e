#!/usr/bin/env bash
# Make sure a redis-server binary exists: install Debian's package when we are root,
# otherwise say how to get one.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server not found: installing Debian's redis-server package" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  # The package starts a system Redis on 6379; the project runs its own, so leave that one alone.
  exit 0
fi
echo "redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server;" >&2
echo "macOS: brew install redis) and run this again." >&2
exit 1
