"""``python -m benchmarks``: measure the peers, the baselines and regionsim, then report.

In order: the SQLite copy baselines; the peers' starts and GETs; regionsim's
start, memory and GET beside them; then regionsim's transfer, seeding, HTTPS
proxy, docker backend, start profile and conformance suite, each on its own
cluster (``--skip PART`` leaves one out). Writes ``BENCHMARKS.md`` at the repository root and ``benchmarks/results.json``
(or both into ``--output-dir``). Exits 1 if a measurement failed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import markdown, peers, report, sqlite_copy
from benchmarks.docker_start import measure_docker
from benchmarks.load import (
    LoadSettings,
    LoadTarget,
    ensure_wrk,
    run_rounds,
    wrk_version,
)
from benchmarks.local import BenchmarkError, LoopbackViolation, NotMeasured
from benchmarks.proxy import measure_proxy
from benchmarks.regionsim import measure_regionsim
from benchmarks.report_parts import Part
from benchmarks.seeding import measure_seeding
from benchmarks.start_profile import measure_start_profile
from benchmarks.suite import measure_suite
from benchmarks.transfer import measure_transfers

logger = logging.getLogger("benchmarks")

REPO_ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 600
# regionsim's GET targets are stated against these two.
REGIONSIM_BASELINES = (peers.FLOOR, peers.MINISTACK)
PARTS = (
    "copies", "peers", "regionsim", "transfer", "seeding", "suite", "proxy",
    "docker", "profile",
)  # fmt: skip
REGIONSIM_PARTS = frozenset(PARTS) - {"copies", "peers"}
QUIET_LOAD = 2.0
QUIET_POLL_S = 15


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--start-runs", type=int, default=5, help="starts per service")
    parser.add_argument("--load-runs", type=int, default=4, help="wrk runs per service")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument(
        "--transfer-runs", type=int, default=5, help="SQLite copies per method"
    )
    parser.add_argument(
        "--moves", type=int, default=3, help="regionsim transfers of 100,000 entries"
    )
    parser.add_argument(
        "--seed-runs", type=int, default=3, help="seedings of each profile"
    )
    parser.add_argument(
        "--suite-runs", type=int, default=1, help="conformance suite runs per mode"
    )
    parser.add_argument("--proxy-runs", type=int, default=3, help="proxy latency runs")
    parser.add_argument(
        "--docker-runs", type=int, default=3, help="docker and process starts"
    )
    parser.add_argument(
        "--skip", action="append", default=[], choices=PARTS, metavar="PART",
        help=f"leave a part out (repeatable): {', '.join(PARTS)}",
    )  # fmt: skip
    parser.add_argument(
        "--wait-quiet", type=int, default=0, metavar="SECONDS",
        help=f"wait up to this long for a 1-minute load average below {QUIET_LOAD}",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help="one short run of everything, written to a temporary folder (a smoke test)",
    )  # fmt: skip
    parser.add_argument(
        "--no-regionsim",
        action="store_true",
        help="measure the peers and baselines only (skip every regionsim part)",
    )
    parser.add_argument("--output-dir", type=Path, help="write both files here instead")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: write BENCHMARKS.md again from benchmarks/results.json",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log polls too")
    args = parser.parse_args(argv)
    runs = (
        "start_runs", "load_runs", "transfer_runs", "moves", "seed_runs",
        "suite_runs", "proxy_runs", "docker_runs",
    )  # fmt: skip
    if args.quick:
        for name in runs:
            setattr(args, name, 1)
        args.duration = 2
        args.output_dir = args.output_dir or Path(
            tempfile.mkdtemp(prefix="regionsim-bench-")
        )
    for name in (*runs, "duration", "connections"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    args.skip = set(args.skip) | (REGIONSIM_PARTS if args.no_regionsim else set())
    return args


def _load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _machine(load_before: float) -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().split()
    return {
        "cpus": os.cpu_count(),
        "memory_gb": int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024**2,
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk_version(),
        # uvicorn picks these up when installed; they change the floor's figures.
        "uvloop": importlib.util.find_spec("uvloop") is not None,
        "httptools": importlib.util.find_spec("httptools") is not None,
        # Other work on the machine lowers absolute figures more than ratios.
        "load_average_1min": {"before": load_before, "after": _load_average()},
    }


def _wait_quiet(limit_s: int) -> dict[str, Any]:
    """Wait (bounded) for the 1-minute load average to fall below QUIET_LOAD."""
    started = time.monotonic()
    load = _load_average()
    while load >= QUIET_LOAD and time.monotonic() - started < limit_s:
        logger.info("1-minute load average %.1f; waiting for < %.1f", load, QUIET_LOAD)
        time.sleep(min(QUIET_POLL_S, max(0.0, limit_s - (time.monotonic() - started))))
        load = _load_average()
    quiet = load < QUIET_LOAD
    if not quiet:
        logger.warning("the machine stayed busy (load %.1f); measuring anyway", load)
    return {
        "limit_s": limit_s,
        "threshold": QUIET_LOAD,
        "waited_s": round(time.monotonic() - started, 1),
        "load": load,
        "quiet": quiet,
    }


class Timeline:
    """When each part ran, for how long, and how busy the machine was meanwhile."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.entries: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        started, load = time.monotonic(), _load_average()
        try:
            yield
        finally:
            self.entries.append(
                {
                    "part": name,
                    "began_s": round(started - self.began, 1),
                    "seconds": round(time.monotonic() - started, 1),
                    "load_before": load,
                    "load_after": _load_average(),
                }
            )


def _run_part(
    name: str, skip: set[str], measure: Callable[[], Any], timeline: Timeline
) -> Part:
    """Measure one part; a part that fails is reported, the others still run."""
    if name in skip:
        return Part("skipped", f"left out with --skip {name}")
    logger.info("measuring %s", name)
    try:
        with timeline.part(name):
            result = measure()
        return Part("measured", result=result)
    except NotMeasured as exc:
        logger.warning("%s not measured: %s", name, exc)
        return Part("not measured", str(exc))
    except LoopbackViolation:
        raise
    except Exception as exc:  # the other parts' figures are still worth writing
        logger.exception("%s failed", name)
        return Part("failed", f"{type(exc).__name__}: {exc}")


def _measure_services(
    args: argparse.Namespace, settings: LoadSettings, workdir: Path, timeline: Timeline
) -> tuple[list[peers.PeerResult], Part]:
    """Peers' starts, then their GETs in rounds, then regionsim beside two of them."""
    if "peers" in args.skip:
        return [], _run_part(
            "regionsim",
            args.skip,
            lambda: measure_regionsim(args.start_runs, settings, []),
            timeline,
        )
    with timeline.part("peers"):
        starts = peers.measure_starts(peers.PEERS, args.start_runs, workdir)
    results = [peers.PeerResult(spec, starts[spec.name]) for spec in peers.PEERS]
    with peers.running_peers(peers.PEERS, workdir) as running:
        with timeline.part("peers (GET)"):
            loads = run_rounds(
                [peer.load_target() for peer in running.values()], settings
            )
        for result in results:
            result.loads = loads[result.spec.name]
            result.rss_after_load_bytes = running[result.spec.name].rss_bytes()
        baselines: list[LoadTarget] = [
            running[spec.name].load_target() for spec in REGIONSIM_BASELINES
        ]
        regionsim = _run_part(
            "regionsim",
            args.skip,
            lambda: measure_regionsim(args.start_runs, settings, baselines),
            timeline,
        )
    return results, regionsim


def _measure_parts(
    args: argparse.Namespace, bench: sqlite_copy.CopyBench | None, timeline: Timeline
) -> dict[str, Part]:
    """regionsim's other parts, each on its own cluster; the suite last."""
    profile, skip = "profile" not in args.skip, args.skip

    def transfers() -> Any:
        # The copy bench exists whenever the transfer part is not skipped.
        assert bench is not None
        return measure_transfers(bench, args.moves, profile)

    measures: dict[str, tuple[str, Callable[[], Any]]] = {
        "transfer": ("transfer", transfers),
        "seeding": ("seeding", lambda: measure_seeding(args.seed_runs)),
        "proxy": ("proxy", lambda: measure_proxy(args.proxy_runs)),
        "docker": ("docker", lambda: measure_docker(args.docker_runs)),
        "start_profile": ("profile", measure_start_profile),
        "suite": ("suite", lambda: measure_suite(args.suite_runs)),
    }
    return {
        key: _run_part(name, skip, measure, timeline)
        for key, (name, measure) in measures.items()
    }


def _write(results: dict[str, Any], output_dir: Path | None) -> tuple[Path, Path]:
    markdown_path = (output_dir or REPO_ROOT) / "BENCHMARKS.md"
    json_path = (output_dir or REPO_ROOT / "benchmarks") / "results.json"
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(markdown.render_markdown(results))
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    return markdown_path, json_path


def _render_only(output_dir: Path | None) -> int:
    """Write BENCHMARKS.md from the last results (after a change to the report)."""
    results = json.loads((REPO_ROOT / "benchmarks" / "results.json").read_text())
    markdown_path = (output_dir or REPO_ROOT) / "BENCHMARKS.md"
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(markdown.render_markdown(results))
    logger.info("wrote %s from the run of %s", markdown_path, results["generated_at"])
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.render_only:
        return _render_only(args.output_dir)
    # The cluster's admin client logs every request at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Starts should read cached bytecode, as they do on a user's machine; tox's
    # test environments turn the cache off, and children inherit that.
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        logger.info("unset PYTHONDONTWRITEBYTECODE for the services measured")
    quiet = _wait_quiet(args.wait_quiet) if args.wait_quiet else {}
    started, load_before = time.monotonic(), _load_average()
    settings = LoadSettings(
        duration_s=args.duration, connections=args.connections, runs=args.load_runs
    )
    transfers: dict[str, list[float]] = {}
    timeline = Timeline()
    try:
        ensure_wrk()
        with tempfile.TemporaryDirectory(prefix="regionsim-bench-") as tmp:
            workdir = Path(tmp)
            needs_rows = {"copies", "transfer"} - args.skip
            bench = sqlite_copy.CopyBench(workdir) if needs_rows else None
            if bench is not None and "copies" not in args.skip:
                with timeline.part("copies"):
                    transfers = sqlite_copy.measure_copies(bench, args.transfer_runs)
            peer_results, regionsim = _measure_services(
                args, settings, workdir, timeline
            )
            parts = _measure_parts(args, bench, timeline)
    except BenchmarkError as exc:
        logger.error("benchmark failed: %s", exc)
        return 1

    record = report.RunRecord(
        generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        elapsed_s=time.monotonic() - started,
        machine=_machine(load_before),
        start_runs=args.start_runs,
        transfer_runs=args.transfer_runs,
        transfer_rows=sqlite_copy.ROW_COUNT,
        load=settings,
        peers=peer_results,
        transfers=transfers,
        regionsim=regionsim,
        parts=parts,
        quiet=quiet,
        timeline=timeline.entries,
    )
    markdown_path, json_path = _write(report.build_results(record), args.output_dir)
    logger.info("wrote %s and %s in %.0f s", markdown_path, json_path, record.elapsed_s)
    if record.elapsed_s > BUDGET_S:
        logger.warning(
            "the run took %.0f s, over its %d s budget", record.elapsed_s, BUDGET_S
        )
    failed = [name for name, part in {"regionsim": regionsim, **parts}.items()
              if part.status == "failed"]  # fmt: skip
    if failed:
        logger.error("failed: %s", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
