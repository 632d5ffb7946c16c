"""Turns one run's measurements into plain data, the content of ``results.json``.

Every figure is the median of its runs; every ratio is against a baseline that
was measured in the same run (the bare Starlette floor, MiniStack, or the Python
stream copy). `benchmarks.markdown` renders that data as ``BENCHMARKS.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks import report_parts as parts
from benchmarks.load import LoadSample, LoadSettings
from benchmarks.peers import FLOOR, MINISTACK, PeerResult
from benchmarks.regionsim import RegionsimResult
from benchmarks.report_parts import Part, median, ratio
from benchmarks.sqlite_copy import BATCH_SIZE, METHODS, schema_of

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
    # regionsim's start, memory and GET; its result is a RegionsimResult.
    regionsim: Part
    # transfer, seeding, suite, proxy, docker, start_profile
    parts: dict[str, Part] = field(default_factory=dict)
    # Whether the run waited for a quiet machine, and what it found.
    quiet: dict[str, Any] = field(default_factory=dict)
    # Each part's start, duration and load averages, in the order run.
    timeline: list[dict[str, Any]] = field(default_factory=list)


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
            "schema": schema_of(method),
            "runs_rows_per_s": runs,
            "median_rows_per_s": median(runs),
            "ratio_to_stream_copy": ratio(median(runs), base),
        }
    return {
        "rows": record.transfer_rows,
        "batch_size": BATCH_SIZE,
        "sqlite": "journal_mode=WAL, synchronous=NORMAL on both files",
        "status": "measured" if record.transfers else "skipped",
        "methods": methods,
    }


def _target(
    name: str, goal: str, value: float | None, unit: str, met: bool | None
) -> dict[str, Any]:
    status = "not measured" if value is None else ("met" if met else "missed")
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


def _start_summary(result: RegionsimResult | None) -> dict[str, Any]:
    return {
        "ready_runs_s": result.ready_seconds if result else [],
        "ready_median_s": median(result.ready_seconds) if result else None,
        "seed_tiny_runs_s": result.seed_seconds if result else [],
        "seed_tiny_median_s": median(result.seed_seconds) if result else None,
        "first_answer_runs_s": result.start_seconds if result else [],
        "first_answer_median_s": median(result.start_seconds) if result else None,
    }


def _get_summary(
    result: RegionsimResult | None, peers: dict[str, Any]
) -> dict[str, Any] | None:
    if result is None or not result.loads:
        return None
    return {
        **_load_summary(result.loads),
        "region_id": result.region_id,
        "baseline_requests_per_s": {
            FLOOR.name: _baseline_rps(result, peers, FLOOR.name),
            MINISTACK.name: _baseline_rps(result, peers, MINISTACK.name),
        },
    }


def _targets(section: dict[str, Any]) -> list[dict[str, Any]]:
    ready = section["start"]["ready_median_s"]
    max_mb = section["memory"]["max_region_process_median_mb"]
    get = section["get"] or {}
    rps = get.get("median_requests_per_s")
    baselines = get.get("baseline_requests_per_s", {})
    to_floor = ratio(rps, baselines.get(FLOOR.name))
    to_ministack = ratio(rps, baselines.get(MINISTACK.name))
    to_stream = section["transfer"].get("ratio_to_stream_copy")
    suite = section["suite"].get("modes", {}).get("n_auto", {})
    suite_s = suite.get("median_seconds")
    return [
        _target("start", "all 7 services ready in < 1.5 s", ready, "s",
                ready is not None and ready < 1.5),
        _target("memory", "<= 40 MB per region process (largest)", max_mb, "MB",
                max_mb is not None and max_mb <= 40),
        _target("get_vs_floor", ">= 0.60x bare Starlette req/s", to_floor, "x",
                to_floor is not None and to_floor >= 0.6),
        _target("get_vs_ministack", ">= 1.5x MiniStack req/s", to_ministack, "x",
                to_ministack is not None and to_ministack >= 1.5),
        _target("transfer", ">= 0.5x Python stream copy rows/s (region indexes)",
                to_stream, "x", to_stream is not None and to_stream >= 0.5),
        _target("suite", "conformance suite (-n auto) < 60 s", suite_s, "s",
                suite_s is not None and suite_s < 60),
    ]  # fmt: skip


def _regionsim_summary(record: RunRecord, peers: dict[str, Any]) -> dict[str, Any]:
    result: RegionsimResult | None = record.regionsim.result
    summaries = {
        "transfer": parts.transfer_summary,
        "seeding": parts.seeding_summary,
        "suite": parts.suite_summary,
        "proxy": parts.proxy_summary,
        "docker": parts.docker_summary,
        "start_profile": parts.start_profile_summary,
    }
    section: dict[str, Any] = {
        "status": record.regionsim.status,
        "detail": record.regionsim.detail,
        "start": _start_summary(result),
        "memory": {
            "max_region_process_median_mb": median(
                [b / 1e6 for b in result.max_region_rss_bytes]
            )
            if result
            else None,
            "total_median_mb": median([b / 1e6 for b in result.total_rss_bytes])
            if result
            else None,
        },
        "get": _get_summary(result, peers),
    }
    for name, summarize in summaries.items():
        part = record.parts.get(name) or Part("skipped", "not run")
        section[name] = summarize(part)
    section["targets"] = _targets(section)
    return section


def build_results(record: RunRecord) -> dict[str, Any]:
    """The whole run as plain data, the content of ``results.json``."""
    peers = {peer.spec.name: _peer_summary(peer) for peer in record.peers}
    _with_medians_and_ratios(peers)
    return {
        "generated_at": record.generated_at,
        "elapsed_s": round(record.elapsed_s, 1),
        "machine": record.machine,
        "quiet": record.quiet,
        "timeline": record.timeline,
        "settings": {
            "start_runs": record.start_runs,
            "transfer_runs": record.transfer_runs,
            "load": asdict(record.load),
            "floor": FLOOR.name,
        },
        "peers": peers,
        "transfer": _transfer_summary(record),
        "regionsim": _regionsim_summary(record, peers),
        "load_test": parts.LOAD_TEST,
    }
