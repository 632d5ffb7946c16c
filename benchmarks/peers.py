"""The single-process peers and the floor: how to start them, and their start and load.

Each peer runs as its own process group bound to 127.0.0.1 on a free port, and is
stopped with its whole group however a measurement ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import IO

from benchmarks import bare_app, s3
from benchmarks.load import LoadSample, LoadTarget
from benchmarks.local import (
    LOOPBACK_HOST,
    BenchmarkError,
    check_loopback_only,
    free_port,
    http_request,
    tree_rss_bytes,
)

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.01
STOP_GRACE_S = 5.0
# Memory is read this long after the first answer, once lazy imports have settled.
MEMORY_SETTLE_S = 0.5


@dataclass(frozen=True)
class Probe:
    """One authenticated GET and what a good answer looks like."""

    url: str
    headers: dict[str, str]
    expected_body: bytes | None = None

    def check(self) -> None:
        """Send it once; raise unless it answers 200 (with the expected body)."""
        answer = http_request(self.url, headers=self.headers)
        if answer.status != 200:
            raise BenchmarkError(
                f"GET {self.url} answered {answer.status}: {answer.body[:200]!r}"
            )
        if self.expected_body is not None and answer.body != self.expected_body:
            raise BenchmarkError(f"GET {self.url} answered 200 with another body")


@dataclass(frozen=True)
class PeerSpec:
    """How to run one peer and which GET stands for its authenticated read."""

    name: str
    label: str
    request: str
    packages: tuple[str, ...]
    argv: Callable[[int], list[str]]
    ready_probe: Callable[[str], Probe]
    load_probe: Callable[[str], Probe]
    prepare: Callable[[str], None] = lambda base_url: None
    env: Callable[[int], Mapping[str, str]] = lambda port: {}

    def versions(self) -> dict[str, str]:
        return {package: metadata.version(package) for package in self.packages}


@dataclass(frozen=True)
class StartSample:
    """Spawn to first successful answer, and resident memory just after."""

    seconds: float
    rss_bytes: int


@dataclass
class PeerResult:
    """Everything measured on one peer in one run of the runner."""

    spec: PeerSpec
    starts: list[StartSample] = field(default_factory=list)
    loads: list[LoadSample] = field(default_factory=list)
    rss_after_load_bytes: int | None = None


class PeerProcess:
    """A running peer: `with PeerProcess(spec, workdir) as peer: peer.wait_ready()`."""

    def __init__(self, spec: PeerSpec, workdir: Path) -> None:
        self.spec = spec
        self.port = free_port()
        self.base_url = f"http://{LOOPBACK_HOST}:{self.port}"
        self.log_path = workdir / f"{spec.name}-{self.port}.log"
        self._workdir = workdir
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._spawned_at = 0.0

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise BenchmarkError(f"{self.spec.name} is not running")
        return self._proc.pid

    def __enter__(self) -> PeerProcess:
        argv = self.spec.argv(self.port)
        env = {**os.environ, "TMPDIR": str(self._workdir), **self.spec.env(self.port)}
        self._log = self.log_path.open("wb")
        self._spawned_at = time.perf_counter()
        try:
            self._proc = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError:
            self.stop()
            raise
        logger.debug(
            "started %s as pid %s on %s", self.spec.name, self.pid, self.base_url
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Poll the ready probe; return seconds from spawn to its first 200."""
        probe = self.spec.ready_probe(self.base_url)
        deadline = self._spawned_at + timeout_s
        last_seen = "no answer yet"
        for _ in range(int(timeout_s / POLL_INTERVAL_S) + 1):
            try:
                answer = http_request(probe.url, headers=probe.headers, timeout_s=1.0)
            except OSError as exc:
                last_seen = f"{type(exc).__name__}: {exc}"
            else:
                if answer.status == 200:
                    return time.perf_counter() - self._spawned_at
                last_seen = f"HTTP {answer.status}"
            if self._proc is not None and self._proc.poll() is not None:
                raise BenchmarkError(
                    f"{self.spec.name} exited with {self._proc.returncode} before "
                    f"answering; log tail:\n{self.log_tail()}"
                )
            if time.perf_counter() > deadline:
                break
            time.sleep(POLL_INTERVAL_S)
        raise BenchmarkError(
            f"{self.spec.name} did not answer GET {probe.url} within {timeout_s:.0f} s "
            f"(last: {last_seen}); log tail:\n{self.log_tail()}\n"
            "hint: run its command by hand to see why it does not start"
        )

    def probe(self) -> Probe:
        """The GET that load runs drive on this peer."""
        return self.spec.load_probe(self.base_url)

    def load_target(self) -> LoadTarget:
        probe = self.probe()
        return LoadTarget(self.spec.name, probe.url, probe.headers)

    def rss_bytes(self) -> int:
        """Resident memory of the peer and its children now."""
        return tree_rss_bytes([self.pid])

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the whole process group: TERM, a grace period, then KILL."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _signal_group(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_S
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            # Children may outlive the leader. Linux keeps a group id from being
            # reused while any member lives, so this reaches only what is ours.
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_GRACE_S)
        if self._log is not None:
            self._log.close()
            self._log = None


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def measure_start(spec: PeerSpec, workdir: Path) -> StartSample:
    """Start the peer once: time to its first answer, then its memory."""
    with PeerProcess(spec, workdir) as peer:
        seconds = peer.wait_ready()
        time.sleep(MEMORY_SETTLE_S)
        rss = peer.rss_bytes()
        check_loopback_only([peer.pid])
    return StartSample(seconds, rss)


def measure_starts(
    specs: Sequence[PeerSpec], runs: int, workdir: Path
) -> dict[str, list[StartSample]]:
    """`runs` starts of each peer, taking turns, after one unrecorded round.

    The first round only warms the page cache and the bytecode caches.
    """
    samples: dict[str, list[StartSample]] = {spec.name: [] for spec in specs}
    for attempt in range(runs + 1):
        for spec in specs:
            sample = measure_start(spec, workdir)
            logger.info(
                "%s start %d: %.3f s, %.1f MB",
                spec.name,
                attempt,
                sample.seconds,
                sample.rss_bytes / 1e6,
            )
            if attempt > 0:
                samples[spec.name].append(sample)
    return samples


@contextlib.contextmanager
def running_peers(
    specs: Sequence[PeerSpec], workdir: Path
) -> Iterator[dict[str, PeerProcess]]:
    """All peers up at once, their data created and their GET checked once.

    Every peer is stopped on the way out, whatever happened inside.
    """
    with contextlib.ExitStack() as stack:
        running: dict[str, PeerProcess] = {}
        for spec in specs:
            peer = stack.enter_context(PeerProcess(spec, workdir))
            peer.wait_ready()
            spec.prepare(peer.base_url)
            peer.probe().check()
            running[spec.name] = peer
        check_loopback_only(peer.pid for peer in running.values())
        yield running
        check_loopback_only(peer.pid for peer in running.values())


def _console_script(name: str) -> str:
    """The entry point installed next to this interpreter (the bench environment's)."""
    script = Path(sys.executable).with_name(name)
    if not script.exists():
        raise BenchmarkError(
            f"{script} is missing; install benchmarks/requirements.txt"
        )
    return str(script)


def _bare_probe(base_url: str) -> Probe:
    key = bare_app.bench_api_key()
    return Probe(f"{base_url}/api/v1/user", {"X-Api-Key": key})


def _s3_list_probe(base_url: str) -> Probe:
    url = s3.list_buckets_url(base_url)
    return Probe(url, s3.signed_headers("GET", url))


def _s3_object_probe(base_url: str) -> Probe:
    url = s3.object_url(base_url)
    return Probe(url, s3.signed_headers("GET", url), expected_body=s3.OBJECT_BODY)


BARE_STARLETTE = PeerSpec(
    name="bare-starlette",
    label="bare Starlette on uvicorn (floor)",
    request="GET /api/v1/user, X-Api-Key dict lookup, JSON answer",
    packages=("starlette", "uvicorn"),
    argv=lambda port: [
        sys.executable,
        *f"-m uvicorn benchmarks.bare_app:app --host {LOOPBACK_HOST} --port {port} "
        "--log-level warning --no-access-log".split(),
    ],
    ready_probe=_bare_probe,
    load_probe=_bare_probe,
)

MOTO = PeerSpec(
    name="moto",
    label="moto server",
    request=f"S3 GetObject, {len(s3.OBJECT_BODY)}-byte JSON object, SigV4 headers",
    packages=("moto",),
    argv=lambda port: [
        _console_script("moto_server"),
        *f"-H {LOOPBACK_HOST} -p {port}".split(),
    ],
    ready_probe=_s3_list_probe,
    load_probe=_s3_object_probe,
    prepare=s3.create_object,
)

# MiniStack binds 0.0.0.0 unless BIND_HOST says otherwise, and at boot talks to a
# Docker daemon if it finds a socket; the settings below keep it on loopback, away
# from Docker, and without its optional extra listeners or persisted state.
MINISTACK = PeerSpec(
    name="ministack",
    label="MiniStack",
    request=f"S3 GetObject, {len(s3.OBJECT_BODY)}-byte JSON object, SigV4 headers",
    packages=("ministack",),
    argv=lambda port: [_console_script("ministack")],
    ready_probe=_s3_list_probe,
    load_probe=_s3_object_probe,
    prepare=s3.create_object,
    env=lambda port: {
        "GATEWAY_PORT": str(port),
        "BIND_HOST": LOOPBACK_HOST,
        "DOCKER_HOST": "unix:///nonexistent/regionsim-bench/docker.sock",
        "IOT_MTLS_ENABLED": "0",
        "SFTP_ENABLED": "0",
        "PERSIST_STATE": "0",
        "S3_PERSIST": "0",
        "LOCALSTACK_PERSISTENCE": "0",
        "SERVICES": "",
    },
)

PEERS: tuple[PeerSpec, ...] = (BARE_STARLETTE, MOTO, MINISTACK)
FLOOR = BARE_STARLETTE
