#!/usr/bin/env bash
# Stop the Docker engine started by start-dockerd.sh (bounded wait).
#
# Sends SIGTERM to the pid in dockerd's pid file and waits for it to exit;
# running containers are stopped by the engine on its way down.
#
# Environment:
#   REGIONSIM_DOCKERD_WAIT  seconds to wait for the engine to exit (default 30)
set -euo pipefail

wait_seconds="${REGIONSIM_DOCKERD_WAIT:-30}"
pid_file=/var/run/docker.pid

say() { printf 'stop-dockerd: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -f "$pid_file" ]; then
    say "no $pid_file: dockerd is not running"
    exit 0
fi

pid="$(cat "$pid_file")"
if ! kill -0 "$pid" 2>/dev/null; then
    say "stale pid file (pid $pid is gone); removing it"
    as_root rm -f "$pid_file"
    exit 0
fi

say "stopping dockerd (pid $pid)"
as_root kill -TERM "$pid"

waited=0
while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge "$wait_seconds" ]; then
        say "dockerd (pid $pid) still running after ${wait_seconds}s"
        exit 1
    fi
    sleep 1
    waited=$((waited + 1))
done
say "dockerd stopped after ${waited}s"
