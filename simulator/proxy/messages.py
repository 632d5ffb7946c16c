"""Headers the proxy passes on, and the answers it makes itself.

Everything end to end passes unchanged, in its original case and order:
`Host`, credentials, bodies and the gateway's `Location` headers. Only the
hop-by-hop headers of each leg are dropped; h11 frames each leg itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from http import HTTPStatus

import h11

Headers = list[tuple[bytes, bytes]]

# Hop-by-hop headers (RFC 9110 section 7.6.1) and the proxy's own.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"upgrade",
    }
)
# The proxy answers `Expect: 100-continue` itself, and it alone says which
# scheme the client used, so a client cannot claim https over plain http.
REQUEST_ONLY = frozenset({b"expect", b"x-forwarded-proto"})

REFUSAL_HEADER = b"X-Regionsim-Proxy"


def _connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    return tokens


def request_headers(
    raw: Headers, *, host: bytes | None, forwarded_proto: bytes | None
) -> Headers:
    """The client's headers as the gateway gets them.

    Args:
        raw: the client's headers with their original case.
        host: replaces the `Host` value (absolute-form requests carry it in the
            URL), or None to keep the client's.
        forwarded_proto: the `X-Forwarded-Proto` value, or None for none.
    """
    dropped = HOP_BY_HOP | REQUEST_ONLY | _connection_tokens(raw)
    headers: Headers = []
    host_seen = False
    for name, value in raw:
        lowered = name.lower()
        if lowered in dropped:
            continue
        if lowered == b"host":
            if host_seen:
                continue
            host_seen = True
            value = host if host is not None else value
        headers.append((name, value))
    if not host_seen and host is not None:
        headers.insert(0, (b"Host", host))
    if forwarded_proto is not None:
        headers.append((b"X-Forwarded-Proto", forwarded_proto))
    return headers


def response_headers(raw: Headers) -> Headers:
    """The gateway's headers as the client gets them (`Location` untouched)."""
    dropped = HOP_BY_HOP | _connection_tokens(raw)
    return [(name, value) for name, value in raw if name.lower() not in dropped]


def proxy_answer(
    status: int, reason: str, message: str, **fields: str
) -> list[h11.Event]:
    """A JSON answer made by the proxy itself, closing the connection after it.

    `reason` is a stable slug (`not_a_clockify_host`, `gateway_unreachable`,
    ...); the header `X-Regionsim-Proxy` carries it too, so a client can tell
    the proxy's answers from the gateway's.
    """
    body = json.dumps({"message": message, "reason": reason, **fields}).encode()
    headers = [
        (b"Content-Type", b"application/json"),
        (b"Content-Length", str(len(body)).encode()),
        (REFUSAL_HEADER, reason.encode()),
        (b"Connection", b"close"),
    ]
    return [
        h11.Response(
            status_code=status,
            headers=headers,
            reason=HTTPStatus(status).phrase.encode(),
        ),
        h11.Data(data=body),
        h11.EndOfMessage(),
    ]


def refuse_host(host: str) -> list[h11.Event]:
    """403 for any host that is not a Clockify host."""
    return proxy_answer(
        403,
        "not_a_clockify_host",
        f"regionsim proxy refused {host!r}: it serves only clockify.me and the names "
        "below it, and sends nothing else anywhere, so no request can leave this "
        "machine by mistake. Add the host to NO_PROXY if it must be reached directly.",
        host=host,
    )
