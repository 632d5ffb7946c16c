"""Where regionsim's start goes: a py-spy capture of one start, and import costs.

1. One cluster start (no seeding) under ``py-spy record --subprocesses``: the
   parent that calls ``Cluster.start``, the launcher that forks the services, and
   every service, each with its CPU seconds and what they were spent on.
2. ``python -X importtime`` of each service's stack in a fresh interpreter: the
   cost of the imports a service pays before it can answer, by top-level package.

Both run once, outside the timed starts; py-spy slows what it samples a little,
so its ``started_in`` is shown but not used for the target.

    python -m benchmarks.start_profile --probe OUT.json   # one start, for py-spy
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import profiling
from benchmarks.local import BenchmarkError, NotMeasured

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILE_TIMEOUT_S = 180
IMPORT_TIMEOUT_S = 60
# What each kind of service imports before it serves (see simulator/serve.py).
STACKS = {
    "launcher (preloaded for region servers)": "simulator.region.app, simulator.serve",
    "accounts service": "simulator.accounts.app, simulator.accounts.transfers",
    "gateway": "simulator.gateway.app",
}
TOP_IMPORTS = 6


@dataclass
class StartProfile:
    """The capture's processes and wall time, and each stack's import cost."""

    started_in_s: float = 0.0
    processes: list[profiling.ProcessProfile] = field(default_factory=list)
    # Why there is no py-spy capture, when there is none.
    capture_detail: str = ""
    # stack -> (total seconds, [(package, cumulative seconds)])
    imports: dict[str, tuple[float, list[tuple[str, float]]]] = field(
        default_factory=dict
    )

    def overall(self) -> list[tuple[str, int]]:
        """Labels over every process, most samples first."""
        total: Counter[str] = Counter()
        for process in self.processes:
            total.update(process.labels)
        return total.most_common(profiling.TOP_LABELS + 2)


def _ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def probe(output: Path) -> None:
    """Start a cluster once and write what the profile needs to name its processes."""
    from simulator.cluster import Cluster

    with Cluster.start("process", seed=1, profile=None) as cluster:
        pids = cluster.pids()
        names = {str(pid): name for name, pid in pids.items()}
        if "accounts" in pids:
            names[str(_ppid(pids["accounts"]))] = "launcher"
        names[str(os.getpid())] = "parent (Cluster.start)"
        output.write_text(
            json.dumps({"started_in": cluster.started_in, "names": names})
        )


def _capture(workdir: Path) -> tuple[float, list[profiling.ProcessProfile]]:
    raw, described = workdir / "start.raw.txt", workdir / "start.json"
    argv = [sys.executable, "-m", "benchmarks.start_profile", "--probe", str(described)]
    profiling.record_command(argv, raw, PROFILE_TIMEOUT_S)
    if not described.exists():
        raise BenchmarkError("the profiled start wrote no description")
    facts = json.loads(described.read_text())
    names = {int(pid): name for pid, name in facts["names"].items()}
    processes = profiling.parse_raw(raw.read_text(), names)
    for process in processes:
        if process.pid not in names:
            process.name = f"other ({process.name[:60]})"
    return float(facts["started_in"]), processes


def _importtime(statement: str) -> dict[str, float]:
    """Seconds each top-level package's modules took to import (their own time)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkError(f"{statement} failed: {done.stderr[-500:]}")
    packages: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        # Each module's own time, summed per top-level package.
        package = name.strip().split(".")[0]
        packages[package] = packages.get(package, 0.0) + int(own) / 1e6
    return packages


def import_costs(modules: str) -> tuple[float, list[tuple[str, float]]]:
    """Seconds to import `modules` in a fresh interpreter, and the costliest packages.

    What the bare interpreter imports at its own start (site, encodings) is left out.
    """
    statement = "; ".join(f"import {m.strip()}" for m in modules.split(","))
    startup = _importtime("pass")
    packages = {
        name: seconds
        for name, seconds in _importtime(statement).items()
        if name not in startup
    }
    ranked = sorted(packages.items(), key=lambda item: -item[1])
    return sum(packages.values()), ranked[:TOP_IMPORTS]


def measure_start_profile() -> StartProfile:
    result = StartProfile()
    for stack, modules in STACKS.items():
        result.imports[stack] = import_costs(modules)
    with tempfile.TemporaryDirectory(prefix="regionsim-bench-start-") as tmp:
        try:
            result.started_in_s, result.processes = _capture(Path(tmp))
        except NotMeasured as exc:
            result.capture_detail = str(exc)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.start_profile")
    parser.add_argument("--probe", type=Path, required=True, help="write facts here")
    args = parser.parse_args(argv)
    probe(args.probe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
