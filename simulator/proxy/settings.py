"""What a client needs to use the proxy: its URL and the CA to trust.

`ProxySettings` is what the cluster descriptor records; `env_lines` gives the
shell lines that `regionsim env` prints.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Loopback must never go through the proxy: the gateway, the region servers and
# the admin API are all reached directly.
NO_PROXY = "127.0.0.1,localhost"

# Each client reads its own variable: requests, OpenSSL (urllib, httpx, Ruby,
# ...), curl and Node.
CA_BUNDLE_VARIABLES = (
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")


@dataclass(frozen=True)
class ProxySettings:
    """Where the proxy listens and which CA certificate clients must trust."""

    proxy_url: str
    ca_cert_path: Path

    def environment(self) -> dict[str, str]:
        """The variables that send unmodified clients through the proxy."""
        values = {
            "HTTPS_PROXY": self.proxy_url,
            "HTTP_PROXY": self.proxy_url,
            "NO_PROXY": NO_PROXY,
        }
        # Some clients read only the lowercase names (curl ignores HTTP_PROXY).
        values.update({name.lower(): value for name, value in list(values.items())})
        values.update({name: str(self.ca_cert_path) for name in CA_BUNDLE_VARIABLES})
        return values

    def to_dict(self) -> dict[str, str]:
        """The descriptor's `proxy` entry (camelCase, like the rest of it)."""
        return {"proxyUrl": self.proxy_url, "caCertPath": str(self.ca_cert_path)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProxySettings:
        return cls(
            proxy_url=str(data["proxyUrl"]), ca_cert_path=Path(data["caCertPath"])
        )


def env_lines(settings: ProxySettings) -> list[str]:
    """Shell lines for `regionsim env`, meant for `eval "$(regionsim env)"`."""
    return [
        f"export {name}={shlex.quote(value)}"
        for name, value in settings.environment().items()
    ]


def unset_lines() -> list[str]:
    """Shell lines that undo `env_lines` (for `regionsim env --unset`)."""
    names = [*PROXY_VARIABLES, *(name.lower() for name in PROXY_VARIABLES)]
    return [f"unset {' '.join([*names, *CA_BUNDLE_VARIABLES])}"]
