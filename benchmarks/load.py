"""Throughput and latency of one GET, driven by wrk on loopback.

wrk is bounded in time by ``--duration`` and in count by its Lua script, which
stops each thread after a fixed number of responses. The script's ``done`` hook
prints the exact p50 and p99 in one parseable line.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.local import BenchmarkError, require_loopback

logger = logging.getLogger(__name__)

RESULT_TAG = "REGIONSIM_BENCH_WRK"
APT_TIMEOUT_S = 300


@dataclass(frozen=True)
class LoadSettings:
    """How every load run is shaped; the same for all targets of one run."""

    duration_s: int = 5
    connections: int = 32
    # One wrk thread leaves the second core of a 2-core machine to the server.
    threads: int = 1
    runs: int = 5
    warmup_s: int = 2
    max_requests: int = 500_000
    timeout_s: int = 2


@dataclass(frozen=True)
class LoadSample:
    """One wrk run: requests answered, wall time, latency percentiles, errors."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    """Path of wrk; installs Debian's package when it is missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchmarkError(
            "wrk is not installed; run `apt-get install -y wrk` as root"
        )
    logger.warning("wrk is missing; installing it with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]):
        subprocess.run(
            argv, env=env, check=True, timeout=APT_TIMEOUT_S, capture_output=True
        )
    found = shutil.which("wrk")
    if not found:
        raise BenchmarkError("apt-get installed wrk but it is not on PATH")
    return found


def wrk_version() -> str:
    try:
        out = subprocess.run(
            [ensure_wrk(), "--version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError, BenchmarkError):
        return "unknown"
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split(" [")[0] if first else "unknown"


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lua_script(headers: Mapping[str, str], max_requests_per_thread: int) -> str:
    """The wrk script: headers to send, a response cap, and the result line."""
    lines = ['wrk.method = "GET"']
    for name, value in headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    lines += [
        f"local limit = {max_requests_per_thread}",
        "local seen = 0",
        "function response(status, headers, body)",
        "  seen = seen + 1",
        "  if seen >= limit then wrk.thread:stop() end",
        "end",
        "function done(summary, latency, requests)",
        "  local e = summary.errors",
        f'  io.write(string.format("{RESULT_TAG} %d %d %d %d %d\\n",',
        "    summary.requests, summary.duration,",
        "    latency:percentile(50), latency:percentile(99),",
        "    e.connect + e.read + e.write + e.status + e.timeout))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def parse_result(output: str) -> LoadSample:
    """Read the line printed by the script's ``done`` hook (times in microseconds)."""
    for line in output.splitlines():
        if line.startswith(RESULT_TAG):
            requests, duration_us, p50_us, p99_us, errors = (
                int(float(v)) for v in line.split()[1:6]
            )
            return LoadSample(
                requests, duration_us / 1e6, p50_us / 1e3, p99_us / 1e3, errors
            )
    raise BenchmarkError(f"wrk printed no result line; output:\n{output[-2000:]}")


def run_wrk(
    url: str, headers: Mapping[str, str], settings: LoadSettings, duration_s: int
) -> LoadSample:
    """One bounded wrk run against a loopback URL."""
    require_loopback(url)
    per_thread = max(1, settings.max_requests // settings.threads)
    with tempfile.TemporaryDirectory(prefix="regionsim-wrk-") as tmp:
        script = Path(tmp) / "get.lua"
        script.write_text(lua_script(headers, per_thread))
        argv = [
            ensure_wrk(),
            f"--threads={settings.threads}",
            f"--connections={settings.connections}",
            f"--duration={duration_s}s",
            f"--timeout={settings.timeout_s}s",
            f"--script={script}",
            url,
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration_s + 30, check=False
        )
    if done.returncode != 0:
        raise BenchmarkError(
            f"wrk exited with {done.returncode}: {done.stderr.strip()}"
        )
    return parse_result(done.stdout)


@dataclass(frozen=True)
class LoadTarget:
    """One GET to drive: who answers it, where, and with which headers."""

    name: str
    url: str
    headers: Mapping[str, str]


def _checked(
    target: LoadTarget, sample: LoadSample, settings: LoadSettings
) -> LoadSample:
    if sample.requests >= settings.max_requests:
        logger.warning(
            "%s reached the request cap; its rate is a lower bound", target.name
        )
    # A fast stream of errors is no throughput figure.
    if sample.errors > sample.requests * 0.01:
        raise BenchmarkError(
            f"{target.name}: {sample.errors} of {sample.requests} requests failed under load"
        )
    return sample


def run_rounds(
    targets: Sequence[LoadTarget], settings: LoadSettings
) -> dict[str, list[LoadSample]]:
    """A warm-up of each target, then `settings.runs` rounds that visit every target.

    Taking turns spreads any slow spell of the machine over all targets, so the
    ratios between them hold even when the absolute figures wander.
    """
    for target in targets:
        run_wrk(target.url, target.headers, settings, settings.warmup_s)
    samples: dict[str, list[LoadSample]] = {target.name: [] for target in targets}
    for n in range(settings.runs):
        for target in targets:
            sample = run_wrk(target.url, target.headers, settings, settings.duration_s)
            logger.info(
                "%s load %d: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors",
                target.name,
                n + 1,
                sample.requests_per_s,
                sample.p50_ms,
                sample.p99_ms,
                sample.errors,
            )
            samples[target.name].append(_checked(target, sample, settings))
    return samples
