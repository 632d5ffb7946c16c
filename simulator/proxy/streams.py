"""One HTTP/1.1 connection: h11 state over an asyncio stream pair."""

from __future__ import annotations

import asyncio
from typing import Any

import h11

READ_SIZE = 65536
CLOSE_TIMEOUT = 1.0

ReceivedEvent = (
    h11.Request
    | h11.InformationalResponse
    | h11.Response
    | h11.Data
    | h11.EndOfMessage
    | h11.ConnectionClosed
)


class HttpStream:
    """h11's state machine over a reader and a writer, either side of HTTP."""

    def __init__(
        self,
        role: type[h11.CLIENT] | type[h11.SERVER],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.conn = h11.Connection(role)
        self.reader = reader
        self.writer = writer
        self._pending: list[bytes] = []

    def poll(self) -> ReceivedEvent | None:
        """The next event if the bytes for it are already here, else None."""
        event = self.conn.next_event()
        if event is h11.NEED_DATA:
            return None
        if event is h11.PAUSED:
            # Only reached if a caller forgot start_next_cycle().
            raise h11.LocalProtocolError("connection paused between cycles")
        assert isinstance(event, ReceivedEvent)
        return event

    async def next_event(self, timeout: float | None = None) -> ReceivedEvent:
        """The next complete event; `TimeoutError` if the peer stays silent."""
        while (event := self.poll()) is None:
            async with asyncio.timeout(timeout):
                data = await self.reader.read(READ_SIZE)
            self.conn.receive_data(data)
        return event

    def queue(self, *events: Any) -> None:
        """Encode events without writing them yet (see `flush`)."""
        for event in events:
            data = self.conn.send(event)
            if data:
                self._pending.append(data)

    async def flush(self) -> None:
        """Write what was queued in one go: one segment (and one TLS record)
        for a head and a small body instead of one each."""
        if self._pending:
            self.writer.write(b"".join(self._pending))
            self._pending.clear()
        await self.writer.drain()

    async def send(self, *events: Any) -> None:
        self.queue(*events)
        await self.flush()

    def next_cycle(self) -> bool:
        """Ready the connection for another request; False if it must close."""
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            return True
        return False

    @property
    def reusable(self) -> bool:
        """Idle between requests with the peer still there."""
        return (
            self.conn.our_state is h11.IDLE
            and self.conn.their_state is h11.IDLE
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    async def close(self) -> None:
        """Close, without waiting long for a TLS peer's close_notify (an idle
        client may never send it; asyncio would wait 30 s)."""
        self.writer.close()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.writer.wait_closed()
        except (OSError, TimeoutError):
            self.writer.transport.abort()
