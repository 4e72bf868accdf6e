#!/usr/bin/env bash
# Run a command and start it again whenever it dies on its own (a crash, a kill -9), as
# a process supervisor would on a real machine. honcho stops every process once one
# exits; under make scale a killed Redis node or web process must come back instead.
# SIGINT/SIGTERM (Ctrl-C, honcho stopping) end the command and this loop.
set -uo pipefail
child=0
stopping=0
trap 'stopping=1; [ "$child" != 0 ] && kill -TERM "$child" 2>/dev/null' INT TERM
while :; do
  "$@" &
  child=$!
  wait "$child"
  status=$?
  # wait returns early when a trapped signal arrives: wait for the child itself.
  while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
  [ "$stopping" = 1 ] && exit 0
  echo "respawn: '$*' exited with status $status; starting it again in 1 s" >&2
  sleep 1
done
