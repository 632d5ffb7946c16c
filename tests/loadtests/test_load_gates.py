"""The gates on crafted journals: lock answers, violations, ratios, phases, transfers."""

from __future__ import annotations

import pytest

from loadtests.audit import MISSING, AuditReport, Finding
from loadtests.gates import (
    Gate,
    PhaseStats,
    Thresholds,
    evaluate,
    percentile,
    phase_stats,
    sort_calls,
)
from loadtests.journal import (
    ACCOUNT,
    ADMIN,
    API,
    FAILED,
    LOCKED,
    OK,
    REKEYED,
    Call,
    TransferWindow,
)
from loadtests.phases import CUTOVER, TRANSFERS, WARMUP, Schedule

WS, OTHER = "68a5509ea8393facc2000001", "68a5509ea8393facc2000002"
NAME = "POST /workspaces/{workspaceId}/time-entries [global]"
SCHEDULE = Schedule.plan(1000.0, 60.0)  # warm-up to 1015, transfers to 1045


def call(
    sent: float, outcome: str = OK, workspace: str | None = WS, ms: float = 5.0
) -> Call:
    return Call(workspace, "global", NAME, API, sent, sent + ms / 1000, outcome)


def window(status: str = "completed") -> TransferWindow:
    """Requested at 1020, accepted at 1020.1, in progress at 1031, seen done at 1032.5."""
    return TransferWindow(
        WS,
        "global",
        "euc1",
        requested=1020.0,
        transfer_id="6b135ef597e7978abe0000aa",
        accepted=1020.1,
        last_in_progress=1031.0,
        finished=1032.5,
        status=status,
    )


def gate(gates: list[Gate], name: str) -> Gate:
    return next(g for g in gates if g.name == name)


def test_a_success_inside_the_lock_is_a_violation() -> None:
    sorted_calls = sort_calls([call(1025.0)], [window()])

    assert len(sorted_calls.violations) == 1


def test_a_success_at_the_edges_of_the_lock_is_not_a_violation() -> None:
    # Sent before the 202 arrived, or answered after the last poll in progress:
    # the lock may not have been in force yet, or any more.
    calls = [call(1020.05), call(1030.999, ms=5.0), call(1025.0, workspace=OTHER)]

    sorted_calls = sort_calls(calls, [window()])

    assert sorted_calls.violations == []
    assert sorted_calls.ok == 3


def test_admin_calls_on_a_locked_workspace_are_not_violations() -> None:
    admin = Call(WS, None, "admin GET /transfers/{id}", ADMIN, 1025.0, 1025.01, OK)

    assert sort_calls([admin], [window()]).violations == []


def test_account_calls_during_a_lock_are_not_violations() -> None:
    # GET /user and GET /workspaces answer during a transfer: they are not on it.
    account = Call(WS, "global", "GET /user [global]", ACCOUNT, 1025.0, 1025.01, OK)

    assert sort_calls([account], [window()]).violations == []


def test_lock_answers_during_a_transfer_are_counted_apart() -> None:
    calls = [call(1019.999, LOCKED), call(1025.0, LOCKED), call(1032.4, LOCKED)]

    sorted_calls = sort_calls(calls, [window()])

    assert sorted_calls.locked_expected == 3
    assert sorted_calls.failures == 0


def test_lock_answers_outside_any_transfer_are_failures() -> None:
    calls = [call(1010.0, LOCKED), call(1040.0, LOCKED), call(1025.0, LOCKED, OTHER)]

    sorted_calls = sort_calls(calls, [window()])

    assert sorted_calls.locked_unexpected == 3
    assert sorted_calls.failures == 3


def test_an_old_key_refused_is_expected_only_after_a_completed_transfer() -> None:
    calls = [call(1033.0, REKEYED)]

    after_completed = sort_calls(calls, [window("completed")])
    after_failed = sort_calls(calls, [window("failed")])
    without_transfer = sort_calls(calls, [])

    assert after_completed.rekeyed_expected == 1
    assert after_failed.rekeyed_unexpected == 1
    assert without_transfer.failures == 1


def test_failure_ratio_gate_counts_failures_against_every_answer() -> None:
    calls = [call(1001.0 + i) for i in range(99)] + [call(1001.0, FAILED)]

    at_limit = evaluate(
        sort_calls(calls, []), [], [], None, Thresholds(max_failure_ratio=0.01)
    )
    below = evaluate(
        sort_calls(calls, []), [], [], None, Thresholds(max_failure_ratio=0.005)
    )

    assert gate(at_limit, "failure ratio").passed
    assert not gate(below, "failure ratio").passed


def test_lock_gate_fails_on_one_violation() -> None:
    sorted_calls = sort_calls([call(1025.0)], [window()])

    gates = evaluate(
        sorted_calls, [], [window()], AuditReport(entries_checked=1), Thresholds()
    )

    assert not gate(gates, "lock held (TR-06)").passed


def test_phase_stats_split_calls_by_when_they_were_sent() -> None:
    calls = [call(1001.0, ms=10), call(1020.0, ms=20), call(1020.5, LOCKED, ms=1)]
    calls += [call(1050.0, ms=30), call(1051.0, ms=40)]

    stats = {s.phase: s for s in phase_stats(calls, SCHEDULE, stopped=1060.0)}

    assert stats[WARMUP].requests == 1
    assert stats[TRANSFERS].requests == 2
    assert stats[TRANSFERS].locked == 1
    assert stats[TRANSFERS].p95_ms == pytest.approx(20.0)
    assert stats[CUTOVER].seconds == 15.0
    assert round(stats[CUTOVER].rps, 3) == round(2 / 15, 3)


def test_p95_gate_applies_to_each_phase_and_fails_an_empty_one() -> None:
    phases = [
        PhaseStats(WARMUP, 15, 100, 0, 0, 120.0),
        PhaseStats(TRANSFERS, 30, 100, 0, 0, 600.0),
        PhaseStats(CUTOVER, 15, 0, 0, 0, None),
    ]

    gates = evaluate(sort_calls([], []), phases, [], None, Thresholds(max_p95_ms=500))

    assert gate(gates, f"p95 {WARMUP}").passed
    assert not gate(gates, f"p95 {TRANSFERS}").passed
    assert not gate(gates, f"p95 {CUTOVER}").passed


def test_transfers_gate_needs_enough_completed_and_nothing_else() -> None:
    done, failed = window("completed"), window("failed")

    enough = evaluate(sort_calls([], []), [], [done], None, Thresholds(min_transfers=1))
    short = evaluate(sort_calls([], []), [], [done], None, Thresholds(min_transfers=2))
    one_failed = evaluate(
        sort_calls([], []), [], [done, failed], None, Thresholds(min_transfers=1)
    )

    assert gate(enough, "transfers").passed
    assert not gate(short, "transfers").passed
    assert not gate(one_failed, "transfers").passed


def test_audit_gate_fails_on_a_finding_on_nothing_checked_and_when_not_run() -> None:
    missing = AuditReport(entries_checked=10, findings=[Finding(MISSING, WS)])
    empty = AuditReport(entries_checked=0)

    results = [
        gate(evaluate(sort_calls([], []), [], [], audit, Thresholds()), "audit")
        for audit in (missing, empty, None, AuditReport(entries_checked=10))
    ]

    assert [r.passed for r in results] == [False, False, False, True]


def test_harness_errors_fail_the_run() -> None:
    gates = evaluate(
        sort_calls([], []),
        [],
        [],
        None,
        Thresholds(),
        harness_errors=["3 exception(s)"],
    )

    assert not gate(gates, "harness").passed


def test_a_run_without_requests_fails() -> None:
    gates = evaluate(sort_calls([], []), [], [], None, Thresholds())

    assert not gate(gates, "requests").passed


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]

    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.95) is None
