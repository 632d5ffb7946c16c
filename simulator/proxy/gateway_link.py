"""The proxy's connection to the gateway on behalf of one client connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import h11

from simulator.proxy.streams import HttpStream, ReceivedEvent

logger = logging.getLogger(__name__)

Connector = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class GatewayLink:
    """A keep-alive HTTP/1.1 connection to the gateway, opened on first use.

    Each client connection gets its own link, so requests on one client
    connection reach the gateway in order on one connection, and a slow client
    never holds up another.
    """

    def __init__(self, connect: Connector, timeout: float) -> None:
        self._connect = connect
        self._timeout = timeout
        self._stream: HttpStream | None = None
        self.reused = False

    async def start(self, request: h11.Request) -> None:
        """Queue a request's head, on the open connection if it is still good."""
        if self._stream is not None and not self._stream.reusable:
            await self.close()
        self.reused = self._stream is not None
        if self._stream is None:
            async with asyncio.timeout(self._timeout):
                reader, writer = await self._connect()
            self._stream = HttpStream(h11.CLIENT, reader, writer)
        self._stream.queue(request)

    def queue(self, event: h11.Data | h11.EndOfMessage) -> None:
        assert self._stream is not None
        self._stream.queue(event)

    async def flush(self) -> None:
        assert self._stream is not None
        await self._stream.flush()

    def poll(self) -> ReceivedEvent | None:
        assert self._stream is not None
        return self._checked(self._stream.poll())

    async def next_event(self) -> ReceivedEvent:
        assert self._stream is not None
        event = self._checked(await self._stream.next_event(self._timeout))
        assert event is not None
        return event

    @staticmethod
    def _checked(event: ReceivedEvent | None) -> ReceivedEvent | None:
        if isinstance(event, h11.ConnectionClosed):
            raise ConnectionResetError("the gateway closed the connection")
        return event

    async def end_cycle(self) -> None:
        """Keep the connection for the next request, or close it."""
        if self._stream is not None and not self._stream.next_cycle():
            await self.close()

    async def close(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.close()
