"""The certificate authority of the proxy mode and the leaf certificates it issues.

The CA is written as PEM files so clients can be told to trust it
(`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, ...). Leaf certificates are issued per
host on first use and cached: a `*.clockify.me` wildcard would not cover
`global.api.clockify.me`, `reports.api.clockify.me` or any deeper name.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from collections import OrderedDict
from pathlib import Path

import trustme

logger = logging.getLogger(__name__)

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
ORGANIZATION = "regionsim"

# Custom subdomains make the set of hosts open-ended; keep the cache bounded.
DEFAULT_CACHE_SIZE = 512


class CertificateAuthorityError(Exception):
    """A CA could not be loaded from the path given."""


class CertificateAuthority:
    """A local CA whose certificate clients trust while they use the proxy.

    Build one with `create` (fresh PEM files in a directory), `load` (an existing
    CA) or `prepare` (the choice `regionsim up --proxy` makes).
    """

    def __init__(
        self, ca: trustme.CA, cert_path: Path, *, cache_size: int = DEFAULT_CACHE_SIZE
    ) -> None:
        self._ca = ca
        self.cert_path = cert_path
        self._cache_size = cache_size
        self._contexts: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def create(cls, directory: Path) -> CertificateAuthority:
        """Make a new CA and write `ca.pem` and `ca-key.pem` (mode 0600) in `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(
            organization_name=ORGANIZATION,
            organization_unit_name="regionsim local CA for the proxy mode",
        )
        key_path = directory / CA_KEY_FILE
        # Create the key file private from the start rather than chmod it later.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as key_file:
            key_file.write(ca.private_key_pem.bytes())
        cert_path = directory / CA_CERT_FILE
        ca.cert_pem.write_to_path(str(cert_path))
        logger.info("created a CA for the proxy at %s", cert_path)
        return cls(ca, cert_path)

    @classmethod
    def load(cls, path: Path) -> CertificateAuthority:
        """Load a CA from a directory holding `ca.pem` and `ca-key.pem`, or from
        one PEM file holding both the certificate and its private key."""
        if path.is_dir():
            cert_path, key_path = path / CA_CERT_FILE, path / CA_KEY_FILE
        else:
            cert_path = key_path = path
        try:
            # cryptography finds the right block in a file that holds both.
            ca = trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise CertificateAuthorityError(
                f"cannot load a CA from {path}: {exc}; give a directory with "
                f"{CA_CERT_FILE} and {CA_KEY_FILE}, or one PEM file with both"
            ) from exc
        return cls(ca, cert_path)

    @classmethod
    def prepare(
        cls, directory: Path, reuse_from: Path | None = None
    ) -> CertificateAuthority:
        """A fresh CA in `directory`, or the CA at `reuse_from` if one is given.

        A reused CA keeps its key where the user keeps it; only its certificate
        is copied to `directory/ca.pem`, so the env lines always name that file.
        """
        if reuse_from is None:
            return cls.create(directory)
        loaded = cls.load(reuse_from)
        directory.mkdir(parents=True, exist_ok=True)
        cert_path = directory / CA_CERT_FILE
        loaded._ca.cert_pem.write_to_path(str(cert_path))
        logger.info("reusing the CA from %s", reuse_from)
        return cls(loaded._ca, cert_path)

    @property
    def cert_pem(self) -> bytes:
        return self._ca.cert_pem.bytes()

    def context_for(self, host: str) -> ssl.SSLContext:
        """The TLS server context presenting a certificate for `host` (issued once)."""
        host = host.lower().rstrip(".")
        with self._lock:
            context = self._contexts.get(host)
            if context is not None:
                self._contexts.move_to_end(host)
                return context
        context = self._issue(host)
        with self._lock:
            self._contexts[host] = context
            while len(self._contexts) > self._cache_size:
                self._contexts.popitem(last=False)
        return context

    def _issue(self, host: str) -> ssl.SSLContext:
        leaf = self._ca.issue_cert(host, organization_name=ORGANIZATION)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # The gateway speaks HTTP/1.1 only; clients that offer h2 must not pick it.
        context.set_alpn_protocols(["http/1.1"])
        leaf.configure_cert(context)
        logger.debug("issued a certificate for %s", host)
        return context
