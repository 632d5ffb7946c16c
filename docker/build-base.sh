#!/usr/bin/env bash
# Build a minimal Debian bookworm base image with python3 and venv, offline.
#
# No image registry is needed: the root filesystem comes from debootstrap
# (Debian packages from the mirror apt on this machine already uses) and is
# turned into an image with `docker import`. The build is skipped when the tag
# already exists; pass --force to rebuild it.
#
# Usage: docker/build-base.sh [--force] [TAG]
#   TAG defaults to $REGIONSIM_BASE_IMAGE or regionsim-base:bookworm.
#
# Environment:
#   REGIONSIM_DEBIAN_MIRROR  Debian mirror URL (default: read from apt's sources)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite=bookworm
force=0
tag="${REGIONSIM_BASE_IMAGE:-regionsim-base:bookworm}"

say() { printf 'build-base: %s\n' "$*" >&2; }

while [ "$#" -gt 0 ]; do
    case "$1" in
        --force) force=1 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        -*) say "unknown option $1"; exit 2 ;;
        *) tag="$1" ;;
    esac
    shift
done

# Print the URI of the first apt source that serves "$suite" itself (not
# -updates or -security), in either the one-line or the deb822 format.
configured_mirror() {
    local files=()
    [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ "${#files[@]}" -eq 0 ] && return 1

    awk -v suite="$suite" '
        function flush() {
            if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uri != "") {
                print uri; found = 1; exit
            }
            types = ""; suites = ""; uri = ""
        }
        /^[[:space:]]*#/ { next }
        /^[[:space:]]*$/ { flush(); next }
        # one-line format: deb [options] URI SUITE COMPONENTS...
        $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i + 1) == suite) { print $i; found = 1; exit }
            next
        }
        # deb822 format: stanzas of Types:, URIs:, Suites:
        tolower($1) == "types:" { $1 = ""; types = $0 }
        tolower($1) == "suites:" { $1 = ""; suites = $0 }
        tolower($1) == "uris:" { uri = $2 }
        END { if (!found) flush() }
    ' "${files[@]}"
}

rootfs=""

cleanup() {
    if [ -n "$rootfs" ]; then
        rm -rf --one-file-system "$rootfs" "$rootfs.log"
    fi
}

main() {
    "$here/start-dockerd.sh"

    if [ "$force" -eq 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
        say "$tag already exists; skipping (use --force to rebuild)"
        return 0
    fi

    local mirror="${REGIONSIM_DEBIAN_MIRROR:-}"
    if [ -z "$mirror" ]; then
        mirror="$(configured_mirror || true)"
    fi
    if [ -z "$mirror" ]; then
        say "no apt source for $suite found; set REGIONSIM_DEBIAN_MIRROR"
        return 1
    fi

    rootfs="$(mktemp -d /tmp/regionsim-rootfs.XXXXXX)"
    trap cleanup EXIT

    local started=$SECONDS
    say "debootstrap $suite from $mirror into $rootfs"
    if ! debootstrap --variant=minbase \
        --include=python3,python3-venv,ca-certificates \
        "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
        say "debootstrap failed; last lines of $rootfs.log:"
        tail -n 20 "$rootfs.log" >&2
        return 1
    fi
    rm -f "$rootfs.log"
    local bootstrapped=$SECONDS

    # Downloaded packages and indexes are dead weight in an image.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

    local previous
    previous="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"

    say "importing as $tag"
    tar --numeric-owner -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --message "debootstrap --variant=minbase $suite with python3, python3-venv" \
        - "$tag" >/dev/null

    # A --force rebuild leaves the previous image untagged: drop it.
    if [ -n "$previous" ]; then
        docker image rm "$previous" >/dev/null 2>&1 ||
            say "previous image ${previous:7:12} is still in use; kept"
    fi

    local size
    size="$(docker image inspect --format '{{.Size}}' "$tag")"
    say "built $tag ($((size / 1024 / 1024)) MiB):" \
        "debootstrap $((bootstrapped - started))s," \
        "import $((SECONDS - bootstrapped))s, total $((SECONDS - started))s"
}

main
