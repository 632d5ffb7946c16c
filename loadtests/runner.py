"""`python -m loadtests`: start a cluster, plan the load, run Locust headless, judge.

The runner owns the cluster: it starts one on loopback (process backend by
default), creates a PRO workspace per planned transfer, writes the plan, then runs
Locust in a child process, bounded by --run-time plus a grace period. Locust's
quitting listener audits the writes and applies the gates; its exit code is ours.
Everything lands under --out (reports/load/ by default):

    plan.json          addresses and ids the users worked with (no keys)
    locust_*.csv       Locust's statistics; locust.html its report
    summary.json/.md   phases, transfers, audit and gates
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from loadtests.gates import Thresholds
from loadtests.phases import MAX_TRANSFER_SECONDS, parse_run_time
from loadtests.plan import build_plan

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
MAX_RUN_SECONDS = 3600
# Start-up, the shape's last tick, the audit and the reports, on top of --run-time.
GRACE_SECONDS = 120
# How long a master waits for the worker commands to connect.
WORKERS_WAIT_SECONDS = 60
# Settings that would send the users' traffic elsewhere or change how Locust runs.
DROPPED_ENV_PREFIXES = ("LOCUST_",)
DROPPED_ENV = frozenset(
    {
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    }
)
EXIT_USAGE, EXIT_NO_SUMMARY, EXIT_TIMEOUT = 2, 3, 4


class UsageError(Exception):
    """A runner option is out of range; the message says which and why."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests",
        description="Locust load test of the transfer path on an embedded cluster.",
    )
    add = parser.add_argument
    add("-u", "--users", type=int, default=20, help="peak users (default 20)")
    add("-r", "--spawn-rate", type=float, default=10.0, help="users started per second")
    add("-t", "--run-time", default="30s", help="how long Locust runs (default 30s)")
    add(
        "--processes",
        type=int,
        default=1,
        help="Locust processes (master + workers if > 1)",
    )
    add(
        "--expect-workers",
        type=int,
        default=0,
        help="run Locust as a master and wait for this many worker commands",
    )
    add("--master-port", type=int, default=5557, help="the master's port on 127.0.0.1")
    add(
        "--transfers",
        type=int,
        default=6,
        help="transfers the driver starts (default 6)",
    )
    add(
        "--transfer-hours",
        type=float,
        default=6.0,
        help="simulated duration of each transfer, at most 12 (TR-08)",
    )
    add("--seed", default="1", help="seed of the cluster's data")
    add("--profile", default="small", help="seed profile: tiny, small or large")
    add("--backend", default="process", help="process (default) or docker")
    add("--out", default="reports/load", help="directory of the reports")
    add("--max-failure-ratio", type=float, default=Thresholds.max_failure_ratio)
    add("--max-p95-ms", type=float, default=Thresholds.max_p95_ms)
    add("--min-transfers", type=int, default=-1, help="default: every planned one")
    add("--log-level", default="INFO")
    return parser.parse_args(argv)


def check(args: argparse.Namespace) -> int:
    """Validate the options; returns the run time in seconds."""
    try:
        seconds = parse_run_time(args.run_time)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not 1 <= seconds <= MAX_RUN_SECONDS:
        raise UsageError(f"--run-time must be between 1s and {MAX_RUN_SECONDS}s")
    if args.users < 1 or args.spawn_rate <= 0:
        raise UsageError("--users must be at least 1 and --spawn-rate above 0")
    if not 1 <= args.processes <= (os.cpu_count() or 1) * 4:
        raise UsageError("--processes must be between 1 and four per CPU")
    if args.expect_workers and args.processes > 1:
        raise UsageError("use --processes or --expect-workers, not both")
    if not 0 <= args.expect_workers <= 64:
        raise UsageError("--expect-workers must be between 0 and 64")
    if args.transfers < 0:
        raise UsageError("--transfers cannot be negative")
    if not 0 < args.transfer_hours * 3600 <= MAX_TRANSFER_SECONDS:
        raise UsageError("--transfer-hours must be above 0 and at most 12 (TR-08)")
    return seconds


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def locust_command(
    args: argparse.Namespace, seconds: int, host: str, out: Path
) -> list[str]:
    """Locust's command line: headless, bounded, loopback only, reports under `out`."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--host",
        host,
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{seconds}s",
        "--csv",
        str(out / "locust"),
        "--html",
        str(out / "locust.html"),
        "--loglevel",
        args.log_level,
        "--regionsim-plan",
        str(out / "plan.json"),
        "--regionsim-summary",
        str(out / "summary.json"),
        "--max-failure-ratio",
        str(args.max_failure_ratio),
        "--max-p95-ms",
        str(args.max_p95_ms),
        "--min-transfers",
        str(args.min_transfers),
    ]
    # Locust's master listens on every interface unless told otherwise.
    if args.processes > 1:
        port = str(free_port())
        command += ["--processes", str(args.processes)]
        command += ["--master-bind-host", "127.0.0.1", "--master-bind-port", port]
        command += ["--master-host", "127.0.0.1", "--master-port", port]
    elif args.expect_workers:
        command += ["--master", "--expect-workers", str(args.expect_workers)]
        command += ["--expect-workers-max-wait", str(WORKERS_WAIT_SECONDS)]
        command += ["--master-bind-host", "127.0.0.1"]
        command += ["--master-bind-port", str(args.master_port)]
    return command


def worker_command(args: argparse.Namespace, out: Path) -> str:
    """What to run, from the project's root, for each worker of a master run."""
    return (
        f"{sys.executable} -m locust -f {LOCUSTFILE.relative_to(ROOT)} --worker "
        f"--master-host 127.0.0.1 --master-port {args.master_port} "
        f"--regionsim-plan {out / 'plan.json'}"
    )


def clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in DROPPED_ENV and not k.startswith(DROPPED_ENV_PREFIXES)
    }


def run_locust(command: list[str], timeout: float) -> int:
    """Run Locust to its end; stop it (INT, then KILL) if it overruns `timeout`."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=clean_env(), stdin=subprocess.DEVNULL
    )
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        logger.error("Locust overran its %.0f s bound; stopping it", timeout)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return EXIT_TIMEOUT
    except BaseException:
        process.kill()
        process.wait()
        raise


def run(args: argparse.Namespace) -> int:
    from simulator.cluster import Cluster

    seconds = check(args)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    summary_path = out / "summary.json"
    summary_path.unlink(missing_ok=True)
    logger.info(
        "starting a %s cluster (seed %s, profile %s)",
        args.backend,
        args.seed,
        args.profile,
    )
    with Cluster.start(
        backend=args.backend, seed=args.seed, profile=args.profile
    ) as cluster:
        plan = build_plan(
            cluster, args.transfers, transfer_seconds=args.transfer_hours * 3600
        )
        plan.save(out / "plan.json")
        logger.info(
            "plan: %d tracker and %d reporter slots, %d transfers",
            len(plan.trackers),
            len(plan.reporters),
            len(plan.transfers),
        )
        command = locust_command(args, seconds, cluster.accounts_url, out)
        bound = seconds + GRACE_SECONDS
        if args.expect_workers:
            bound += WORKERS_WAIT_SECONDS
            print(
                f"waiting up to {WORKERS_WAIT_SECONDS} s for {args.expect_workers} "
                f"worker(s); start each with:\n  {worker_command(args, out)}",
                flush=True,
            )
        code = run_locust(command, bound)
    if not summary_path.exists():
        logger.error("Locust wrote no summary (exit code %s)", code)
        return code or EXIT_NO_SUMMARY
    summary = json.loads(summary_path.read_text())
    failed = [g["name"] for g in summary["gates"] if not g["passed"]]
    if failed:
        print(
            f"load run FAILED: gate(s) {', '.join(failed)}; see {summary_path.with_suffix('.md')}"
        )
    else:
        print(f"load run passed: every gate; see {summary_path.with_suffix('.md')}")
    return code if code else (1 if failed else 0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return run(args)
    except UsageError as exc:
        print(f"python -m loadtests: {exc}", file=sys.stderr)
        return EXIT_USAGE
