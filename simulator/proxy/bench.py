"""How much latency the proxy adds per request, against calling the gateway directly.

The proxy and the stand-in gateway (the echo server, unless a gateway URL is
given) each run in their own process, as they do under `regionsim up --proxy`;
the client runs here, one request at a time on one connection, so the figures
are latency, not throughput. The modes take turns within each round so drift
in the machine affects them alike.

    python -m simulator.proxy.bench [--gateway URL] [--requests N] [--rounds N]

`measure_proxy_latency` returns the same figures for the benchmark runner.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

from simulator.inprocess import route_to_gateway
from simulator.proxy.runner import read_settings
from simulator.proxy.settings import ProxySettings

logger = logging.getLogger(__name__)

HOST = "api.clockify.me"
PATH = "/api/v1/user"
START_TIMEOUT = 15.0
# Opening a tunnel costs a TLS handshake; fewer samples keep the run short.
NEW_CONNECTION_SHARE = 10

Sample = Callable[[], None]


@dataclass(frozen=True)
class ModeLatency:
    """One way of reaching the gateway: its per-request latency in microseconds."""

    mode: str
    requests: int
    p50_us: float
    p95_us: float
    added_p50_us: float


@dataclass(frozen=True)
class ProxyLatency:
    """All modes, measured in one run against the same gateway."""

    gateway: str
    rounds: int
    modes: list[ModeLatency]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def table(self) -> str:
        """A Markdown table of the figures."""
        lines = [
            "| mode | requests | p50 | p95 | added p50 vs direct |",
            "|---|---|---|---|---|",
        ]
        for m in self.modes:
            lines.append(
                f"| {m.mode} | {m.requests} | {m.p50_us:,.0f} us | {m.p95_us:,.0f} us "
                f"| {m.added_p50_us:+,.0f} us |"
            )
        return "\n".join(lines)


def _get(
    conn: http.client.HTTPConnection, target: str, headers: dict[str, str]
) -> None:
    """GET on a kept-alive connection, connecting again once if the server had
    closed it while idle (uvicorn does after 5 s)."""
    for attempt in (1, 2):
        try:
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
            response.read()
        except (http.client.RemoteDisconnected, ConnectionError):
            conn.close()
            if attempt == 2:
                raise
            continue
        if response.status != 200:
            raise RuntimeError(f"expected 200 from {target}, got {response.status}")
        return


class _Clients:
    """One connection per mode, kept alive across samples."""

    def __init__(
        self, gateway: tuple[str, int], settings: ProxySettings, api_key: str | None
    ) -> None:
        # A real gateway wants a key; the echo server takes anything.
        self.headers = {"X-Api-Key": api_key} if api_key else {}
        proxy_host, _, proxy_port = settings.proxy_url.removeprefix(
            "http://"
        ).partition(":")
        self.proxy = (proxy_host, int(proxy_port))
        self.tls = ssl.create_default_context(cafile=str(settings.ca_cert_path))
        self.direct = http.client.HTTPConnection(*gateway, timeout=10)
        self.plain = http.client.HTTPConnection(*self.proxy, timeout=10)
        self.tunnel = self._tunnel()
        self.gateway_url = f"http://{gateway[0]}:{gateway[1]}"
        self.session = requests.Session()
        self.session.trust_env = False

    def _tunnel(self) -> http.client.HTTPSConnection:
        conn = http.client.HTTPSConnection(*self.proxy, timeout=10, context=self.tls)
        conn.set_tunnel(HOST, 443)
        return conn

    def direct_get(self) -> None:
        _get(self.direct, PATH, {"Host": HOST, **self.headers})

    def proxy_http_get(self) -> None:
        _get(self.plain, f"http://{HOST}{PATH}", self.headers)

    def proxy_https_get(self) -> None:
        _get(self.tunnel, PATH, self.headers)

    def proxy_https_new_connection_get(self) -> None:
        conn = self._tunnel()
        try:
            _get(conn, PATH, self.headers)
        finally:
            conn.close()

    def requests_direct_get(self) -> None:
        answer = self.session.get(
            f"{self.gateway_url}{PATH}", headers={"Host": HOST, **self.headers}
        )
        answer.raise_for_status()

    def requests_routed_get(self) -> None:
        # route_to_gateway is entered once around the whole run (see below).
        answer = self.session.get(f"https://{HOST}{PATH}", headers=self.headers)
        answer.raise_for_status()

    def close(self) -> None:
        for conn in (self.direct, self.plain, self.tunnel):
            conn.close()
        self.session.close()


def _time(sample: Sample, count: int) -> list[float]:
    sample()  # warm: connect, handshake, caches
    timings = []
    for _ in range(count):
        started = time.perf_counter_ns()
        sample()
        timings.append((time.perf_counter_ns() - started) / 1000)
    return timings


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


@contextmanager
def _process(
    command: list[str], *, read_stdout: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE if read_stdout else subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the proxy did not start within {START_TIMEOUT} s")
        time.sleep(0.02)


@contextmanager
def _echo_gateway() -> Iterator[str]:
    command = [sys.executable, "-m", "simulator.proxy.echo", "0"]
    with _process(command, read_stdout=True) as echo:
        assert echo.stdout is not None
        line = echo.stdout.readline().decode()  # "echo server on http://..."
        yield line.split()[-1]


def measure_proxy_latency(
    gateway_url: str | None = None,
    *,
    api_key: str | None = None,
    requests_per_round: int = 300,
    rounds: int = 5,
) -> ProxyLatency:
    """Measure each mode `rounds` times `requests_per_round` requests.

    Args:
        gateway_url: a running gateway; an echo server is started when None.
        api_key: sent as `X-Api-Key` (a global-region key for a real gateway,
            as the requests go to `api.clockify.me`).
        requests_per_round: samples per mode per round (a tenth of that for
            new connections, which each cost a TLS handshake).
        rounds: how many times the modes take turns.
    """
    gateway = _echo_gateway() if gateway_url is None else _given(gateway_url)
    with (
        tempfile.TemporaryDirectory(prefix="regionsim-proxy-bench-") as tmp,
        gateway as url,
    ):
        settings_file = Path(tmp) / "proxy.json"
        command = [
            sys.executable, "-m", "simulator.proxy",
            "--gateway", url,
            "--ca-dir", str(Path(tmp) / "ca"),
            "--settings-file", str(settings_file),
            "--log-level", "WARNING",
        ]  # fmt: skip
        with _process(command) as proxy:
            _wait_for(settings_file, proxy)
            settings = read_settings(settings_file)
            return _measure(url, settings, api_key, requests_per_round, rounds)


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


def _measure(
    url: str,
    settings: ProxySettings,
    api_key: str | None,
    count: int,
    rounds: int,
) -> ProxyLatency:
    host, _, port = url.removeprefix("http://").partition(":")
    clients = _Clients((host, int(port)), settings, api_key)
    modes: dict[str, tuple[Sample, int]] = {
        "direct to the gateway (http.client, keep-alive)": (clients.direct_get, count),
        "proxy, http absolute-form (keep-alive)": (clients.proxy_http_get, count),
        "proxy, https via CONNECT (keep-alive tunnel)": (
            clients.proxy_https_get,
            count,
        ),
        "proxy, https, new tunnel per request": (
            clients.proxy_https_new_connection_get,
            max(1, count // NEW_CONNECTION_SHARE),
        ),
        "requests, direct to the gateway": (clients.requests_direct_get, count),
        "requests, in-process route_to_gateway": (clients.requests_routed_get, count),
    }
    timings: dict[str, list[float]] = {mode: [] for mode in modes}
    try:
        with route_to_gateway(url):
            for _ in range(rounds):
                for mode, (sample, samples) in modes.items():
                    timings[mode].extend(_time(sample, samples))
    finally:
        clients.close()

    baselines = {
        "requests": statistics.median(timings["requests, direct to the gateway"]),
        "": statistics.median(
            timings["direct to the gateway (http.client, keep-alive)"]
        ),
    }
    results = []
    for mode, values in timings.items():
        baseline = baselines["requests" if mode.startswith("requests") else ""]
        p50 = statistics.median(values)
        results.append(
            ModeLatency(mode, len(values), p50, _p95(values), p50 - baseline)
        )
    return ProxyLatency(gateway=url, rounds=rounds, modes=results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.proxy.bench")
    parser.add_argument("--gateway", help="a running gateway (default: an echo server)")
    parser.add_argument(
        "--api-key", help="X-Api-Key for a real gateway (global region)"
    )
    parser.add_argument("--requests", type=int, default=300, help="per mode and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON, not a table")
    args = parser.parse_args(argv)

    result = measure_proxy_latency(
        args.gateway,
        api_key=args.api_key,
        requests_per_round=args.requests,
        rounds=args.rounds,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
