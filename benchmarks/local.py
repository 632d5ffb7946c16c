"""Loopback-only plumbing: free ports, plain HTTP, process trees and their sockets.

Everything the runner sends goes through `http_request`, which refuses any host
outside the loopback range and never consults proxy settings.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK_HOST = "127.0.0.1"


class BenchmarkError(Exception):
    """A measurement could not be taken; the message says what and why."""


class NotMeasured(BenchmarkError):
    """A part cannot be measured on this machine (no engine, no tool); not a failure."""


class LoopbackViolation(BenchmarkError):
    """A process under measurement holds a socket that is not on loopback."""


@dataclass(frozen=True)
class HttpAnswer:
    """Status and body of one HTTP exchange."""

    status: int
    body: bytes


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def require_loopback(url: str) -> None:
    """Raise unless `url` points at an address on this machine."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise LoopbackViolation(f"{url} does not name a loopback address") from None
    if not address.is_loopback:
        raise LoopbackViolation(f"{url} is outside the loopback range")


def http_request(
    url: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout_s: float = 2.0,
) -> HttpAnswer:
    """One request on a fresh connection, straight to a loopback address."""
    require_loopback(url)
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    conn = http.client.HTTPConnection(
        parts.hostname or "", parts.port, timeout=timeout_s
    )
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return HttpAnswer(response.status, response.read())
    finally:
        conn.close()


def process_tree(root_pid: int) -> list[int]:
    """`root_pid` and all its live descendants, found through their parent ids."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name sits in parentheses and may contain spaces.
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree: list[int] = []
    pending = [root_pid]
    while pending:
        pid = pending.pop()
        if Path(f"/proc/{pid}").exists():
            tree.append(pid)
            pending.extend(children.get(pid, []))
    return tree


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (VmRSS), 0 if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_rss_bytes(root_pids: Iterable[int]) -> int:
    """Resident memory of the given processes and all their children, each counted once."""
    pids = {pid for root in root_pids for pid in process_tree(root)}
    return sum(rss_bytes(pid) for pid in pids)


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _decode_address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    raw = bytes.fromhex(hex_address)
    # /proc/net/* prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(words) == 4:
        return ipaddress.IPv4Address(words)
    address = ipaddress.IPv6Address(words)
    return address.ipv4_mapped or address


def check_loopback_only(root_pids: Iterable[int]) -> int:
    """Raise if any socket of these process trees is bound or connected off loopback.

    A listener must be bound to a loopback address (not 0.0.0.0) and every peer
    address must be loopback. Unix sockets are not network traffic and are ignored.
    Returns how many inet sockets were checked.
    """
    checked = 0
    for pid in {pid for root in root_pids for pid in process_tree(root)}:
        inodes = _socket_inodes(pid)
        if not inodes:
            continue
        for table in ("tcp", "tcp6", "udp", "udp6"):
            try:
                lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if fields[9] not in inodes:
                    continue
                checked += 1
                local = _decode_address(fields[1].split(":")[0])
                remote = _decode_address(fields[2].split(":")[0])
                if not local.is_loopback or not (
                    remote.is_unspecified or remote.is_loopback
                ):
                    raise LoopbackViolation(
                        f"process {pid} holds a {table} socket {local} -> {remote}; "
                        "only loopback is allowed"
                    )
    return checked
