"""A fork server for the process backend.

One interpreter imports the web stack once, then forks a child per service on
request. Commands arrive as JSON lines on a Unix socket, each with the service's
listening socket attached (SCM_RIGHTS); the answer is the child's pid. Children
die with the launcher (PR_SET_PDEATHSIG), and the launcher stops them all when the
parent closes its end, so no service outlives its cluster.

    python -m simulator.launcher <fd of the command socket>
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _child(command: dict[str, Any], listener: socket.socket) -> None:
    """In the forked child: own process group, log to a file, serve until signalled."""
    from simulator.backends.base import ServiceSpec
    from simulator.serve import run_service

    _die_with_parent()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    handler = logging.FileHandler(command["log_path"])
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, command["log_level"].upper(), logging.WARNING))
    spec = ServiceSpec(**command["spec"])
    run_service(
        spec, Path(command["data_dir"]), listener, log_level=command["log_level"]
    )


_preloaded = False


def _preload() -> None:
    """Import the region stack once, for every child forked after this.

    Only what regions need: a module imported here is resident in every child,
    so the gateway's HTTP client is imported by the gateway alone.
    """
    global _preloaded
    if not _preloaded:
        import simulator.region.app
        import simulator.serve  # noqa: F401

        _preloaded = True


def _reap(children: set[int]) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)


def serve(control: socket.socket) -> None:
    """Fork children on request until the parent hangs up, then stop them all."""
    children: set[int] = set()
    signal.signal(signal.SIGCHLD, lambda *_: _reap(children))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    buffer = b""
    try:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(control, 65536, 4)
            except InterruptedError:
                continue
            if not data:
                break
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                command = json.loads(line)
                listener = socket.socket(fileno=fds.pop(0)) if fds else None
                if listener is None:
                    control.sendall(b'{"error": "no socket attached"}\n')
                    continue
                if command["spec"]["kind"] != "accounts":
                    # The accounts service imports its own, heavier stack after the fork,
                    # while this process imports the light one for the regions.
                    _preload()
                pid = os.fork()
                if pid == 0:
                    control.close()
                    try:
                        _child(command, listener)
                    finally:
                        os._exit(0)
                listener.close()
                children.add(pid)
                control.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    finally:
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def main() -> None:
    _die_with_parent()
    control = socket.socket(fileno=int(sys.argv[1]))
    control.sendall(b'{"ready": true}\n')
    serve(control)


if __name__ == "__main__":
    main()
