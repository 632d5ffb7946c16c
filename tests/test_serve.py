"""The listening sockets services are served on."""

from __future__ import annotations

import asyncio
import socket

from simulator.serve import bind_socket


def nagle_off_on_accepted_connection(listener: socket.socket) -> bool:
    """Serve `listener` with asyncio, as uvicorn does, and connect to it once."""

    async def main() -> bool:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def on_connect(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            accepted.set_result(
                writer.get_extra_info("socket").getsockopt(
                    socket.IPPROTO_TCP, socket.TCP_NODELAY
                )
            )
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        nodelay = await asyncio.wait_for(accepted, 10)
        writer.close()
        server.close()
        await server.wait_closed()
        return nodelay != 0

    return asyncio.run(main())


def test_bind_socket_listens_on_a_free_loopback_port() -> None:
    sock = bind_socket("127.0.0.1", 0)

    host, port = sock.getsockname()

    assert host == "127.0.0.1"
    assert port > 0
    assert sock.get_inheritable()
    sock.close()


def test_socket_with_a_named_protocol_gets_nagle_off() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    assert nagle_off_on_accepted_connection(listener)


def test_bind_socket_connections_get_nagle_off() -> None:
    listener = bind_socket("127.0.0.1", 0)

    assert nagle_off_on_accepted_connection(listener)
