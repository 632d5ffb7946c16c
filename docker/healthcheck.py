"""Container health check: GET the service's health route on loopback.

Run by the image's HEALTHCHECK. The port and host come from the service's own
command line (PID 1 is `regionsim serve ... --port N`), so the check follows
whatever arguments the container was started with; `PORT` is the fallback.
Exits 0 on HTTP 200 and 1 otherwise, printing one line on why.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

HEALTH_PATH = "/__regionsim/v1/health"
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def service_args() -> list[str]:
    """The command line of the container's main process."""
    try:
        with open("/proc/1/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def option(args: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE`, the last one winning."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg.partition("=")[2]
    return value


def health_url(args: list[str]) -> str:
    port = option(args, "--port") or os.environ.get("PORT", "8000")
    host = option(args, "--host") or ""
    # A service bound to all addresses answers on loopback too.
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}{HEALTH_PATH}"


def main() -> int:
    url = health_url(service_args())
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}")
        return 1

    if status != 200:
        print(f"unhealthy: {url} answered {status}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
