"""Where CPU time goes: py-spy captures of regionsim's processes, summarized.

py-spy samples each process's Python stacks from outside (ptrace), so the
services run unchanged. Idle threads are left out, and so are samples that end
in a blocking call, so a sample is CPU time (1 / rate seconds). Each
sample is put under one label: ``import <package>`` when it was taken while a
module ran its top-level code (the first package outside ``simulator`` on the
stack, else the simulator module), otherwise the innermost simulator function on
the stack and, when it differs, the function it was in at that moment.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from benchmarks.local import NotMeasured

logger = logging.getLogger(__name__)

RATE_HZ = 100
STOP_TIMEOUT_S = 30.0
# py-spy needs a moment to attach before the work to sample begins.
ATTACH_S = 0.5
TOP_LABELS = 6
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+?)(?::(?P<line>\d+))?\)$")
_PROCESS = re.compile(r'^process (?P<pid>\d+):"(?P<cmd>.*)"$')
OUR_CODE = ("simulator/", "benchmarks/")
NO_FRAME = "no Python frame yet (interpreter start-up)"
# Leaves that block: py-spy's idle filter does not always catch them (notably with
# --nonblocking), so samples ending here are counted as waiting, not as CPU.
WAITING_LEAVES = frozenset({
    "Condition.wait", "Event.wait", "EpollSelector.select", "SocketIO.readinto",
    "SyncStream.read", "_worker", "Thread.join", "Thread._wait_for_tstate_lock",
    "sleep", "Queue.get", "socket.accept", "BaseEventLoop.run_forever",
})  # fmt: skip


@dataclass
class ProcessProfile:
    """One process's samples: its role, CPU seconds and what they were spent on."""

    name: str
    pid: int
    samples: int = 0
    waiting: int = 0
    labels: Counter[str] = field(default_factory=Counter)

    def cpu_s(self, rate_hz: int = RATE_HZ) -> float:
        return self.samples / rate_hz

    def summary(self, rate_hz: int = RATE_HZ) -> dict[str, object]:
        return {
            "name": self.name,
            "pid": self.pid,
            "samples": self.samples,
            "waiting_samples": self.waiting,
            "cpu_s": self.cpu_s(rate_hz),
            "top": [
                {
                    "label": label,
                    "cpu_s": count / rate_hz,
                    "share": count / self.samples,
                }
                for label, count in self.labels.most_common(TOP_LABELS)
            ],
        }


def pyspy() -> str:
    """The py-spy next to this interpreter, or on PATH; NotMeasured without one."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise NotMeasured("py-spy is not installed (pip install py-spy)")
    return found


def _frame(text: str) -> tuple[str, str]:
    match = _FRAME.match(text)
    if match is None:
        return text, ""
    return match["func"], match["file"]


def _ours(path: str) -> bool:
    return path.startswith(OUR_CODE)


def _package(path: str) -> str:
    """``fastapi/routing.py`` -> fastapi, ``ssl.py`` -> ssl."""
    return path.split("/", 1)[0].removesuffix(".py")


def _imported_modules(parsed: Sequence[tuple[str, str]]) -> list[str]:
    """Files whose top-level code runs because of an import (not a ``__main__``)."""
    return [
        path
        for (_, caller), (func, path) in pairwise(parsed)
        if func == "<module>" and caller.startswith("<frozen importlib")
    ]


def label(frames: Sequence[str]) -> str:
    """The one label a sample is counted under (see the module docstring)."""
    if not frames:
        return NO_FRAME
    parsed = [_frame(f) for f in frames]
    modules = _imported_modules(parsed)
    if modules:
        theirs = [p for p in modules if not _ours(p) and not p.startswith("<")]
        if theirs:
            return f"import {_package(theirs[0])}"
        return f"import {modules[-1].removesuffix('.py').replace('/', '.')}"
    ours = [(func, path) for func, path in parsed if _ours(path)]
    leaf_func, leaf_path = parsed[-1]
    if not ours:
        return f"{leaf_func} ({leaf_path})"
    func, path = ours[-1]
    if (func, path) == (leaf_func, leaf_path):
        return f"{func} ({path})"
    return f"{func} ({path}) > {leaf_func} ({leaf_path})"


def parse_raw(
    text: str, names: Mapping[int, str], default_pid: int | None = None
) -> list[ProcessProfile]:
    """Read py-spy's raw (collapsed) output into one profile per process.

    `names` gives each known pid its role; others are named by their command line.
    """
    profiles: dict[int, ProcessProfile] = {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        pid, command = default_pid or 0, ""
        while frames and (match := _PROCESS.match(frames[0])):
            pid, command = int(match["pid"]), match["cmd"]
            frames = frames[1:]
        profile = profiles.setdefault(
            pid, ProcessProfile(names.get(pid, command or f"pid {pid}"), pid)
        )
        if frames and _frame(frames[-1])[0] in WAITING_LEAVES:
            profile.waiting += int(count)
            continue
        profile.samples += int(count)
        profile.labels[label(frames)] += int(count)
    return sorted(profiles.values(), key=lambda p: -p.samples)


def record_command(argv: Sequence[str], output: Path, timeout_s: float) -> None:
    """Run `argv` under py-spy with its subprocesses; raw stacks go to `output`."""
    command = [
        pyspy(), "record", "--subprocesses", "--format", "raw",
        "--rate", str(RATE_HZ), "--output", str(output), "--", *argv,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if done.returncode != 0 or not output.exists():
        # Most often ptrace is not allowed here: a limit of the machine, not a failure.
        raise NotMeasured(
            f"py-spy exited with {done.returncode}: {done.stderr.strip()[-500:]}"
        )


@contextlib.contextmanager
def recording(pids: Mapping[str, int], workdir: Path) -> Iterator[list[ProcessProfile]]:
    """Sample running processes while the block runs; the list fills on the way out.

    One py-spy per process, stopped with SIGINT (which makes it write its file).
    ``--nonblocking`` leaves the processes running between samples.
    """
    spies: list[tuple[str, int, Path, subprocess.Popen[bytes]]] = []
    profiles: list[ProcessProfile] = []
    try:
        for name, pid in pids.items():
            output = workdir / f"pyspy-{name}-{pid}.txt"
            command = [
                pyspy(), "record", "--pid", str(pid), "--nonblocking",
                "--format", "raw", "--rate", str(RATE_HZ), "--output", str(output),
            ]  # fmt: skip
            spy = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            spies.append((name, pid, output, spy))
        time.sleep(ATTACH_S)
        yield profiles
    finally:
        for _, _, _, spy in spies:
            with contextlib.suppress(ProcessLookupError):
                spy.send_signal(signal.SIGINT)
        for name, pid, output, spy in spies:
            try:
                _, errors = spy.communicate(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.communicate()
                errors = b"(killed: did not stop)"
            if output.exists():
                profiles.extend(
                    parse_raw(output.read_text(), {pid: name}, default_pid=pid)
                )
            else:
                logger.warning(
                    "py-spy wrote nothing for %s: %s", name, errors.decode()[-300:]
                )
