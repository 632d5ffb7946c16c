"""``python -m benchmarks``: measure the peers, the baselines and regionsim, then report.

Writes ``BENCHMARKS.md`` at the repository root and ``benchmarks/results.json``
(or both into ``--output-dir``). Exits 1 if a measurement failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import peers, report, sqlite_copy
from benchmarks.load import (
    LoadSettings,
    LoadTarget,
    ensure_wrk,
    run_rounds,
    wrk_version,
)
from benchmarks.local import BenchmarkError
from benchmarks.regionsim import RegionsimPending, RegionsimResult, measure_regionsim

logger = logging.getLogger("benchmarks")

REPO_ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 600
# regionsim's GET targets are stated against these two.
REGIONSIM_BASELINES = (peers.FLOOR, peers.MINISTACK)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--start-runs", type=int, default=7, help="starts per service")
    parser.add_argument("--load-runs", type=int, default=5, help="wrk runs per service")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument(
        "--transfer-runs", type=int, default=5, help="copies per method"
    )
    parser.add_argument(
        "--quick", action="store_true",
        help="one short run of everything, written to a temporary folder (a smoke test)",
    )  # fmt: skip
    parser.add_argument(
        "--no-regionsim",
        action="store_true",
        help="measure the peers and baselines only",
    )
    parser.add_argument("--output-dir", type=Path, help="write both files here instead")
    parser.add_argument("-v", "--verbose", action="store_true", help="log polls too")
    args = parser.parse_args(argv)
    if args.quick:
        args.start_runs, args.load_runs, args.duration, args.transfer_runs = 1, 1, 2, 1
        args.output_dir = args.output_dir or Path(
            tempfile.mkdtemp(prefix="regionsim-bench-")
        )
    for name in ("start_runs", "load_runs", "duration", "connections", "transfer_runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
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


def _measure_regionsim(
    args: argparse.Namespace, settings: LoadSettings, baselines: list[LoadTarget]
) -> tuple[RegionsimResult | None, str, str]:
    try:
        return measure_regionsim(args.start_runs, settings, baselines), "measured", ""
    except RegionsimPending as exc:
        logger.warning("regionsim not measured: %s", exc)
        return None, "pending", f"{exc}."
    except Exception as exc:  # the peers' figures are still worth writing
        logger.exception("regionsim measurement failed")
        return None, "failed", f"{type(exc).__name__}: {exc}"


def _measure_services(
    args: argparse.Namespace, settings: LoadSettings, workdir: Path
) -> tuple[list[peers.PeerResult], RegionsimResult | None, str, str]:
    """Peers' starts, then their GETs in rounds, then regionsim beside two of them."""
    starts = peers.measure_starts(peers.PEERS, args.start_runs, workdir)
    results = [peers.PeerResult(spec, starts[spec.name]) for spec in peers.PEERS]
    with peers.running_peers(peers.PEERS, workdir) as running:
        loads = run_rounds([peer.load_target() for peer in running.values()], settings)
        for result in results:
            result.loads = loads[result.spec.name]
            result.rss_after_load_bytes = running[result.spec.name].rss_bytes()
        baselines = [running[spec.name].load_target() for spec in REGIONSIM_BASELINES]
        if args.no_regionsim:
            regionsim, status, detail = (
                None,
                "pending",
                "not measured (--no-regionsim).",
            )
        else:
            regionsim, status, detail = _measure_regionsim(args, settings, baselines)
    return results, regionsim, status, detail


def _write(results: dict[str, Any], output_dir: Path | None) -> tuple[Path, Path]:
    markdown = (output_dir or REPO_ROOT) / "BENCHMARKS.md"
    json_path = (output_dir or REPO_ROOT / "benchmarks") / "results.json"
    markdown.parent.mkdir(parents=True, exist_ok=True)
    markdown.write_text(report.render_markdown(results))
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    return markdown, json_path


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The cluster's admin client logs every request at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Starts should read cached bytecode, as they do on a user's machine; tox's
    # test environments turn the cache off, and children inherit that.
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        logger.info("unset PYTHONDONTWRITEBYTECODE for the services measured")
    started, load_before = time.monotonic(), _load_average()
    settings = LoadSettings(
        duration_s=args.duration, connections=args.connections, runs=args.load_runs
    )
    try:
        ensure_wrk()
        with tempfile.TemporaryDirectory(prefix="regionsim-bench-") as tmp:
            workdir = Path(tmp)
            transfers = sqlite_copy.measure_copies(workdir, args.transfer_runs)
            peer_results, regionsim, status, detail = _measure_services(
                args, settings, workdir
            )
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
        regionsim_status=status,
        regionsim_detail=detail,
    )
    markdown, json_path = _write(report.build_results(record), args.output_dir)
    logger.info("wrote %s and %s in %.0f s", markdown, json_path, record.elapsed_s)
    if record.elapsed_s > BUDGET_S:
        logger.warning(
            "the run took %.0f s, over its %d s budget", record.elapsed_s, BUDGET_S
        )
    return 1 if status == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
