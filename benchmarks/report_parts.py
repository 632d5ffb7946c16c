"""The report's regionsim parts beyond start and GET: plain data, then Markdown.

Each ``*_summary`` turns one part's measurements into the medians and ratios
kept in ``results.json``; each ``*_section`` renders that data. A part that was
skipped, could not be measured or failed keeps its status and the reason.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.docker_start import DockerResult
from benchmarks.profiling import RATE_HZ, ProcessProfile
from benchmarks.proxy import ProxyResult
from benchmarks.seeding import SeedingResult
from benchmarks.start_profile import StartProfile
from benchmarks.suite import SuiteResult
from benchmarks.transfer import ENTRIES_PER_MEMBER, MEMBERS, SOURCE, TransferResult

# The last Locust run of the transfer path; the runner does not re-measure it.
LOAD_TEST_PHASES = [
    {"phase": "warm-up", "requests_per_s": 84.4, "p95_ms": 15},
    {"phase": "transfers", "requests_per_s": 83.2, "p95_ms": 16},
    {"phase": "after cut-over", "requests_per_s": 90.4, "p95_ms": 17},
]
LOAD_TEST = {
    "command": "tox -e load -- -u 50 -t 60s",
    "users": 50,
    "seconds": 60,
    "phases": LOAD_TEST_PHASES,
    "answers": 5152,
    "failures": 2,
    "lock_answers": 27,
    "transfers": "6 of 6",
    "audit": "clean",
    "note": "the rate is set by the users' think time, not by the cluster",
}


@dataclass
class Part:
    """One part of the run: whether it was measured, why not, and its result."""

    status: str  # measured, skipped, not measured or failed
    detail: str = ""
    result: Any = None


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return value / baseline


def fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _head(part: Part) -> dict[str, Any]:
    return {"status": part.status, "detail": part.detail}


def processes_summary(profiles: Sequence[ProcessProfile]) -> list[dict[str, Any]]:
    return [profile.summary() for profile in profiles]


# -- summaries (results.json) ------------------------------------------------


def transfer_summary(part: Part) -> dict[str, Any]:
    summary = _head(part)
    result: TransferResult | None = part.result
    if result is None:
        return {**summary, "median_rows_per_s": None}
    rates = [run.rows_per_s for run in result.runs]
    moved = median(rates)
    stream = median(result.stream_copy_rows_per_s)
    attach = median(result.attach_rows_per_s)
    profile_run = result.profile_run
    return {
        **summary,
        "workspace": f"PRO, {MEMBERS} active members x {ENTRIES_PER_MEMBER:,} entries",
        "source": SOURCE,
        "runs": [{**asdict(run), "rows_per_s": run.rows_per_s} for run in result.runs],
        "median_rows_per_s": moved,
        "median_seconds": median([run.seconds for run in result.runs]),
        "median_rows_copied": median([run.rows_copied for run in result.runs]),
        "median_create_s": median([run.create_seconds for run in result.runs]),
        "baseline_rows": result.baseline_rows,
        "stream_copy_runs_rows_per_s": result.stream_copy_rows_per_s,
        "stream_copy_median_rows_per_s": stream,
        "attach_runs_rows_per_s": result.attach_rows_per_s,
        "attach_median_rows_per_s": attach,
        "ratio_to_stream_copy": ratio(moved, stream),
        "ratio_to_attach": ratio(moved, attach),
        "profile": {
            "detail": result.profile_detail,
            "run": asdict(profile_run) if profile_run else None,
            "processes": processes_summary(result.profile),
        },
    }


def seeding_summary(part: Part) -> dict[str, Any]:
    result: SeedingResult | None = part.result
    profiles: dict[str, Any] = {}
    for name, runs in (result.runs if result else {}).items():
        profiles[name] = {
            "runs": [{**asdict(run), "rows_per_s": run.rows_per_s} for run in runs],
            "median_seconds": median([run.seconds for run in runs]),
            "median_rows_per_s": median([run.rows_per_s for run in runs]),
            "rows": runs[-1].rows if runs else None,
            "search_index_rows": runs[-1].search_index_rows if runs else None,
            "workspaces": runs[-1].workspaces if runs else None,
        }
    return {**_head(part), "profiles": profiles}


def suite_summary(part: Part) -> dict[str, Any]:
    result: SuiteResult | None = part.result
    modes: dict[str, Any] = {}
    for mode, runs in (result.runs if result else {}).items():
        last = runs[-1] if runs else None
        modes[mode] = {
            "command": SuiteResult.command(mode),
            "runs": [asdict(run) for run in runs],
            "median_seconds": median([run.seconds for run in runs]),
            "outcomes": last.outcomes if last else {},
            "exit_code": last.exit_code if last else None,
            "slowest": last.slowest if last else [],
        }
    return {**_head(part), "modes": modes}


def proxy_summary(part: Part) -> dict[str, Any]:
    result: ProxyResult | None = part.result
    if result is None:
        return {**_head(part), "modes": {}}
    modes = {
        mode: {f"median_{key}": median(values) for key, values in figures.items()}
        | {"runs": figures}
        for mode, figures in result.modes.items()
    }
    return {
        **_head(part),
        "requests_per_round": result.requests_per_round,
        "rounds": result.rounds,
        "modes": modes,
    }


def docker_summary(part: Part) -> dict[str, Any]:
    result: DockerResult | None = part.result
    if result is None:
        return _head(part)
    docker_ready = median(result.docker_ready_s)
    process_ready = median(result.process_ready_s)
    return {
        **_head(part),
        "engine": result.server_version,
        "image_prepare_s": result.image_prepare_s,
        "image_built": result.image_built,
        "docker_ready_runs_s": result.docker_ready_s,
        "process_ready_runs_s": result.process_ready_s,
        "image_check_runs_s": result.image_check_s,
        "docker_ready_median_s": docker_ready,
        "process_ready_median_s": process_ready,
        "image_check_median_s": median(result.image_check_s),
        "ratio_to_process": ratio(docker_ready, process_ready),
    }


def start_profile_summary(part: Part) -> dict[str, Any]:
    result: StartProfile | None = part.result
    if result is None:
        return _head(part)
    processes = processes_summary(result.processes)
    return {
        **_head(part),
        "capture_detail": result.capture_detail,
        "started_in_s": result.started_in_s,
        "cpu_s": sum(p["cpu_s"] for p in processes),
        "processes": processes,
        "overall": [
            {"label": label, "cpu_s": count / RATE_HZ}
            for label, count in result.overall()
        ],
        "imports": {
            stack: {"total_s": total, "top": [list(item) for item in top]}
            for stack, (total, top) in result.imports.items()
        },
    }


# -- Markdown ------------------------------------------------------------------


def _not_measured(summary: dict[str, Any]) -> list[str]:
    if summary["status"] == "measured":
        return []
    return [f"**{summary['status']}**: {summary['detail'].rstrip('.')}.", ""]


def busiest_line(processes: Sequence[dict[str, Any]], top: int = 3) -> str:
    """One sentence naming the busiest process and what its CPU went to."""
    if not processes:
        return "no samples were taken"
    busiest = max(processes, key=lambda p: p["cpu_s"])
    spent = "; ".join(
        f"{item['label']} {item['cpu_s']:.2f} s" for item in busiest["top"][:top]
    )
    return f"the busiest process was {busiest['name']} ({busiest['cpu_s']:.2f} s CPU: {spent})"


def _process_table(processes: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["| process | CPU | spent on (CPU seconds) |", "|---|---|---|"]
    for p in processes:
        spent = "<br>".join(
            f"{item['label']}: {item['cpu_s']:.2f} s ({item['share']:.0%})"
            for item in p["top"]
        )
        lines.append(f"| {p['name']} | {p['cpu_s']:.2f} s | {spent} |")
    return lines


def start_profile_section(summary: dict[str, Any]) -> list[str]:
    lines = ["## Where the start time goes", "", *_not_measured(summary)]
    if summary["status"] != "measured":
        return lines
    if summary["capture_detail"]:
        lines += [f"No py-spy capture: {summary['capture_detail']}.", ""]
    else:
        lines += _capture_lines(summary)
    lines += [
        "Import cost of each service's stack in a fresh interpreter "
        "(`python -X importtime`, each module's own time summed per package; what a "
        "bare interpreter imports at start left out):",
        "",
        "| stack | imports | costliest packages |",
        "|---|---|---|",
    ]
    for stack, cost in summary["imports"].items():
        top = ", ".join(f"{name} {seconds:.3f} s" for name, seconds in cost["top"])
        lines.append(f"| {stack} | {cost['total_s']:.3f} s | {top} |")
    return lines


def _capture_lines(summary: dict[str, Any]) -> list[str]:
    return [
        "One extra start (not counted) under `py-spy record --subprocesses` at 100 Hz: "
        f"all seven services ready in {summary['started_in_s']:.2f} s while sampled, "
        f"{summary['cpu_s']:.2f} s of CPU over all processes on "
        "2 cores. Samples in blocking calls are left out. "
        "Labels: `import X` is time spent importing package X; otherwise the innermost "
        "simulator function and, after `>`, the function running at that moment.",
        "",
        "| over all processes | CPU |",
        "|---|---|",
        *(f"| {o['label']} | {o['cpu_s']:.2f} s |" for o in summary["overall"]),
        "",
        *_process_table(summary["processes"]),
        "",
    ]


def transfer_section(summary: dict[str, Any]) -> list[str]:
    lines = ["## Transfer", "", *_not_measured(summary)]
    if summary["status"] != "measured":
        return lines
    runs = len(summary["runs"])
    lines += [
        f"A fresh {summary['workspace']} workspace in {summary['source']} moved to "
        "another region each round (euc1, use2, euw2, apse2 in turn), median of "
        f"{runs} rounds. The time runs from the transfer's POST to the moment its "
        "phase reads `waiting`: the rows copied in batches and indexed for search as "
        "they arrive, **each batch read back by the destination and its digest "
        "compared with the source's**, and both regions' row counts compared (the "
        "verification is inside the figure). Rows are the transfer's `rowsCopied` "
        "(every region-bound table, not only time entries). In each round the same "
        f"{summary['baseline_rows']:,} rows are also copied by the two SQLite "
        "baselines into a table with **the region store's indexes** (primary key on "
        "id, (workspace_id, id), (workspace_id, user_id, start)), so the comparison "
        "is fair; see 'Transfer baselines' for the bare table.",
        "",
        "| figure | median |",
        "|---|---|",
        f"| regionsim transfer | {fmt(summary['median_rows_per_s'], ',.0f', ' rows/s')}"
        f" ({fmt(summary['median_rows_copied'], ',.0f')} rows in "
        f"{fmt(summary['median_seconds'], '.2f', ' s')}) |",
        "| Python stream copy, same rounds | "
        f"{fmt(summary['stream_copy_median_rows_per_s'], ',.0f', ' rows/s')} |",
        "| ATTACH + INSERT ... SELECT, same rounds | "
        f"{fmt(summary['attach_median_rows_per_s'], ',.0f', ' rows/s')} |",
        f"| transfer x stream copy | {fmt(summary['ratio_to_stream_copy'], '.2f', 'x')} |",
        f"| transfer x ATTACH copy | {fmt(summary['ratio_to_attach'], '.2f', 'x')} |",
        "| creating the workspace (not in the figure) | "
        f"{fmt(summary['median_create_s'], '.2f', ' s')} |",
    ]
    profile = summary["profile"]
    if profile["processes"]:
        run = profile["run"] or {}
        lines += [
            "",
            "One more transfer (not counted) under py-spy (`--nonblocking`, 100 Hz) on "
            "the accounts service, the source and the destination region: "
            f"{fmt(run.get('seconds'), '.2f', ' s')} for "
            f"{fmt(run.get('rows_copied'), ',.0f')} rows while sampled.",
            "",
            *_process_table(profile["processes"]),
        ]
    elif profile["detail"]:
        lines += ["", f"No transfer profile: {profile['detail']}."]
    return lines


def seeding_section(summary: dict[str, Any]) -> list[str]:
    lines = ["## Seeding", "", *_not_measured(summary)]
    if summary["status"] != "measured":
        return lines
    lines += [
        "Time of `POST /__regionsim/v1/seed` for each profile into all five regions "
        "(stores wiped before, not timed), the profiles taking turns; rows are the "
        "region-bound rows stored, counted from the audit (the search index apart).",
        "",
        "| profile | workspaces | rows | search index rows | seconds | rows/s |",
        "|---|---|---|---|---|---|",
    ]
    for name, p in summary["profiles"].items():
        lines.append(
            f"| {name} | {p['workspaces']} | {fmt(p['rows'], ',.0f')} "
            f"| {fmt(p['search_index_rows'], ',.0f')} "
            f"| {fmt(p['median_seconds'], '.2f', ' s')} "
            f"| {fmt(p['median_rows_per_s'], ',.0f')} |"
        )
    return lines


def suite_section(summary: dict[str, Any]) -> list[str]:
    lines = ["## Conformance suite", "", *_not_measured(summary)]
    if summary["status"] != "measured":
        return lines
    lines += [
        "Wall time of the whole suite as a subprocess (every cluster it starts "
        "included), with `--durations` added to list the slowest cases.",
        "",
        "| command | runs | seconds | outcome |",
        "|---|---|---|---|",
    ]
    for mode in summary["modes"].values():
        outcome = ", ".join(f"{n} {kind}" for kind, n in mode["outcomes"].items())
        lines.append(
            f"| `{mode['command']}` | {len(mode['runs'])} "
            f"| {fmt(mode['median_seconds'], '.1f', ' s')} | {outcome} |"
        )
    for name, mode in summary["modes"].items():
        if mode["slowest"]:
            lines += ["", f"Slowest steps ({name}):", ""]
            lines += [
                f"- {s:.2f} s {when} `{case}`" for s, when, case in mode["slowest"]
            ]
    return lines


def proxy_section(summary: dict[str, Any]) -> list[str]:
    lines = ["## HTTPS proxy", "", *_not_measured(summary)]
    if summary["status"] != "measured":
        return lines
    runs = len(next(iter(summary["modes"].values()))["runs"]["p50_us"])
    lines += [
        "`simulator.proxy.bench.measure_proxy_latency` against the cluster's gateway "
        "with a seeded global key: `GET /api/v1/user` for `api.clockify.me`, one "
        f"request at a time, {summary['requests_per_round']} per mode and round, "
        f"{summary['rounds']} rounds, a fresh proxy each run; median of {runs} runs. "
        "Added latency is against direct access to the gateway with the same client "
        "(http.client, or requests for the requests modes).",
        "",
        "| mode | p50 | p95 | added per request (p50) |",
        "|---|---|---|---|",
    ]
    for mode, m in summary["modes"].items():
        lines.append(
            f"| {mode} | {fmt(m['median_p50_us'], ',.0f', ' us')} "
            f"| {fmt(m['median_p95_us'], ',.0f', ' us')} "
            f"| {fmt(m['median_added_p50_us'], '+,.0f', ' us')} |"
        )
    return lines


def docker_section(summary: dict[str, Any]) -> list[str]:
    lines = ["## Docker backend", "", *_not_measured(summary)]
    if summary["status"] != "measured":
        return lines
    built = "built" if summary["image_built"] else "checked (up to date)"
    lines += [
        f"Engine {summary['engine']}. Each round starts a docker cluster (a container "
        "per service on the host network) and then a process cluster, without "
        "seeding; start is `Cluster.started_in`, spawn to all seven services healthy. "
        "The docker figure includes the backend's image check "
        "(`docker/build-image.sh --print-digest`), also timed alone. Median of "
        f"{len(summary['docker_ready_runs_s'])} rounds after a warm-up; before them "
        f"the image was {built} in {summary['image_prepare_s']:.1f} s.",
        "",
        "| backend | all seven ready | x process |",
        "|---|---|---|",
        f"| process | {fmt(summary['process_ready_median_s'], '.2f', ' s')} | 1.00x |",
        f"| docker | {fmt(summary['docker_ready_median_s'], '.2f', ' s')} "
        f"| {fmt(summary['ratio_to_process'], '.2f', 'x')} |",
        f"| (docker image check alone) | {fmt(summary['image_check_median_s'], '.2f', ' s')}"
        " | |",
    ]
    return lines


def load_test_section() -> list[str]:
    t = LOAD_TEST
    lines = [
        "## Load test (Locust)",
        "",
        f"From the last `{t['command']}` run ({t['users']} users, {t['seconds']} s, "
        "headless, loopback); **not re-measured by this runner**, kept as recorded. "
        f"{t['answers']:,} answers, {t['failures']} failures, {t['lock_answers']} "
        f"documented lock answers, {t['transfers']} transfers completed, audit "
        f"{t['audit']}; {t['note']}.",
        "",
        "| phase | req/s | p95 |",
        "|---|---|---|",
    ]
    phases: list[dict[str, Any]] = t["phases"]  # type: ignore[assignment]
    lines += [
        f"| {p['phase']} | {p['requests_per_s']:.1f} | {p['p95_ms']} ms |"
        for p in phases
    ]
    return lines
