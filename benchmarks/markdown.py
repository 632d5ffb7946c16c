"""``BENCHMARKS.md`` from one run's data (`benchmarks.report.build_results`).

The regionsim summary sits between two markers; every missed target is named
in plain words there, with what the part's profile shows.
"""

from __future__ import annotations

from typing import Any

from benchmarks import report_parts as parts
from benchmarks.report_parts import busiest_line, fmt

REGIONSIM_BEGIN = "<!-- regionsim:begin (filled by the runner; do not edit) -->"
REGIONSIM_END = "<!-- regionsim:end -->"
HTTPS_KEEP_ALIVE = "proxy, https via CONNECT (keep-alive tunnel)"


def _machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    load = m["load_average_1min"]
    return (
        f"{m['cpus']} cores, {m['memory_gb']:.0f} GB, {m['platform']}, Python {m['python']}, "
        f"SQLite {m['sqlite']}, {m['wrk']}; 1-minute load average {load['before']:.1f} "
        f"before and {load['after']:.1f} after (other work on the machine lowers the "
        "absolute figures more than the ratios)"
    )


def _quiet_line(results: dict[str, Any]) -> str:
    quiet = results.get("quiet", {})
    if not quiet.get("limit_s"):
        return ""
    threshold, waited, load = quiet["threshold"], quiet["waited_s"], quiet["load"]
    if quiet["quiet"]:
        after = results["machine"]["load_average_1min"]["after"]
        rose = (
            f" Other work started during the run (load {after:.1f} at its end); "
            "'Run log' shows which parts ran on a busier machine."
            if after >= threshold * 2
            else ""
        )
        return (
            f" The run waited {waited:.0f} s for the 1-minute load average to fall "
            f"below {threshold:.1f} before it began ({load:.1f} then).{rose}"
        )
    return (
        f" **The machine never got quiet**: after waiting {waited:.0f} s the 1-minute "
        f"load average was still {load:.1f} (goal below {threshold:.1f}), as other "
        "test suites were running; the run went ahead, so its absolute figures are "
        "lower than on an idle machine and the ratios are the figures to read."
    )


def _target_value(t: dict[str, Any]) -> str:
    return fmt(t["value"], ".2f", f" {t['unit']}" if t["unit"] != "x" else "x")


def _regionsim_figures(section: dict[str, Any]) -> list[tuple[str, str]]:
    start, memory = section["start"], section["memory"]
    get = section["get"] or {}
    rate = fmt(get.get("median_requests_per_s"), ",.0f", " req/s")
    p50 = fmt(get.get("median_p50_ms"), ".2f", " ms")
    p99 = fmt(get.get("median_p99_ms"), ".2f", " ms")
    large = section["seeding"].get("profiles", {}).get("large", {})
    suite = section["suite"].get("modes", {})
    proxy = section["proxy"].get("modes", {}).get(HTTPS_KEEP_ALIVE, {})
    docker = section["docker"]
    transfer = section["transfer"]
    return [
        (
            "all services ready (`started_in`)",
            fmt(start["ready_median_s"], ".3f", " s"),
        ),
        ("seeding `tiny` after that", fmt(start["seed_tiny_median_s"], ".3f", " s")),
        (
            "start, seeding included, to the first authenticated 200",
            fmt(start["first_answer_median_s"], ".3f", " s"),
        ),
        (
            "largest region server process",
            fmt(memory["max_region_process_median_mb"], ".1f", " MB"),
        ),
        ("all service processes", fmt(memory["total_median_mb"], ".1f", " MB")),
        (
            f"GET /api/v1/user in {get.get('region_id', '-')}",
            f"{rate}, p50 {p50}, p99 {p99}" if get else "-",
        ),
        (
            "transfer of a 100,000-entry workspace, checksums verified",
            fmt(transfer.get("median_rows_per_s"), ",.0f", " rows/s"),
        ),
        (
            "seeding `large` (all five regions)",
            f"{fmt(large.get('median_seconds'), '.2f', ' s')}, "
            f"{fmt(large.get('median_rows_per_s'), ',.0f', ' rows/s')}",
        ),
        (
            "conformance suite, -n auto / serial",
            f"{fmt(suite.get('n_auto', {}).get('median_seconds'), '.1f', ' s')} / "
            f"{fmt(suite.get('serial', {}).get('median_seconds'), '.1f', ' s')}",
        ),
        (
            "HTTPS proxy, added per request (keep-alive tunnel, p50)",
            fmt(proxy.get("median_added_p50_us"), "+,.0f", " us"),
        ),
        (
            "docker backend, all seven ready",
            fmt(docker.get("docker_ready_median_s"), ".2f", " s")
            if docker["status"] == "measured"
            else f"not measured: {docker['detail']}",
        ),
    ]


def _profile_note(summary: dict[str, Any], processes: list[dict[str, Any]]) -> str:
    if summary["status"] != "measured":
        return f"no profile in this run ({summary['status']}: {summary['detail']})"
    if not processes:
        return "no profile in this run (py-spy took no samples)"
    return busiest_line(processes)


def _missed(section: dict[str, Any], t: dict[str, Any]) -> str:
    """One plain paragraph for a missed target, with what its profile shows."""
    value, name = _target_value(t), t["target"]
    if name == "start":
        profile = section["start_profile"]
        note = _profile_note(profile, profile.get("processes", []))
        cpu = profile.get("cpu_s")
        spent = (
            f", and all processes together used {cpu:.2f} s of CPU, at least "
            f"{cpu / 2:.2f} s of wall time on 2 cores"
            if cpu
            else ""
        )
        return (
            f"**start missed**: all seven services were ready in {value} (median of "
            f"the starts), not under 1.5 s. In the profiled start {note}{spent}; see "
            "'Where the start time goes' below."
        )
    if name == "transfer":
        transfer = section["transfer"]
        note = _profile_note(transfer, transfer.get("profile", {}).get("processes", []))
        return (
            f"**transfer missed**: "
            f"{fmt(transfer.get('median_rows_per_s'), ',.0f', ' rows/s')} is {value} "
            "the Python stream copy into the same indexes "
            f"({fmt(transfer.get('stream_copy_median_rows_per_s'), ',.0f', ' rows/s')});"
            f" the goal is 0.5x. In the profiled transfer {note}; see 'Transfer' below."
        )
    if name == "suite":
        slowest = section["suite"]["modes"]["n_auto"]["slowest"][:3]
        cases = "; ".join(f"{s:.1f} s `{case}`" for s, _, case in slowest)
        return (
            f"**suite missed**: `pytest scenarios -n auto` took {value}, not under "
            f"60 s. Slowest steps: {cases or '-'}; see 'Conformance suite' below."
        )
    return f"**{name} missed**: {value} against the goal {t['goal']}."


def _regionsim_section(results: dict[str, Any]) -> list[str]:
    section = results["regionsim"]
    status = section["status"]
    lines = [REGIONSIM_BEGIN, ""]
    if status == "measured":
        lines.append(f"Measured in this run. {section['detail']}".rstrip())
    else:
        lines.append(f"**{status}**: {section['detail'].rstrip('.')}.")
    lines += ["", "| target | goal | regionsim | status |", "|---|---|---|---|"]
    for t in section["targets"]:
        lines.append(
            f"| {t['target']} | {t['goal']} | {_target_value(t)} | {t['status']} |"
        )
    missed = [
        _missed(section, t) for t in section["targets"] if t["status"] == "missed"
    ]
    for paragraph in missed:
        lines += ["", paragraph]
    lines += ["", "| figure | median |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in _regionsim_figures(section)]
    return [*lines, "", REGIONSIM_END]


def _start_table(results: dict[str, Any]) -> list[str]:
    runs = results["settings"]["start_runs"]
    lines = [
        f"## Peers: start and memory (median of {runs} starts)",
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
            f"| {peer['label']} | {versions} | {fmt(start['median_s'], '.3f', ' s')} "
            f"| {fmt(start['ratio_to_floor'], '.2f', 'x')} "
            f"| {fmt(memory['median_mb'], '.1f', ' MB')} "
            f"| {fmt(memory['ratio_to_floor'], '.2f', 'x')} "
            f"| {fmt(memory['after_load_mb'], '.1f', ' MB')} |"
        )
    if not results["peers"]:
        lines.append("| (peers skipped in this run) | | | | | | |")
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
            f"| {fmt(get['median_requests_per_s'], ',.0f')} "
            f"| {fmt(get['ratio_to_floor'], '.2f', 'x')} "
            f"| {fmt(get['median_p50_ms'], '.2f', ' ms')} "
            f"| {fmt(get['median_p99_ms'], '.2f', ' ms')} |"
        )
    return lines


def _transfer_table(results: dict[str, Any]) -> list[str]:
    transfer = results["transfer"]
    runs = results["settings"]["transfer_runs"]
    lines = [
        "## Transfer baselines",
        "",
        f"{transfer['rows']:,} rows of the region store's `time_entries` table (its "
        "columns, from `simulator.region.schema`) copied into a fresh SQLite file; "
        f"{transfer['sqlite']}; median of {runs} runs, the methods taking turns. "
        "*region indexes*: the destination has the store's primary key on id and its "
        "indexes (workspace_id, id) and (workspace_id, user_id, start), as a "
        "transfer's destination does; *primary key only*: no secondary index.",
        "",
        "| method | destination table | rows/s | x stream copy (region indexes) |",
        "|---|---|---|---|",
    ]
    if transfer["status"] != "measured":
        lines.append("| (skipped in this run) | | | |")
    for method in transfer["methods"].values():
        lines.append(
            f"| {method['label']} | {method['schema']} "
            f"| {fmt(method['median_rows_per_s'], ',.0f')} "
            f"| {fmt(method['ratio_to_stream_copy'], '.2f', 'x')} |"
        )
    return lines


def _timeline_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Run log",
        "",
        "Each part in the order run, and the machine's 1-minute load average as it "
        "began and ended. The average counts the runner's own processes too (a part "
        "that keeps both cores busy raises it towards 2); above that, other work was "
        "running on the shared machine.",
        "",
        "| part | began at | took | load average |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {e['part']} | +{e['began_s']:.0f} s | {e['seconds']:.0f} s "
        f"| {e['load_before']:.1f} -> {e['load_after']:.1f} |"
        for e in results.get("timeline", [])
    ]
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
- regionsim: `Cluster.start("process", seed=1, profile=None)`, then
  `seed_profile("tiny")`, as many starts as the peers get plus a warm-up. Start is
  `Cluster.started_in` (spawn to all seven services healthy); seeding is timed
  apart. Its GET is `/api/v1/user` with a seeded member's key on that member's
  region server, driven in rounds with the floor and MiniStack, which stay up for
  it; its GET ratios use those same rounds.
- Each part runs on its own cluster and can be left out: `--skip copies`,
  `peers`, `regionsim`, `transfer`, `seeding`, `suite`, `proxy`, `docker`,
  `profile` (py-spy captures). A part that cannot run here (no Docker engine, no
  py-spy) says why; one that fails is reported and the run exits 1.
- regionsim's targets: all seven services ready in under 1.5 s, at most 40 MB per
  region process, GET at least 0.60x the floor and at least 1.5x MiniStack, transfer
  at least 0.5x the Python stream copy into the same indexes, the conformance suite
  with `-n auto` in under a minute.
"""


def render_markdown(results: dict[str, Any]) -> str:
    """The text of ``BENCHMARKS.md``."""
    regionsim = results["regionsim"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks` (`tox -e bench`); change the runner, not this "
        "file. Every figure is the median of several runs and every ratio compares with "
        "a baseline measured in the same run. Each run's numbers are in "
        "`benchmarks/results.json`.",
        "",
        f"Last run: {results['generated_at']}, {results['elapsed_s']:.0f} s in all, on "
        f"{_machine_line(results)}.{_quiet_line(results)}",
        "",
        "## regionsim against its targets",
        "",
        *_regionsim_section(results),
        "",
        *parts.start_profile_section(regionsim["start_profile"]),
        "",
        *parts.transfer_section(regionsim["transfer"]),
        "",
        *parts.seeding_section(regionsim["seeding"]),
        "",
        *parts.suite_section(regionsim["suite"]),
        "",
        *parts.proxy_section(regionsim["proxy"]),
        "",
        *parts.docker_section(regionsim["docker"]),
        "",
        *parts.load_test_section(),
        "",
        *_start_table(results),
        "",
        *_load_table(results),
        "",
        *_transfer_table(results),
        "",
        *_timeline_table(results),
        "",
        METHOD_NOTES,
    ]
    return "\n".join(lines)
