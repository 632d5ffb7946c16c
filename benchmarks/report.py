"""Turns one run's measurements into ``results.json`` and ``BENCHMARKS.md``.

Every figure is the median of its runs; every ratio is against a baseline that
was measured in the same run (the bare Starlette floor, MiniStack, or the Python
stream copy).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.load import LoadSample, LoadSettings
from benchmarks.peers import FLOOR, MINISTACK, PeerResult
from benchmarks.regionsim import RegionsimResult
from benchmarks.sqlite_copy import BATCH_SIZE, METHODS

REGIONSIM_BEGIN = "<!-- regionsim:begin (filled by the runner; do not edit) -->"
REGIONSIM_END = "<!-- regionsim:end -->"
STREAM_COPY = "stream_copy"


@dataclass
class RunRecord:
    """Everything one run of the runner measured, plus where and how."""

    generated_at: str
    elapsed_s: float
    machine: dict[str, Any]
    start_runs: int
    transfer_runs: int
    transfer_rows: int
    load: LoadSettings
    peers: list[PeerResult]
    transfers: dict[str, list[float]]
    regionsim: RegionsimResult | None
    regionsim_status: str  # "measured", "pending" or "failed"
    regionsim_detail: str = ""


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return value / baseline


def _load_summary(samples: Sequence[LoadSample]) -> dict[str, Any]:
    return {
        "runs": [{**asdict(s), "requests_per_s": s.requests_per_s} for s in samples],
        "median_requests_per_s": median([s.requests_per_s for s in samples]),
        "median_p50_ms": median([s.p50_ms for s in samples]),
        "median_p99_ms": median([s.p99_ms for s in samples]),
    }


def _peer_summary(peer: PeerResult) -> dict[str, Any]:
    return {
        "label": peer.spec.label,
        "request": peer.spec.request,
        "versions": peer.spec.versions(),
        "start": {"runs_s": [s.seconds for s in peer.starts]},
        "memory": {
            "runs_mb": [s.rss_bytes / 1e6 for s in peer.starts],
            "after_load_mb": (peer.rss_after_load_bytes or 0) / 1e6 or None,
        },
        "get": _load_summary(peer.loads),
    }


def _with_medians_and_ratios(peers: dict[str, dict[str, Any]]) -> None:
    for peer in peers.values():
        peer["start"]["median_s"] = median(peer["start"]["runs_s"])
        peer["memory"]["median_mb"] = median(peer["memory"]["runs_mb"])
    floor = peers.get(FLOOR.name)
    for peer in peers.values():
        for section, key in (("start", "median_s"), ("memory", "median_mb")):
            base = floor[section][key] if floor else None
            peer[section]["ratio_to_floor"] = ratio(peer[section][key], base)
        base = floor["get"]["median_requests_per_s"] if floor else None
        peer["get"]["ratio_to_floor"] = ratio(
            peer["get"]["median_requests_per_s"], base
        )


def _transfer_summary(record: RunRecord) -> dict[str, Any]:
    methods: dict[str, Any] = {}
    base = median(record.transfers.get(STREAM_COPY, []))
    for method in METHODS:
        runs = record.transfers.get(method.name, [])
        methods[method.name] = {
            "label": method.label,
            "runs_rows_per_s": runs,
            "median_rows_per_s": median(runs),
            "ratio_to_stream_copy": ratio(median(runs), base),
        }
    return {
        "rows": record.transfer_rows,
        "batch_size": BATCH_SIZE,
        "sqlite": "journal_mode=WAL, synchronous=NORMAL on both files",
        "methods": methods,
    }


def _target(
    name: str, goal: str, value: float | None, unit: str, met: bool | None
) -> dict[str, Any]:
    status = "pending" if value is None else ("met" if met else "missed")
    return {
        "target": name,
        "goal": goal,
        "value": value,
        "unit": unit,
        "status": status,
    }


def _baseline_rps(
    result: RegionsimResult | None, peers: dict[str, Any], name: str
) -> float | None:
    """A baseline's GET rate from regionsim's own rounds, else from the peers' rounds."""
    if result is not None and result.baseline_loads.get(name):
        return median([s.requests_per_s for s in result.baseline_loads[name]])
    rate: float | None = peers.get(name, {}).get("get", {}).get("median_requests_per_s")
    return rate


def _regionsim_summary(
    record: RunRecord, peers: dict[str, Any], transfer: dict[str, Any]
) -> dict[str, Any]:
    result = record.regionsim
    start = median(result.start_seconds) if result else None
    ready = median(result.ready_seconds or result.start_seconds) if result else None
    max_mb = median([b / 1e6 for b in result.max_region_rss_bytes]) if result else None
    total_mb = median([b / 1e6 for b in result.total_rss_bytes]) if result else None
    get = _load_summary(result.loads) if result else None
    rps = get["median_requests_per_s"] if get else None
    moved = median(result.transfer_rows_per_s) if result else None

    floor_rps = _baseline_rps(result, peers, FLOOR.name)
    ministack_rps = _baseline_rps(result, peers, MINISTACK.name)
    stream_rps = transfer["methods"][STREAM_COPY]["median_rows_per_s"]
    to_floor, to_ministack = ratio(rps, floor_rps), ratio(rps, ministack_rps)
    to_stream = ratio(moved, stream_rps)

    targets = [
        _target("start", "all 7 services ready in < 1.5 s", ready, "s",
                ready is not None and ready < 1.5),
        _target("memory", "<= 40 MB per region process (largest)", max_mb, "MB",
                max_mb is not None and max_mb <= 40),
        _target("get_vs_floor", ">= 0.60x bare Starlette req/s", to_floor, "x",
                to_floor is not None and to_floor >= 0.6),
        _target("get_vs_ministack", ">= 1.5x MiniStack req/s", to_ministack, "x",
                to_ministack is not None and to_ministack >= 1.5),
        _target("transfer", ">= 0.5x Python stream copy rows/s", to_stream, "x",
                to_stream is not None and to_stream >= 0.5),
    ]  # fmt: skip
    return {
        "status": record.regionsim_status,
        "detail": record.regionsim_detail,
        "start": {
            "ready_runs_s": result.ready_seconds if result else [],
            "ready_median_s": ready,
            "first_answer_runs_s": result.start_seconds if result else [],
            "first_answer_median_s": start,
        },
        "memory": {"max_region_process_median_mb": max_mb, "total_median_mb": total_mb},
        "get": {
            **get,
            "region_id": result.region_id,
            "baseline_requests_per_s": {
                FLOOR.name: floor_rps,
                MINISTACK.name: ministack_rps,
            },
        }
        if get and result
        else None,
        "transfer": {"median_rows_per_s": moved},
        "targets": targets,
    }


def build_results(record: RunRecord) -> dict[str, Any]:
    """The whole run as plain data, the content of ``results.json``."""
    peers = {peer.spec.name: _peer_summary(peer) for peer in record.peers}
    _with_medians_and_ratios(peers)
    transfer = _transfer_summary(record)
    return {
        "generated_at": record.generated_at,
        "elapsed_s": round(record.elapsed_s, 1),
        "machine": record.machine,
        "settings": {
            "start_runs": record.start_runs,
            "transfer_runs": record.transfer_runs,
            "load": asdict(record.load),
            "floor": FLOOR.name,
        },
        "peers": peers,
        "transfer": transfer,
        "regionsim": _regionsim_summary(record, peers, transfer),
    }


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    load = m["load_average_1min"]
    return (
        f"{m['cpus']} cores, {m['memory_gb']:.0f} GB, {m['platform']}, Python {m['python']}, "
        f"SQLite {m['sqlite']}, {m['wrk']}; 1-minute load average {load['before']:.1f} "
        f"before and {load['after']:.1f} after (other work on the machine lowers the "
        "absolute figures more than the ratios)"
    )


def _regionsim_figures(section: dict[str, Any]) -> list[tuple[str, str]]:
    start, memory = section["start"], section["memory"]
    get = section["get"] or {}
    rate = _fmt(get.get("median_requests_per_s"), ",.0f", " req/s")
    p50 = _fmt(get.get("median_p50_ms"), ".2f", " ms")
    p99 = _fmt(get.get("median_p99_ms"), ".2f", " ms")
    return [
        ("all services ready", _fmt(start["ready_median_s"], ".3f", " s")),
        (
            "start, seeding included, to the first authenticated 200",
            _fmt(start["first_answer_median_s"], ".3f", " s"),
        ),
        (
            "largest region server process",
            _fmt(memory["max_region_process_median_mb"], ".1f", " MB"),
        ),
        ("all service processes", _fmt(memory["total_median_mb"], ".1f", " MB")),
        (
            f"GET /api/v1/user in {get.get('region_id', '-')}",
            f"{rate}, p50 {p50}, p99 {p99}",
        ),
        ("transfer", _fmt(section["transfer"]["median_rows_per_s"], ",.0f", " rows/s")),
    ]


def _regionsim_section(results: dict[str, Any]) -> list[str]:
    section = results["regionsim"]
    status = section["status"]
    lines = [REGIONSIM_BEGIN, ""]
    if status == "measured":
        lines.append(f"Measured in this run. {section['detail']}".rstrip())
    else:
        lines.append(
            f"**{status}**: {section['detail'].rstrip('.')}. The runner fills this "
            "section once "
            "`measure_regionsim` in `benchmarks/regionsim.py` can start a cluster."
        )
    lines += ["", "| target | goal | regionsim | status |", "|---|---|---|---|"]
    for t in section["targets"]:
        value = _fmt(t["value"], ".2f", f" {t['unit']}" if t["unit"] != "x" else "x")
        lines.append(f"| {t['target']} | {t['goal']} | {value} | {t['status']} |")
    if status == "measured":
        lines += ["", "| figure | median |", "|---|---|"]
        lines += [
            f"| {name} | {value} |" for name, value in _regionsim_figures(section)
        ]
    return [*lines, "", REGIONSIM_END]


def _start_table(results: dict[str, Any]) -> list[str]:
    runs = results["settings"]["start_runs"]
    lines = [
        f"## Start and memory (median of {runs} starts)",
        "",
        "Start is spawn to the first 200 of an authenticated GET; memory is VmRSS of the "
        "process and its children 0.5 s after that answer, and again after the load runs.",
        "",
        "| service | version | start | x floor | RSS after start | x floor | RSS after load |",
        "|---|---|---|---|---|---|---|",
    ]
    for peer in results["peers"].values():
        versions = ", ".join(f"{k} {v}" for k, v in peer["versions"].items())
        start, memory = peer["start"], peer["memory"]
        lines.append(
            f"| {peer['label']} | {versions} | {_fmt(start['median_s'], '.3f', ' s')} "
            f"| {_fmt(start['ratio_to_floor'], '.2f', 'x')} "
            f"| {_fmt(memory['median_mb'], '.1f', ' MB')} "
            f"| {_fmt(memory['ratio_to_floor'], '.2f', 'x')} "
            f"| {_fmt(memory['after_load_mb'], '.1f', ' MB')} |"
        )
    return lines


def _load_table(results: dict[str, Any]) -> list[str]:
    load = results["settings"]["load"]
    lines = [
        "## Authenticated GET under load",
        "",
        f"{results['machine']['wrk']}, {load['threads']} thread, {load['connections']} "
        f"connections, {load['duration_s']} s per run after a {load['warmup_s']} s "
        f"warm-up, median of {load['runs']} runs, loopback only.",
        "",
        "| service | request | req/s | x floor | p50 | p99 |",
        "|---|---|---|---|---|---|",
    ]
    for peer in results["peers"].values():
        get = peer["get"]
        lines.append(
            f"| {peer['label']} | {peer['request']} "
            f"| {_fmt(get['median_requests_per_s'], ',.0f')} "
            f"| {_fmt(get['ratio_to_floor'], '.2f', 'x')} "
            f"| {_fmt(get['median_p50_ms'], '.2f', ' ms')} "
            f"| {_fmt(get['median_p99_ms'], '.2f', ' ms')} |"
        )
    return lines


def _transfer_table(results: dict[str, Any]) -> list[str]:
    transfer = results["transfer"]
    runs = results["settings"]["transfer_runs"]
    lines = [
        "## Transfer baselines",
        "",
        f"{transfer['rows']:,} time-entry rows (id, workspace id, user id, description, "
        "start, end, billable, project id, tag ids as JSON, residency) copied into a "
        f"fresh SQLite file with the same schema; {transfer['sqlite']}; "
        f"median of {runs} runs, the methods taking turns.",
        "",
        "| method | rows/s | x stream copy |",
        "|---|---|---|",
    ]
    for method in transfer["methods"].values():
        lines.append(
            f"| {method['label']} | {_fmt(method['median_rows_per_s'], ',.0f')} "
            f"| {_fmt(method['ratio_to_stream_copy'], '.2f', 'x')} |"
        )
    return lines


METHOD_NOTES = """\
## How it is measured

- Every service runs as its own process group on 127.0.0.1 and a free port, and is
  stopped with its whole group (TERM, then KILL) when its measurement ends, also on
  error. Before and after measuring, the runner reads the sockets of every process
  of the group from `/proc` and stops if one is bound or connected off loopback.
- Peers run as they ship, with their default logging sent to a file. The floor is
  `benchmarks/bare_app.py` on uvicorn without access log. Services take turns: one
  start of each per round, and one wrk run of each per round, so a slow spell of
  the machine falls on all of them. The first start round is a warm-up and is not
  counted. MB here is 10^6 bytes.
- moto: `moto_server -H 127.0.0.1 -p PORT`. MiniStack: its `ministack` entry point
  with `GATEWAY_PORT`, `BIND_HOST=127.0.0.1`, `DOCKER_HOST` naming a socket that does
  not exist (so it never talks to a Docker daemon), `IOT_MTLS_ENABLED=0`,
  `SFTP_ENABLED=0` and persistence off. The S3 bucket and object are created with
  plain HTTP PUTs; every S3 request carries SigV4 headers made with dummy credentials.
- Load: wrk with a Lua script that sets the headers, stops each thread after a fixed
  number of responses, and prints the exact p50 and p99. A run with more than 1 %
  failed requests aborts the benchmark. Each GET is first checked for status 200
  (and, for S3, the object's bytes) before any load.
- regionsim: `Cluster.start(backend="process", seed=1, profile="tiny")`, as many
  starts as the peers get plus a warm-up. Its GET is `/api/v1/user` with a seeded
  member's key on that member's region server, driven in rounds with the floor and
  MiniStack, which stay up for it; its GET ratios use those same rounds.
- regionsim's targets: all seven services ready in under 1.5 s, at most 40 MB per
  region process, GET at least 0.60x the floor and at least 1.5x MiniStack, transfer
  at least 0.5x the Python stream copy.
"""


def render_markdown(results: dict[str, Any]) -> str:
    """The text of ``BENCHMARKS.md``."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks` (`tox -e bench`); change the runner, not this "
        "file. Every figure is the median of several runs and every ratio compares with "
        "a baseline measured in the same run. Each run's numbers are in "
        "`benchmarks/results.json`.",
        "",
        f"Last run: {results['generated_at']}, {results['elapsed_s']:.0f} s in all, on "
        f"{_machine_line(results)}.",
        "",
        "## regionsim against its targets",
        "",
        *_regionsim_section(results),
        "",
        *_start_table(results),
        "",
        *_load_table(results),
        "",
        *_transfer_table(results),
        "",
        METHOD_NOTES,
    ]
    return "\n".join(lines)
