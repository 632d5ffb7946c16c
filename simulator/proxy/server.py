"""The proxy: an HTTP and HTTPS forward proxy that serves only Clockify hosts.

Plain HTTP requests arrive in absolute form (`GET http://host/path`); HTTPS
arrives as `CONNECT host:443`, after which the proxy terminates TLS with a
certificate for that host from its own CA. Either way the request goes to the
gateway unchanged apart from hop-by-hop headers, with `X-Forwarded-Proto:
https` when TLS was terminated. Any other host gets a 403 from the proxy
itself, and the proxy never connects anywhere but the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass

import h11

from simulator.proxy.addresses import (
    AddressError,
    GatewayAddress,
    RequestTarget,
    is_loopback,
    split_authority,
)
from simulator.proxy.ca import CertificateAuthority
from simulator.proxy.gateway_link import GatewayLink
from simulator.proxy.messages import (
    proxy_answer,
    refuse_host,
    request_headers,
    response_headers,
)
from simulator.proxy.settings import ProxySettings
from simulator.proxy.streams import HttpStream, ReceivedEvent
from simulator.regions import is_clockify_host

logger = logging.getLogger(__name__)

DEFAULT_GATEWAY_TIMEOUT = 120.0
DEFAULT_IDLE_TIMEOUT = 75.0
TLS_HANDSHAKE_TIMEOUT = 10.0


@dataclass
class ProxyStats:
    """Counters a test or a benchmark can read."""

    client_connections: int = 0
    gateway_connections: int = 0
    requests_forwarded: int = 0
    requests_refused: int = 0
    tls_failures: int = 0
    gateway_retries: int = 0


class _Refused(Exception):
    """The proxy answers a request itself instead of forwarding it."""

    def __init__(self, events: list[h11.Event]) -> None:
        super().__init__()
        self.events = events


class _ClientGone(Exception):
    """The client closed or went silent in the middle of a request."""


class ProxyServer:
    """Listens on loopback and hands Clockify requests to the gateway.

    Args:
        gateway_url: the gateway's `http://127.0.0.1:PORT` URL; it must be
            loopback, as it is the only address the proxy ever connects to.
        ca: the CA whose leaf certificates the proxy presents.
        host: the listening address (loopback only: this is no open proxy).
        port: the listening port, 0 for a free one.
    """

    def __init__(
        self,
        gateway_url: str,
        ca: CertificateAuthority,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        gateway_timeout: float = DEFAULT_GATEWAY_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        if not is_loopback(host):
            raise AddressError(f"the proxy listens on loopback only, not {host!r}")
        self.gateway = GatewayAddress.parse(gateway_url)
        self.ca = ca
        self.host = host
        self.port = port
        self.gateway_timeout = gateway_timeout
        self.idle_timeout = idle_timeout
        self.stats = ProxyStats()
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def settings(self) -> ProxySettings:
        return ProxySettings(proxy_url=self.url, ca_cert_path=self.ca.cert_path)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info(
            "proxy listening on %s, forwarding to the gateway at %s",
            self.url,
            self.gateway.url,
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)
        logger.info("proxy on %s stopped", self.url)

    async def open_gateway_connection(
        self,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Open a connection to the gateway: the only outbound connect there is."""
        self.stats.gateway_connections += 1
        return await asyncio.open_connection(self.gateway.host, self.gateway.port)

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        self.stats.client_connections += 1
        session = _ClientSession(self, reader, writer)
        # A handler task must not end cancelled: Python 3.11's asyncio logs
        # that as an error. Cancelling is how close() ends idle connections.
        try:
            await session.run()
        except asyncio.CancelledError:
            logger.debug("client connection closed by the proxy's shutdown")
        except (
            _ClientGone,
            ConnectionError,
            TimeoutError,
            h11.ProtocolError,
            ssl.SSLError,
        ) as exc:
            logger.debug("client connection ended: %r", exc)
        finally:
            self._sessions.discard(task)
            with contextlib.suppress(asyncio.CancelledError):
                await session.close()


class _ClientSession:
    """One client connection, with its link to the gateway."""

    def __init__(
        self,
        proxy: ProxyServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.proxy = proxy
        self.writer = writer
        self.client = HttpStream(h11.SERVER, reader, writer)
        self.link = GatewayLink(proxy.open_gateway_connection, proxy.gateway_timeout)

    async def run(self) -> None:
        event = await self.client.next_event(self.proxy.idle_timeout)
        if not isinstance(event, h11.Request):
            return
        if event.method == b"CONNECT":
            await self._tunnel(event)
        else:
            await self._serve(event, tunnel_host=None)

    async def close(self) -> None:
        await self.link.close()
        await self.client.close()

    async def _tunnel(self, connect: h11.Request) -> None:
        """Answer CONNECT, terminate TLS, then serve the requests inside."""
        try:
            host, _ = split_authority(connect.target.decode("ascii"), 443)
        except (AddressError, UnicodeDecodeError):
            await self._answer_refusal(
                proxy_answer(400, "bad_connect", "CONNECT needs a host:port target")
            )
            return
        # A CONNECT has no body: its end comes at once, or the client is gone.
        event = await self.client.next_event(self.proxy.idle_timeout)
        while isinstance(event, h11.Data):
            event = await self.client.next_event(self.proxy.idle_timeout)
        if not isinstance(event, h11.EndOfMessage):
            return
        if not is_clockify_host(host):
            self.proxy.stats.requests_refused += 1
            logger.info("CONNECT %s refused: not a Clockify host", host)
            await self._answer_refusal(refuse_host(host))
            return

        context = self.proxy.ca.context_for(host)
        await self.client.send(
            h11.Response(status_code=200, headers=[], reason=b"Connection established")
        )
        if self.client.conn.trailing_data[0]:
            # The client spoke before hearing the 200; it cannot be TLS we can read.
            logger.warning("client sent data before the CONNECT answer; closing")
            return
        try:
            await self.writer.start_tls(
                context, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT
            )
        except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
            self.proxy.stats.tls_failures += 1
            logger.warning(
                "TLS handshake for %s failed (%s); does the client trust %s?",
                host,
                exc,
                self.proxy.ca.cert_path,
            )
            return

        self.client = HttpStream(h11.SERVER, self.client.reader, self.writer)
        event = await self.client.next_event(self.proxy.idle_timeout)
        if isinstance(event, h11.Request):
            await self._serve(event, tunnel_host=host)

    async def _serve(self, request: h11.Request, tunnel_host: str | None) -> None:
        """Relay requests one after another for as long as both sides keep alive."""
        while True:
            if not await self._relay(request, tunnel_host):
                return
            await self.link.end_cycle()
            if not self.client.next_cycle():
                return
            event = await self.client.next_event(self.proxy.idle_timeout)
            if not isinstance(event, h11.Request):
                return
            request = event

    async def _relay(self, request: h11.Request, tunnel_host: str | None) -> bool:
        """Forward one request and its answer; False when the connection must end."""
        started = time.perf_counter()
        try:
            routed, host = self._route(request, tunnel_host)
        except _Refused as refusal:
            self.proxy.stats.requests_refused += 1
            logger.info(
                "%s %s refused",
                request.method.decode(errors="replace"),
                request.target.decode(errors="replace"),
            )
            await self._answer_refusal(refusal.events)
            return False

        try:
            status = await self._exchange(routed)
        except (OSError, TimeoutError, h11.RemoteProtocolError) as exc:
            if self.client.conn.our_state is not h11.SEND_RESPONSE:
                raise  # the answer had started; all we can do is close
            await self._answer_refusal(self._gateway_failure(exc))
            return False

        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "%s %s%s %s %.1f ms",
                request.method.decode(errors="replace"),
                host,
                routed.target.decode(errors="replace"),
                status,
                (time.perf_counter() - started) * 1000,
            )
        return True

    def _route(
        self, request: h11.Request, tunnel_host: str | None
    ) -> tuple[h11.Request, str]:
        """The request as the gateway gets it, and the host it names."""
        try:
            target = RequestTarget.parse(request.target.decode("ascii"))
        except (AddressError, UnicodeDecodeError):
            raise _Refused(
                proxy_answer(400, "bad_target", "the request target is not a URL")
            ) from None

        if target.authority is not None:
            host_value = target.authority.encode("ascii")
        elif tunnel_host is not None:
            host_value = _host_header(request) or tunnel_host.encode()
        else:
            raise _Refused(
                proxy_answer(
                    400,
                    "not_a_proxy_request",
                    "this is the regionsim proxy: send absolute-form or CONNECT "
                    f"requests, or call the gateway directly at {self.proxy.gateway.url}",
                )
            )
        try:
            host, _ = split_authority(host_value.decode("ascii"), 443)
        except (AddressError, UnicodeDecodeError):
            raise _Refused(
                proxy_answer(400, "bad_host", "the Host is not valid")
            ) from None
        if not is_clockify_host(host):
            raise _Refused(refuse_host(host))

        https = tunnel_host is not None or target.scheme == "https"
        headers = request_headers(
            list(request.headers.raw_items()),
            host=host_value if target.authority is not None else None,
            forwarded_proto=b"https" if https else None,
        )
        routed = h11.Request(
            method=request.method,
            target=target.path.encode("ascii"),
            headers=headers,
            http_version=b"1.1",
        )
        return routed, host

    async def _exchange(self, routed: h11.Request) -> int:
        """Send the request and its body to the gateway, stream the answer back.

        Each side's events are queued and written when the other side has
        nothing more buffered, so a head and a small body travel together.
        """
        await self.link.start(routed)
        if self.client.conn.they_are_waiting_for_100_continue:
            await self.client.send(
                h11.InformationalResponse(status_code=100, headers=[])
            )
        body_bytes = 0
        while True:
            event = self.client.poll()
            if event is None:
                await self.link.flush()
                event = await self._client_event()
            if isinstance(event, h11.Data):
                body_bytes += len(event.data)
                self.link.queue(h11.Data(data=event.data))
            elif isinstance(event, h11.EndOfMessage):
                self.link.queue(h11.EndOfMessage(headers=event.headers))
                await self.link.flush()
                self.proxy.stats.requests_forwarded += 1
                break
            else:
                raise _ClientGone("the client closed the connection mid-request")

        try:
            response = await self._first_response()
        except (ConnectionError, h11.RemoteProtocolError):
            # A kept-alive connection the gateway had just closed: safe to
            # send again only when there was no body to lose.
            if not self.link.reused or body_bytes:
                raise
            self.proxy.stats.gateway_retries += 1
            logger.debug("gateway closed a kept-alive connection; sending again")
            await self.link.close()
            await self.link.start(routed)
            self.link.queue(h11.EndOfMessage())
            await self.link.flush()
            response = await self._first_response()

        self.client.queue(
            h11.Response(
                status_code=response.status_code,
                headers=response_headers(list(response.headers.raw_items())),
                reason=response.reason,
            )
        )
        while True:
            event = self.link.poll()
            if event is None:
                await self.client.flush()
                event = await self.link.next_event()
            if isinstance(event, h11.Data):
                self.client.queue(h11.Data(data=event.data))
            elif isinstance(event, h11.EndOfMessage):
                self.client.queue(h11.EndOfMessage(headers=event.headers))
                await self.client.flush()
                return response.status_code

    async def _client_event(self) -> ReceivedEvent:
        try:
            return await self.client.next_event(self.proxy.idle_timeout)
        except (OSError, TimeoutError, h11.RemoteProtocolError) as exc:
            raise _ClientGone(repr(exc)) from exc

    async def _first_response(self) -> h11.Response:
        while True:
            event = await self.link.next_event()
            if isinstance(event, h11.Response):
                return event
            # 1xx answers stay on this leg: the proxy sent its own 100 Continue.
            if not isinstance(event, h11.InformationalResponse):
                raise h11.RemoteProtocolError(f"unexpected {event!r} from the gateway")

    def _gateway_failure(self, exc: BaseException) -> list[h11.Event]:
        gateway = self.proxy.gateway.url
        logger.warning("gateway at %s failed: %r", gateway, exc)
        if isinstance(exc, TimeoutError):
            return proxy_answer(
                504,
                "gateway_timeout",
                f"the gateway at {gateway} did not answer in time",
            )
        return proxy_answer(
            502,
            "gateway_unreachable",
            f"the gateway at {gateway} could not be reached ({exc!r}); "
            "is the cluster up?",
        )

    async def _answer_refusal(self, events: list[h11.Event]) -> None:
        if self.client.conn.our_state is h11.SEND_RESPONSE:
            await self.client.send(*events)


def _host_header(request: h11.Request) -> bytes | None:
    for name, value in request.headers:
        if name == b"host":
            return bytes(value)
    return None
