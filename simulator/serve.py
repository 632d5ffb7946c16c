"""Running one service (region, accounts or gateway) on a socket, in this process.

Both backends end here: the process backend calls `run_service` in a forked child,
the docker backend runs `regionsim serve ...` as a container's command.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import uvicorn

from simulator.backends.base import ServiceSpec

logger = logging.getLogger(__name__)

REGISTER_ATTEMPTS = 600
REGISTER_PAUSE = 0.02


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Name the protocol: asyncio turns Nagle off only for sockets that say TCP, and
    # with Nagle on each keep-alive answer waits for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def build_app(
    spec: ServiceSpec, data_dir: Path
) -> tuple[Any, Callable[[str], None] | None]:
    """The ASGI app of a spec, and what to do once it listens (register with accounts)."""
    if spec.kind == "region":
        from simulator.region.app import build_region_app, region_state
        from simulator.region.view import AccountView

        assert spec.region_id is not None
        app = build_region_app(spec.region_id, data_dir, spec.options.get("seed", "0"))
        state = region_state(app)

        def on_listen(url: str) -> None:
            view = _register(
                spec, {"kind": "region", "regionId": spec.region_id, "url": url}
            )
            state.apply_view(AccountView.from_json(view))
            state.registered = True

        return app, on_listen
    if spec.kind == "gateway":
        from simulator.gateway.app import build_gateway_app, gateway_of

        assert spec.accounts_url is not None
        app = build_gateway_app(spec.accounts_url)
        gateway = gateway_of(app)

        def on_gateway_listen(url: str) -> None:
            gateway.apply(_register(spec, {"kind": "gateway", "url": url}))
            gateway.registered = True

        return app, on_gateway_listen
    from simulator.accounts.app import build_accounts_app
    from simulator.accounts.transfers import TransferTiming

    timing = TransferTiming(
        base_seconds=float(spec.options.get("transfer-base-seconds", "1800")),
        rows_per_second=float(spec.options.get("transfer-rows-per-second", "25")),
    )
    app = build_accounts_app(data_dir, spec.options.get("seed", "0"), timing)
    return app, None


def _register(spec: ServiceSpec, body: dict[str, Any]) -> dict[str, Any]:
    """Tell the accounts service where this service listens; get its view back."""
    assert spec.accounts_url is not None
    url = spec.accounts_url.rstrip("/") + "/__regionsim/internal/register"
    last = ""
    # urllib rather than httpx: a region needs no HTTP client but this one call,
    # and every module it imports stays resident in five processes. No proxy is
    # consulted: the accounts service is always reached directly.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}
    )
    for _ in range(REGISTER_ATTEMPTS):
        try:
            with opener.open(request, timeout=10.0) as response:
                result: dict[str, Any] = orjson.loads(response.read())
                return result
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read()[:200]!r}"
        except OSError as exc:
            last = repr(exc)
        time.sleep(REGISTER_PAUSE)
    raise RuntimeError(f"could not register {spec.name} with {url}: {last}")


def run_service(
    spec: ServiceSpec,
    data_dir: Path,
    sock: socket.socket,
    advertise_url: str | None = None,
    log_level: str = "warning",
) -> None:
    """Serve until SIGTERM or SIGINT; registers with the accounts service once listening."""
    app, on_listen = build_app(spec, data_dir)
    host, port = sock.getsockname()[:2]
    url = advertise_url or f"http://{_url_host(host)}:{port}"
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="auto",
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    if on_listen is not None:
        threading.Thread(
            target=_after_start,
            args=(server, on_listen, url),
            daemon=True,
            name="register",
        ).start()
    server.run(sockets=[sock])


def _after_start(
    server: uvicorn.Server, on_listen: Callable[[str], None], url: str
) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.005)
    try:
        on_listen(url)
    except Exception:
        logger.exception("registration failed; stopping")
        server.should_exit = True


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
