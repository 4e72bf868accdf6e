#!/usr/bin/env bash
# The project's own Redis: data under $DATA_DIR/redis, every write fsynced to the AOF
# before it is acknowledged, so a kill -9 loses no event that was reported published.
set -euo pipefail
dir="${DATA_DIR:-./var}/redis"
mkdir -p "$dir"
exec redis-server \
  --port "${REDIS_PORT:-6380}" \
  --bind 127.0.0.1 \
  --dir "$dir" \
  --appendonly yes \
  --appendfsync always \
  --save "" \
  --daemonize no \
  --logfile ""
