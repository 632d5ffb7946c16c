"""The proxy's CA: fresh or reused, and the certificates it issues."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest

from simulator.proxy import CertificateAuthority, CertificateAuthorityError
from simulator.proxy.ca import CA_CERT_FILE, CA_KEY_FILE


def handshake(ca: CertificateAuthority, trusted: Path, host: str) -> dict[str, object]:
    """A real TLS handshake over loopback: `ca` serves `host`, the client trusts
    only the certificate at `trusted`. Returns the server certificate seen."""
    server_context = ca.context_for(host)
    client_context = ssl.create_default_context(cafile=str(trusted))
    client_context.set_alpn_protocols(["h2", "http/1.1"])
    listener = socket.create_server(("127.0.0.1", 0))
    errors: list[BaseException] = []

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with (
            socket.create_connection(listener.getsockname(), timeout=5) as sock,
            client_context.wrap_socket(sock, server_hostname=host) as tls,
        ):
            certificate = tls.getpeercert()
            alpn = tls.selected_alpn_protocol()
    finally:
        thread.join(5)
        listener.close()
    assert certificate is not None
    # The gateway speaks HTTP/1.1 only, so h2 must never be chosen.
    assert alpn == "http/1.1"
    return dict(certificate)


def test_create_writes_cert_and_private_key(tmp_path: Path) -> None:
    ca = CertificateAuthority.create(tmp_path / "ca")

    assert ca.cert_path == tmp_path / "ca" / CA_CERT_FILE
    assert ca.cert_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    key = tmp_path / "ca" / CA_KEY_FILE
    assert b"PRIVATE KEY" in key.read_bytes()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "host",
    [
        "api.clockify.me",
        "global.api.clockify.me",
        "reports.api.clockify.me",
        "x.y.clockify.me",
    ],
)
def test_issued_certificate_verifies_for_its_host(tmp_path: Path, host: str) -> None:
    ca = CertificateAuthority.create(tmp_path)

    certificate = handshake(ca, ca.cert_path, host)

    assert ("DNS", host) in certificate["subjectAltName"]  # type: ignore[operator]


def test_context_is_cached_per_host(tmp_path: Path) -> None:
    ca = CertificateAuthority.create(tmp_path)

    assert ca.context_for("api.clockify.me") is ca.context_for("API.clockify.me.")
    assert ca.context_for("api.clockify.me") is not ca.context_for("euc1.clockify.me")


def test_cache_is_bounded(tmp_path: Path) -> None:
    created = CertificateAuthority.create(tmp_path)
    ca = CertificateAuthority(created._ca, created.cert_path, cache_size=2)
    first = ca.context_for("a.clockify.me")

    ca.context_for("b.clockify.me")
    ca.context_for("c.clockify.me")

    assert ca.context_for("a.clockify.me") is not first


def test_load_from_directory_issues_certs_the_old_cert_verifies(tmp_path: Path) -> None:
    original = CertificateAuthority.create(tmp_path / "mine")

    loaded = CertificateAuthority.load(tmp_path / "mine")

    assert loaded.cert_pem == original.cert_pem
    handshake(loaded, original.cert_path, "api.clockify.me")


def test_load_from_one_file_with_cert_and_key(tmp_path: Path) -> None:
    original = CertificateAuthority.create(tmp_path / "mine")
    combined = tmp_path / "combined.pem"
    combined.write_bytes(
        (tmp_path / "mine" / CA_KEY_FILE).read_bytes() + original.cert_path.read_bytes()
    )

    loaded = CertificateAuthority.load(combined)

    handshake(loaded, original.cert_path, "euc1.clockify.me")


def test_prepare_reuses_a_given_ca_and_copies_only_its_cert(tmp_path: Path) -> None:
    mine = CertificateAuthority.create(tmp_path / "mine")

    cluster = CertificateAuthority.prepare(
        tmp_path / "cluster", reuse_from=tmp_path / "mine"
    )

    assert cluster.cert_path == tmp_path / "cluster" / CA_CERT_FILE
    assert cluster.cert_path.read_bytes() == mine.cert_pem
    assert not (tmp_path / "cluster" / CA_KEY_FILE).exists()
    handshake(cluster, mine.cert_path, "reports.api.clockify.me")


def test_prepare_without_reuse_makes_a_fresh_ca(tmp_path: Path) -> None:
    first = CertificateAuthority.prepare(tmp_path / "one")
    second = CertificateAuthority.prepare(tmp_path / "two")

    assert first.cert_pem != second.cert_pem


def test_certificate_from_another_ca_does_not_verify(tmp_path: Path) -> None:
    ca = CertificateAuthority.create(tmp_path / "one")
    stranger = CertificateAuthority.create(tmp_path / "two")

    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(ca, stranger.cert_path, "api.clockify.me")


def test_load_names_the_expected_files_when_missing(tmp_path: Path) -> None:
    with pytest.raises(CertificateAuthorityError, match=r"ca-key\.pem"):
        CertificateAuthority.load(tmp_path)
