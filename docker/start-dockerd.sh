#!/usr/bin/env bash
# Start a local Docker engine for the docker backend, idempotently.
#
# Installs docker.io and debootstrap from Debian when they are missing, starts
# dockerd in the background when no engine answers, and waits (bounded) until
# `docker info` answers. Safe to run again: an engine that already answers is
# left alone.
#
# Environment:
#   REGIONSIM_DOCKERD_LOG   dockerd's log file (default /tmp/regionsim-dockerd.log)
#   REGIONSIM_DOCKERD_WAIT  seconds to wait for the engine (default 60)
set -euo pipefail

log_file="${REGIONSIM_DOCKERD_LOG:-/tmp/regionsim-dockerd.log}"
wait_seconds="${REGIONSIM_DOCKERD_WAIT:-60}"

say() { printf 'start-dockerd: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    [ "${#missing[@]}" -eq 0 ] && return 0

    say "installing ${missing[*]}"
    as_root apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

engine_answers() {
    docker info >/dev/null 2>&1
}

main() {
    install_missing

    if engine_answers; then
        say "engine already running"
        return 0
    fi

    # A pid file left by an engine that died would make dockerd refuse to start.
    local pid_file=/var/run/docker.pid
    if [ -f "$pid_file" ] && ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
        as_root rm -f "$pid_file"
    fi

    if [ -f "$pid_file" ]; then
        say "dockerd (pid $(cat "$pid_file")) is starting; waiting for it"
    else
        say "starting dockerd, log in $log_file"
        # setsid: the engine outlives the shell that started it.
        as_root setsid dockerd >"$log_file" 2>&1 </dev/null &
    fi

    local waited=0
    until engine_answers; do
        if [ "$waited" -ge "$wait_seconds" ]; then
            say "engine did not answer 'docker info' within ${wait_seconds}s"
            say "last lines of $log_file:"
            tail -n 20 "$log_file" >&2 2>/dev/null || true
            say "hint: check that no other dockerd holds /var/run/docker.sock"
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    say "engine ready after ${waited}s ($(docker version --format '{{.Server.Version}}'))"
}

main "$@"
