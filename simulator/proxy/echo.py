"""A loopback HTTP server that answers every request with what it received.

It stands in for the gateway when the proxy or the in-process routing is
tested or measured on its own, and helps check a client's setup by hand
(`python -m simulator.proxy.echo`). `/__echo/redirect?location=URL` answers
302 with that `Location`, so redirects can be followed through the proxy.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

REDIRECT_PATH = "/__echo/redirect"


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the gateway
    # Head and body go out in two writes; without TCP_NODELAY the body waits
    # for the peer's delayed ACK (40 ms), as uvicorn's answers never do.
    disable_nagle_algorithm = True
    server: EchoServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        if parts.path == REDIRECT_PATH:
            location = parse_qs(parts.query).get("location", ["/"])[0]
            self._send(302, b"", extra=(("Location", location),))
            return
        echo = {
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "headers": [[name, value] for name, value in self.headers.items()],
            "body": body.decode("utf-8", errors="replace"),
            "connection": self.server.connection_number(self.connection),
        }
        self._send(200, json.dumps(echo).encode())

    def _send(
        self, status: int, body: bytes, extra: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and benchmarks read the answers, not the log


class EchoServer(ThreadingHTTPServer):
    """The echo server; counts the connections it accepts."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _EchoHandler)
        self.accepted = 0
        self._numbers: dict[socket.socket, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        with self._lock:
            self.accepted += 1
            self._numbers[conn] = self.accepted
        return conn, address

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._numbers.pop(request, None)
        super().shutdown_request(request)

    def connection_number(self, conn: socket.socket) -> int:
        """1 for the first connection accepted, 2 for the next, ..."""
        with self._lock:
            return self._numbers.get(conn, 0)

    def start(self) -> EchoServer:
        # A short poll keeps stop() quick; the server is idle in between.
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> EchoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = EchoServer(port=port)
    print(f"echo server on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


if __name__ == "__main__":
    main()
