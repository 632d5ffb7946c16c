"""Ways to run the proxy: in a background thread, or in the foreground until a
signal (what `regionsim proxy` and `regionsim up --proxy` call)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from simulator.proxy.ca import CertificateAuthority
from simulator.proxy.server import ProxyServer
from simulator.proxy.settings import ProxySettings

logger = logging.getLogger(__name__)

START_TIMEOUT = 10.0


class ProxyThread:
    """A `ProxyServer` on its own event loop in a daemon thread.

    Use it as a context manager; `settings` is ready once it is entered.
    """

    def __init__(
        self,
        gateway_url: str,
        ca: CertificateAuthority,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.server = ProxyServer(gateway_url, ca, host=host, port=port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, name="regionsim-proxy", daemon=True
        )
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def settings(self) -> ProxySettings:
        return self.server.settings

    def start(self) -> ProxySettings:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise TimeoutError(f"the proxy did not start within {START_TIMEOUT} s")
        if self._error is not None:
            raise self._error
        return self.settings

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        stopped = asyncio.run_coroutine_threadsafe(self.server.close(), self._loop)
        stopped.result(START_TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(START_TIMEOUT)

    def __enter__(self) -> ProxyThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start())
        except BaseException as exc:  # handed to the thread that waits in start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()


def run_proxy(
    gateway_url: str,
    ca_dir: Path,
    *,
    reuse_ca: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    settings_file: Path | None = None,
    on_ready: Callable[[ProxySettings], None] | None = None,
) -> None:
    """Run the proxy in the foreground until SIGINT or SIGTERM.

    Args:
        gateway_url: the gateway's loopback URL.
        ca_dir: where `ca.pem` (and, for a fresh CA, `ca-key.pem`) are written.
        reuse_ca: an existing CA to use instead of a fresh one.
        settings_file: written as JSON (`ProxySettings.to_dict`) once listening,
            so a parent process can wait for it and record it.
        on_ready: called with the settings once listening.
    """
    ca = CertificateAuthority.prepare(ca_dir, reuse_from=reuse_ca)
    asyncio.run(
        _serve(
            ProxyServer(gateway_url, ca, host=host, port=port), settings_file, on_ready
        )
    )


async def _serve(
    server: ProxyServer,
    settings_file: Path | None,
    on_ready: Callable[[ProxySettings], None] | None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    try:
        if settings_file is not None:
            write_settings(settings_file, server.settings)
        if on_ready is not None:
            on_ready(server.settings)
        await stop.wait()
    finally:
        await server.close()


def write_settings(path: Path, settings: ProxySettings) -> None:
    """Write the settings as JSON, atomically, for a process waiting on the file."""
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(settings.to_dict(), indent=2) + "\n")
    partial.replace(path)


def read_settings(path: Path) -> ProxySettings:
    return ProxySettings.from_dict(json.loads(path.read_text()))
