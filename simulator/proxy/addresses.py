"""Parsing the addresses the proxy meets: the gateway URL, CONNECT authorities,
request targets."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost"})


class AddressError(ValueError):
    """An address the proxy will not use (not loopback, bad syntax)."""


def is_loopback(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1 (names are never resolved)."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class GatewayAddress:
    """The gateway's loopback listener: the one place the proxy connects to."""

    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> GatewayAddress:
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise AddressError(f"the gateway URL must be http://, got {url!r}")
        if parts.path not in ("", "/") or parts.query:
            raise AddressError(f"the gateway URL must have no path, got {url!r}")
        host = parts.hostname or ""
        if not is_loopback(host):
            raise AddressError(
                f"the gateway must listen on a loopback address, got {host!r}"
            )
        return cls(host=host, port=parts.port or 80)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def split_authority(authority: str, default_port: int) -> tuple[str, int]:
    """`host[:port]` (or `[v6]:port`) as a lowercase host and a port."""
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = authority.rpartition(":")
        if not host:
            host, port_text = port_text, ""
    if port_text and not port_text.isdigit():
        raise AddressError(f"bad port in {authority!r}")
    port = int(port_text) if port_text else default_port
    if not host or not 0 < port < 65536:
        raise AddressError(f"bad authority {authority!r}")
    return host.lower().rstrip("."), port


@dataclass(frozen=True)
class RequestTarget:
    """Where a request to the proxy is going, and the origin-form path to send on."""

    scheme: str | None
    authority: str | None
    path: str

    @classmethod
    def parse(cls, target: str) -> RequestTarget:
        """Read an absolute-form (`http://host/path`) or origin-form (`/path`) target."""
        lowered = target[:8].lower()
        if lowered.startswith(("http://", "https://")):
            parts = urlsplit(target)
            path = parts.path or "/"
            if parts.query:
                path = f"{path}?{parts.query}"
            if not parts.netloc or "@" in parts.netloc:
                raise AddressError(f"bad request target {target!r}")
            return cls(scheme=parts.scheme.lower(), authority=parts.netloc, path=path)
        if target.startswith("/") or target == "*":
            return cls(scheme=None, authority=None, path=target)
        raise AddressError(f"bad request target {target!r}")
