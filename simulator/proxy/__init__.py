"""Proxy mode: real clients, unchanged, reach the simulator through HTTPS_PROXY.

Needs the `proxy` extra (trustme, h11). The pieces:

- `CertificateAuthority`: the local CA and the per-host certificates it issues.
- `ProxyServer` / `ProxyThread` / `run_proxy`: the proxy itself.
- `ProxySettings` / `env_lines`: what `regionsim env` prints and the cluster
  descriptor records.
"""

from __future__ import annotations

from simulator.proxy.addresses import AddressError
from simulator.proxy.ca import CertificateAuthority, CertificateAuthorityError
from simulator.proxy.runner import ProxyThread, read_settings, run_proxy, write_settings
from simulator.proxy.server import ProxyServer, ProxyStats
from simulator.proxy.settings import ProxySettings, env_lines, unset_lines

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
