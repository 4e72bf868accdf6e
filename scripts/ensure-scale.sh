#!/usr/bin/env bash
# make scale needs a load balancer (HAProxy) and Redis Sentinel besides redis-server:
# install Debian's packages when we are root, otherwise say how to get them.
set -euo pipefail
missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
[ ${#missing[@]} = 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "${missing[*]} not found: installing Debian's packages" >&2
  # The packages would start system services (a sentinel watching the Redis on 6379, an
  # HAProxy); make scale runs its own, so keep the package scripts from starting any.
  blocker=/usr/sbin/policy-rc.d
  made_blocker=0
  if [ ! -e "$blocker" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$blocker" && chmod +x "$blocker" && made_blocker=1
  fi
  trap '[ "$made_blocker" = 1 ] && rm -f "$blocker"' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "${missing[*]} not installed. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]};" >&2
echo "macOS: brew install haproxy redis) and run this again." >&2
exit 1
