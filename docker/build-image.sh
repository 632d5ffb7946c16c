#!/usr/bin/env bash
# Build the project's image (regionsim:dev) from a wheelhouse, offline.
#
# 1. Builds wheels of the project and its dependencies on the host into
#    docker/wheelhouse/ (the image has no route to a package index).
# 2. Builds the Dockerfile on the regionsim-base:bookworm image from
#    build-base.sh (built first if missing), or on BASE_IMAGE when set.
#
# The image is labelled org.regionsim.source-digest with a digest of what it is
# made of (the service code, the packaging, the image's files, the base image's
# id and the extras); the docker backend rebuilds only when that label differs
# from `--print-digest`.
#
# Usage: docker/build-image.sh [--print-digest] [TAG]
#   TAG             defaults to regionsim:dev
#   --print-digest  print the digest the image would get now, build nothing
#
# Environment:
#   BASE_IMAGE        base image (default: regionsim-base:bookworm, built here)
#   REGIONSIM_EXTRAS  extras to install in the image, e.g. "proxy"
#   REGIONSIM_OFFLINE set to 1 to build wheels from docker/wheelhouse/ only
#   REGIONSIM_PYTHON  host interpreter for `pip wheel` (default python3); its
#                     version must match the image's python (3.11)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tag=regionsim:dev
print_digest=0
base_image="${BASE_IMAGE:-}"
extras="${REGIONSIM_EXTRAS:-}"
python="${REGIONSIM_PYTHON:-python3}"
wheelhouse="$here/wheelhouse"
image_python=3.11
default_base=regionsim-base:bookworm
digest_label=org.regionsim.source-digest

say() { printf 'build-image: %s\n' "$*" >&2; }

while [ "$#" -gt 0 ]; do
    case "$1" in
        --print-digest) print_digest=1 ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        -*) say "unknown option $1"; exit 2 ;;
        *) tag="$1" ;;
    esac
    shift
done

srcdir=""
cleanup() {
    if [ -n "$srcdir" ]; then rm -rf "$srcdir" "$srcdir.wheels"; fi
}
trap cleanup EXIT

# Copy the project's files (tracked or not, minus what .gitignore excludes) to
# a scratch folder, so the wheel build leaves no build/ or egg-info behind.
copy_sources() {
    srcdir="$(mktemp -d /tmp/regionsim-src.XXXXXX)"
    if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
        # A tracked file deleted in the work tree is skipped, not an error.
        git -C "$root" ls-files -z --cached --others --exclude-standard \
            | tar -C "$root" --null -T - --ignore-failed-read -c 2>/dev/null \
            | tar -C "$srcdir" -x
    else
        tar -C "$root" --exclude=./.git --exclude=./docker/wheelhouse -c . \
            | tar -C "$srcdir" -x
    fi
}

build_wheels() {
    local host_python
    host_python="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [ "$host_python" != "$image_python" ]; then
        say "$python is $host_python; the image runs $image_python and its" \
            "binary wheels must match: set REGIONSIM_PYTHON to a python$image_python"
        return 1
    fi

    [ -n "$srcdir" ] || copy_sources
    local fresh="$srcdir.wheels"
    mkdir -p "$fresh/deps" "$fresh/project" "$wheelhouse"

    local requirement="$srcdir"
    [ -n "$extras" ] && requirement="${srcdir}[$extras]"
    # Wheels already in the wheelhouse are reused rather than downloaded again;
    # build/ holds the project's build backend, so an offline build works too.
    local pip_args=(--quiet --disable-pip-version-check
        --find-links "$wheelhouse/deps" --find-links "$wheelhouse/build")
    [ "${REGIONSIM_OFFLINE:-0}" = 1 ] && pip_args+=(--no-index)

    say "building wheels into $wheelhouse"
    local build_requires
    mapfile -t build_requires < <("$python" -c '
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["build-system"]["requires"]))
' "$srcdir/pyproject.toml")
    if ! "$python" -m pip wheel "${pip_args[@]}" -w "$fresh/build" "${build_requires[@]}" ||
        ! "$python" -m pip wheel "${pip_args[@]}" -w "$fresh/deps" "$requirement"; then
        say "pip wheel failed (REGIONSIM_OFFLINE=1 uses only the wheels already there)"
        return 1
    fi

    # The project apart from its dependencies: a code change then rebuilds only
    # the image's last install layer. The fresh set replaces the old one, so the
    # wheelhouse holds exactly what this build resolved.
    mv "$fresh"/deps/regionsim-*.whl "$fresh/project/"
    rm -rf "$wheelhouse/build" "$wheelhouse/deps" "$wheelhouse/project"
    mv "$fresh/build" "$fresh/deps" "$fresh/project" "$wheelhouse/"
}

# The digest of the copied sources: what goes into the project's wheel and the
# image (the service code, the packaging, the Dockerfile and its context rules,
# the health check), the base image's id and the extras. conformance/ is in the
# wheel too, but no service imports it, so it is left out.
source_digest() {
    local base_id
    base_id="$(docker image inspect --format '{{.Id}}' "$1" 2>/dev/null)" ||
        base_id=missing
    {
        (
            cd "$srcdir"
            find simulator pyproject.toml Dockerfile .dockerignore \
                docker/healthcheck.py -type f ! -name '*.pyc' \
                ! -path '*/__pycache__/*' -print0 |
                LC_ALL=C sort -z | xargs -0 sha256sum
        )
        printf 'base %s\nextras %s\n' "$base_id" "$extras"
    } | sha256sum | cut -c1-64
}

main() {
    local started=$SECONDS
    copy_sources
    if [ "$print_digest" -eq 1 ]; then
        source_digest "${base_image:-$default_base}"
        return 0
    fi
    build_wheels
    local wheeled=$SECONDS

    if [ -z "$base_image" ]; then
        base_image=$default_base
        "$here/build-base.sh" "$base_image"
    else
        "$here/start-dockerd.sh"
    fi
    local based=$SECONDS
    local digest
    digest="$(source_digest "$base_image")"

    say "building $tag on $base_image"
    # The classic builder: what the docker SDK (and so testcontainers) uses,
    # and it needs no buildx plugin and no registry for a frontend image.
    local previous output
    previous="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
    if ! output="$(DOCKER_BUILDKIT=0 docker build \
        --build-arg BASE_IMAGE="$base_image" \
        --build-arg REGIONSIM_EXTRAS="$extras" \
        --label "$digest_label=$digest" \
        -t "$tag" "$root" 2>&1)"; then
        say "docker build failed; its last lines:"
        printf '%s\n' "$output" | tail -n 30 >&2
        return 1
    fi

    # The previous build of this tag is left untagged: drop it unless in use.
    local current
    current="$(docker image inspect --format '{{.Id}}' "$tag")"
    if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
        docker image rm "$previous" >/dev/null 2>&1 ||
            say "previous image ${previous:7:12} is still in use; kept"
    fi

    local size
    size="$(docker image inspect --format '{{.Size}}' "$tag")"
    say "built $tag ($((size / 1024 / 1024)) MiB): wheels $((wheeled - started))s," \
        "base $((based - wheeled))s, image $((SECONDS - based))s"
}

main
