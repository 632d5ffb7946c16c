"""Locust event listeners: the options, the schedule, the journal's reports, the gates.

init_command_line_parser   the plan, the summary path and every threshold
init                       refuse a web UI and an unbounded run; load the plan
test_start                 master (or the only process): fix the schedule, send it
report_to_master           worker: ship what its journal recorded since last time
worker_report              master: merge it
quitting                   master (or the only process): audit, gates, summary,
                           and the exit code
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from locust import events
from locust.runners import MasterRunner, WorkerRunner

from loadtests.audit import AuditReport, audit_writes, collect_holdings
from loadtests.context import RunContext
from loadtests.gates import Thresholds, evaluate, phase_stats, sort_calls
from loadtests.phases import Schedule
from loadtests.plan import LoadPlan, require_loopback
from loadtests.summary import build_summary, write_summary

logger = logging.getLogger(__name__)
# The audit's HTTP client would log each of its requests at INFO.
logging.getLogger("httpx").setLevel(logging.WARNING)

SCHEDULE_MESSAGE = "regionsim_schedule"
REPORT_KEY = "regionsim"

Listener = Callable[..., None]


def _listen(hook: Any) -> Callable[[Listener], Listener]:
    """`hook.add_listener` as a typed decorator (Locust's own is untyped)."""

    def register(handler: Listener) -> Listener:
        hook.add_listener(handler)
        return handler

    return register


# One environment per Locust process: its context is kept here for the listeners
# whose events carry no environment (report_to_master, worker_report).
_context: RunContext | None = None


@_listen(events.init_command_line_parser)
def add_options(parser: Any) -> None:
    group = parser.add_argument_group("regionsim", "the transfer-path load test")
    group.add_argument(
        "--regionsim-plan",
        default="reports/load/plan.json",
        help="load plan written by `python -m loadtests` (addresses and ids)",
    )
    group.add_argument(
        "--regionsim-summary",
        default="reports/load/summary.json",
        help="where the summary goes (JSON; Markdown next to it)",
    )
    group.add_argument(
        "--max-failure-ratio",
        type=float,
        default=Thresholds.max_failure_ratio,
        help="share of answers that may fail; lock answers during a transfer do not count",
    )
    group.add_argument(
        "--max-p95-ms",
        type=float,
        default=Thresholds.max_p95_ms,
        help="p95 latency allowed in each phase (warm-up, transfers, after cut-over)",
    )
    group.add_argument(
        "--min-transfers",
        type=int,
        default=-1,
        help="transfers that must complete (default: every one in the plan)",
    )
    group.add_argument(
        "--max-retry-after",
        type=float,
        default=30.0,
        help="longest a user waits on Retry-After before trying again",
    )


def context_of(environment: Any) -> RunContext:
    """This process's run context, made from the plan on first use."""
    global _context
    if _context is None:
        options = environment.parsed_options
        _context = RunContext(LoadPlan.load(options.regionsim_plan))
        _context.max_retry_after = options.max_retry_after
    return _context


@_listen(events.init)
def on_init(environment: Any, runner: Any, web_ui: Any = None, **_: Any) -> None:
    if web_ui is not None:
        raise RuntimeError(
            "the regionsim load test runs headless only: add --headless "
            "(its web UI would listen on every interface)"
        )
    if isinstance(runner, WorkerRunner):
        runner.register_message(SCHEDULE_MESSAGE, _take_schedule)
        return
    if not environment.parsed_options.run_time:
        raise RuntimeError("a load run must be bounded: pass --run-time (e.g. -t 30s)")
    require_loopback(environment.host or "http://127.0.0.1")
    context_of(environment)


def _take_schedule(environment: Any, msg: Any, **_: Any) -> None:
    """A worker learns the schedule, how many workers share the run, and its place."""
    context = context_of(environment)
    context.schedule = Schedule.from_json(msg.data["schedule"])
    context.workers = max(1, int(msg.data["workers"]))
    context.worker_index = int(environment.runner.worker_index)


@_listen(events.test_start)
def on_test_start(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    context = context_of(environment)
    run_seconds = float(environment.parsed_options.run_time)
    context.schedule = Schedule.plan(time.time(), run_seconds)
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        # Workers number their users worker_index + k * workers, unique in the run.
        workers = max(runner.worker_index_max, runner.worker_count, 1)
        runner.send_message(
            SCHEDULE_MESSAGE,
            {"schedule": context.schedule.to_json(), "workers": workers},
        )


@_listen(events.test_stop)
def on_test_stop(environment: Any, **_: Any) -> None:
    context = context_of(environment)
    context.stopped_at = context.stopped_at or time.time()
    context.journal.stopped = True


@_listen(events.report_to_master)
def on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if _context is not None:
        data[REPORT_KEY] = _context.journal.drain()


@_listen(events.worker_report)
def on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    report = data.get(REPORT_KEY)
    if report is None or _context is None:
        return
    _context.journal.absorb(report)
    _context.ledger.note(client_id, bool(report.get("stopped")))


@_listen(events.quitting)
def on_quitting(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or _context is None:
        return
    # Failed until every gate has passed: an error below must not pass the run.
    environment.process_exit_code = 1
    summary = finish(environment, _context)
    path, markdown = write_summary(
        summary, environment.parsed_options.regionsim_summary
    )
    for gate in summary["gates"]:
        log = logger.info if gate["passed"] else logger.error
        log(
            "gate %s: %s (%s, limit %s)",
            gate["name"],
            "pass" if gate["passed"] else "FAIL",
            gate["value"],
            gate["limit"],
        )
    logger.info("summary written to %s and %s", path, markdown)
    environment.process_exit_code = 0 if summary["passed"] else 1


def finish(environment: Any, context: RunContext) -> dict[str, Any]:
    """Audit the writes, sort the answers, evaluate the gates, build the summary."""
    options = environment.parsed_options
    journal = context.journal
    transfers = list(journal.transfers.values())
    planned = len(context.plan.transfers)
    thresholds = Thresholds(
        max_failure_ratio=options.max_failure_ratio,
        max_p95_ms=options.max_p95_ms,
        min_transfers=planned if options.min_transfers < 0 else options.min_transfers,
    )
    errors = _harness_errors(environment, context)
    audit: AuditReport | None = None
    try:
        holdings = collect_holdings(
            context.plan.admin_url,
            context.plan.region_roots,
            {w.workspace_id for w in journal.writes},
        )
        audit = audit_writes(journal.writes, holdings)
    except Exception as exc:  # the audit's own failure fails the run, with a reason
        logger.exception("the audit could not read the cluster")
        errors.append(f"audit failed: {exc!r}")
    sorted_calls = sort_calls(journal.calls, transfers)
    schedule = context.schedule or Schedule.plan(time.time(), 0.0)
    phases = phase_stats(journal.calls, schedule, context.stopped_at)
    gates = evaluate(
        sorted_calls, phases, transfers, audit, thresholds, harness_errors=errors
    )
    return build_summary(
        gates=gates,
        phases=phases,
        sorted_calls=sorted_calls,
        calls=journal.calls,
        writes=journal.writes,
        transfers=transfers,
        audit=audit,
        schedule=context.schedule,
        clock_scale=(
            context.schedule.clock_scale(context.plan.transfer_seconds)
            if context.schedule
            else None
        ),
        transfer_seconds=context.plan.transfer_seconds,
    )


def _harness_errors(environment: Any, context: RunContext) -> list[str]:
    """What makes the run's own records untrustworthy: each fails the harness gate."""
    errors = []
    runner = environment.runner
    exceptions = sum(e["count"] for e in runner.exceptions.values())
    if exceptions:
        errors.append(f"{exceptions} exception(s) in the users' code")
    if context.schedule is None:
        errors.append("the test never started")
    if isinstance(runner, MasterRunner):
        reported, joined = len(context.ledger.seen), max(runner.worker_index_max, 1)
        if reported < joined:
            errors.append(f"only {reported} of {joined} workers sent a report")
    missing = context.ledger.missing_final
    if missing:
        errors.append(f"no final report from worker(s) {', '.join(missing)}")
    return errors
