"""`python -m simulator.proxy`: run the proxy in the foreground.

The process backend can spawn this and wait for `--settings-file`; the typer
command `regionsim proxy` calls `run_proxy` the same way.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from simulator.proxy.runner import run_proxy
from simulator.proxy.settings import ProxySettings, env_lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.proxy", description=__doc__
    )
    parser.add_argument(
        "--gateway", required=True, help="the gateway URL, http://127.0.0.1:PORT"
    )
    parser.add_argument(
        "--ca-dir", type=Path, required=True, help="where ca.pem is written"
    )
    parser.add_argument(
        "--reuse-ca", type=Path, help="an existing CA (directory or PEM file)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="listening port (0: a free one)"
    )
    parser.add_argument(
        "--settings-file", type=Path, help="JSON written once listening"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")

    def announce(settings: ProxySettings) -> None:
        print("\n".join(env_lines(settings)), flush=True)

    run_proxy(
        args.gateway,
        args.ca_dir,
        reuse_ca=args.reuse_ca,
        port=args.port,
        settings_file=args.settings_file,
        on_ready=announce,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
