"""Journals of several processes merge into one, and the master sees who reported last."""

from __future__ import annotations

from loadtests.context import REPORTER, TRACKER, RunContext
from loadtests.journal import (
    ACKED,
    API,
    CREATE,
    OK,
    Call,
    Journal,
    ReportLedger,
    TransferWindow,
    Write,
)
from loadtests.plan import LoadPlan, Slot

WS = "68a5509ea8393facc2000001"


def test_drained_reports_rebuild_the_same_records_on_the_master() -> None:
    worker, master = Journal(), Journal()
    worker.add_call(Call(WS, "euc1", "GET /user [euc1]", API, 1.0, 1.1, OK))
    worker.add_write(
        Write(WS, "u1n1", "6b135ef597e7978abe0000aa", CREATE, "h", 1.0, 1.1, ACKED)
    )
    window = worker.put_transfer(TransferWindow(WS, "global", "euc1", 2.0))

    master.absorb(worker.drain())
    worker.put_transfer(window, status="completed", finished=9.0)
    worker.add_call(Call(WS, "euc1", "GET /user [euc1]", API, 3.0, 3.1, OK))
    master.absorb(worker.drain())

    assert master.calls == worker.calls
    assert master.writes == worker.writes
    assert [t.status for t in master.transfers.values()] == ["completed"]


def test_a_drain_sends_each_record_once() -> None:
    journal = Journal()
    journal.add_call(Call(None, "euc1", "GET /user [euc1]", API, 1.0, 1.1, OK))

    first, second = journal.drain(), journal.drain()

    assert len(first["calls"]) == 1
    assert second["calls"] == []


def test_ledger_names_workers_whose_final_report_never_came() -> None:
    ledger = ReportLedger()

    ledger.note("worker-a", stopped=False)
    ledger.note("worker-a", stopped=True)
    ledger.note("worker-b", stopped=False)

    assert ledger.missing_final == ["worker-b"]


def test_users_of_different_workers_get_different_numbers() -> None:
    plan = LoadPlan(
        admin_url="http://127.0.0.1:1/__regionsim/v1",
        region_roots={},
        trackers=[Slot(WS, f"member{i}", "MEMBER") for i in range(3)],
        reporters=[Slot(WS, "owner", "OWNER")],
        transfers=[],
    )
    workers = [RunContext(plan, worker_index=i, workers=2) for i in range(2)]

    numbers = [ctx.claim(TRACKER)[1] for ctx in workers for _ in range(3)]
    numbers += [ctx.claim(REPORTER)[1] for ctx in workers]

    assert len(set(numbers)) == len(numbers)
