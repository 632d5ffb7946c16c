"""Proxy mode: real clients, unchanged, reach the simulator through HTTPS_PROXY.

The pieces:

- `CertificateAuthority`: the local CA and the per-host certificates it issues.
- `ProxyServer` / `ProxyThread` / `run_proxy`: the proxy itself.
- `ProxySettings` / `env_lines`: what `regionsim env` prints and the cluster
  descriptor records.

The proxy needs the `proxy` extra (trustme, h11). `ProxySettings` and the env
lines do not, so the CLI can read a descriptor without it: everything else is
imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from simulator.proxy.settings import ProxySettings, env_lines, unset_lines

if TYPE_CHECKING:
    from simulator.proxy.addresses import AddressError
    from simulator.proxy.ca import CertificateAuthority, CertificateAuthorityError
    from simulator.proxy.runner import (
        ProxyThread,
        read_settings,
        run_proxy,
        write_settings,
    )
    from simulator.proxy.server import ProxyServer, ProxyStats

_LAZY = {
    "AddressError": "simulator.proxy.addresses",
    "CertificateAuthority": "simulator.proxy.ca",
    "CertificateAuthorityError": "simulator.proxy.ca",
    "ProxyServer": "simulator.proxy.server",
    "ProxyStats": "simulator.proxy.server",
    "ProxyThread": "simulator.proxy.runner",
    "read_settings": "simulator.proxy.runner",
    "run_proxy": "simulator.proxy.runner",
    "write_settings": "simulator.proxy.runner",
}

__all__ = [
    "AddressError",
    "CertificateAuthority",
    "CertificateAuthorityError",
    "ProxyServer",
    "ProxySettings",
    "ProxyStats",
    "ProxyThread",
    "env_lines",
    "read_settings",
    "run_proxy",
    "unset_lines",
    "write_settings",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
