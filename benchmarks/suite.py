"""The conformance suite's wall time, with xdist (``-n auto``) and without.

Each run is ``python -m pytest scenarios -q -p no:cacheprovider`` as a
subprocess of this interpreter, in the repository, with its matrix written to a
scratch folder (not the developers' ``reports/``) and the slowest cases listed
(``--durations``). The time is the subprocess's wall time, interpreter start and
every cluster the suite starts included.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.local import BenchmarkError

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
SUITE_TIMEOUT_S = 600
SLOWEST = 5
BASE_ARGS = ("scenarios", "-q", "-p", "no:cacheprovider")
MODES: dict[str, tuple[str, ...]] = {"n_auto": ("-n", "auto"), "serial": ()}
_OUTCOME = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")
_DURATION = re.compile(r"^(\d+\.\d+)s (setup|call|teardown)\s+(\S.*)$")


@dataclass(frozen=True)
class SuiteRun:
    """One run of the suite: wall time, exit code, outcome counts, slowest cases."""

    seconds: float
    exit_code: int
    outcomes: dict[str, int]
    slowest: list[tuple[float, str, str]]


@dataclass
class SuiteResult:
    """Runs per mode (``n_auto``, ``serial``)."""

    runs: dict[str, list[SuiteRun]] = field(default_factory=dict)

    @staticmethod
    def command(mode: str) -> str:
        return " ".join(("pytest", *BASE_ARGS, *MODES[mode]))


def _parse(output: str) -> tuple[dict[str, int], list[tuple[float, str, str]]]:
    lines = output.splitlines()
    summary = next((line for line in reversed(lines) if " in " in line), "")
    outcomes = {kind: int(count) for count, kind in _OUTCOME.findall(summary)}
    slowest = [
        (float(m[1]), m[2], m[3]) for line in lines if (m := _DURATION.match(line))
    ]
    return outcomes, slowest[:SLOWEST]


def run_suite(mode: str) -> SuiteRun:
    """Run the suite once in `mode`; raise only if pytest could not run it at all."""
    with tempfile.TemporaryDirectory(prefix="regionsim-bench-suite-") as tmp:
        argv = [
            sys.executable, "-m", "pytest", *BASE_ARGS, *MODES[mode],
            f"--durations={SLOWEST}", "--conformance-reports", tmp,
        ]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(
            argv,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=SUITE_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
    outcomes, slowest = _parse(done.stdout)
    # 0 all passed, 1 some failed: both are timed runs of the whole suite.
    if done.returncode not in (0, 1) or not outcomes:
        raise BenchmarkError(
            f"pytest exited with {done.returncode}; last lines:\n"
            + "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        )
    return SuiteRun(seconds, done.returncode, outcomes, slowest)


def measure_suite(runs: int) -> SuiteResult:
    """`runs` runs of each mode, the modes taking turns."""
    result = SuiteResult({mode: [] for mode in MODES})
    for n in range(runs):
        for mode in MODES:
            run = run_suite(mode)
            result.runs[mode].append(run)
            logger.info(
                "suite %s %d: %.1f s, exit %d, %s",
                mode,
                n + 1,
                run.seconds,
                run.exit_code,
                ", ".join(f"{v} {k}" for k, v in run.outcomes.items()),
            )
    return result
