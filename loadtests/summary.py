"""The run's summary: phases, transfers, the audit and the gates, as JSON and Markdown."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from loadtests.audit import AuditReport
from loadtests.gates import Gate, PhaseStats, Sorted
from loadtests.journal import FAILED, Call, TransferWindow, Write
from loadtests.phases import Schedule

MAX_EXAMPLES = 20


def build_summary(
    *,
    gates: Sequence[Gate],
    phases: Sequence[PhaseStats],
    sorted_calls: Sorted,
    calls: Sequence[Call],
    writes: Sequence[Write],
    transfers: Sequence[TransferWindow],
    audit: AuditReport | None,
    schedule: Schedule | None,
    clock_scale: float | None,
    transfer_seconds: float | None,
) -> dict[str, Any]:
    failures = Counter(f"{c.name}: {c.detail}" for c in calls if c.outcome == FAILED)
    return {
        "passed": all(g.passed for g in gates),
        "gates": [asdict(g) for g in gates],
        "phases": [
            {
                "phase": p.phase,
                "seconds": round(p.seconds, 1),
                "requests": p.requests,
                "rps": round(p.rps, 1),
                "p95Ms": None if p.p95_ms is None else round(p.p95_ms, 1),
                "failures": p.failures,
                "lockAnswers": p.locked,
            }
            for p in phases
        ],
        "answers": {
            "total": sorted_calls.total,
            "ok": sorted_calls.ok,
            "failed": sorted_calls.failed,
            "lockedExpected": sorted_calls.locked_expected,
            "lockedUnexpected": sorted_calls.locked_unexpected,
            "rekeyedExpected": sorted_calls.rekeyed_expected,
            "rekeyedUnexpected": sorted_calls.rekeyed_unexpected,
            "lockViolations": [
                asdict(c) for c in sorted_calls.violations[:MAX_EXAMPLES]
            ],
            "topFailures": failures.most_common(MAX_EXAMPLES),
        },
        "writes": dict(Counter(f"{w.op} {w.result}" for w in writes)),
        "transfers": [
            _transfer(t) for t in sorted(transfers, key=lambda t: t.requested)
        ],
        "audit": None if audit is None else _audit(audit),
        "clock": {"scale": clock_scale, "transferSeconds": transfer_seconds},
        "schedule": None if schedule is None else schedule.to_json(),
    }


def _transfer(window: TransferWindow) -> dict[str, Any]:
    locked = (
        window.finished - window.accepted
        if window.finished is not None and window.accepted is not None
        else None
    )
    return {
        "workspaceId": window.workspace_id,
        "source": window.source,
        "destination": window.destination,
        "transferId": window.transfer_id,
        "status": window.status,
        "lockedSeconds": None if locked is None else round(locked, 2),
        "detail": window.detail,
    }


def _audit(audit: AuditReport) -> dict[str, Any]:
    return {
        "clean": audit.clean,
        "workspaces": audit.workspaces,
        "entriesChecked": audit.entries_checked,
        "createsChecked": audit.creates_checked,
        "findings": {k: n for k, n in audit.counts().items() if n},
        "examples": [asdict(f) for f in audit.findings[:MAX_EXAMPLES]],
    }


def to_markdown(summary: dict[str, Any]) -> str:
    lines = [
        "# Load run summary",
        "",
        f"Result: **{'passed' if summary['passed'] else 'FAILED'}**",
        "",
        "## Gates",
        "",
        "| gate | result | value | limit |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {g['name']} | {'pass' if g['passed'] else 'FAIL'} | {g['value']} | {g['limit']} |"
        for g in summary["gates"]
    ]
    lines += [
        "",
        "## Phases",
        "",
        "| phase | seconds | requests | req/s | p95 | failures | lock answers |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in summary["phases"]:
        p95 = "-" if p["p95Ms"] is None else f"{p['p95Ms']:.0f} ms"
        lines.append(
            f"| {p['phase']} | {p['seconds']} | {p['requests']} | {p['rps']} | {p95} "
            f"| {p['failures']} | {p['lockAnswers']} |"
        )
    lines += [
        "",
        "## Transfers",
        "",
        "| workspace | from | to | status | locked (s) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {t['workspaceId']} | {t['source']} | {t['destination']} | {t['status']} "
        f"| {t['lockedSeconds'] if t['lockedSeconds'] is not None else '-'} |"
        for t in summary["transfers"]
    ]
    audit = summary["audit"]
    lines += ["", "## Audit", ""]
    if audit is None:
        lines.append("Not run.")
    else:
        lines.append(
            f"{audit['entriesChecked']} entries and {audit['createsChecked']} creates "
            f"checked in {audit['workspaces']} workspaces: "
            + (
                "clean."
                if audit["clean"]
                else ", ".join(f"{n} {k}" for k, n in audit["findings"].items()) + "."
            )
        )
    answers = summary["answers"]
    lines += [
        "",
        "## Answers",
        "",
        f"{answers['total']} in all: {answers['ok']} ok, {answers['failed']} failed, "
        f"{answers['lockedExpected']} lock answers during transfers "
        f"({answers['lockedUnexpected']} outside), {answers['rekeyedExpected']} old keys "
        f"refused after a transfer ({answers['rekeyedUnexpected']} otherwise).",
    ]
    if answers["topFailures"]:
        lines += ["", "| failure | count |", "|---|---|"]
        lines += [f"| {text} | {n} |" for text, n in answers["topFailures"]]
    return "\n".join(lines) + "\n"


def write_summary(summary: dict[str, Any], path: Path | str) -> tuple[Path, Path]:
    """Write `<path>` (JSON) and the same name with `.md`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2))
    markdown = target.with_suffix(".md")
    markdown.write_text(to_markdown(summary))
    return target, markdown
