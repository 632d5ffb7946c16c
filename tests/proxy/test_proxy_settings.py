"""The env lines of `regionsim env` and the settings the cluster descriptor keeps."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from simulator.proxy import (
    ProxySettings,
    env_lines,
    read_settings,
    unset_lines,
    write_settings,
)

SETTINGS = ProxySettings("http://127.0.0.1:8899", Path("/tmp/regionsim ca/ca.pem"))


def shell_environment(lines: list[str]) -> dict[str, str]:
    """The environment bash has after running `lines`."""
    script = "\n".join(
        [*lines, 'python3 -c "import json, os; print(json.dumps(dict(os.environ)))"']
    )
    done = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": "/usr/bin:/bin", "HTTPS_PROXY": "left-over"},
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    environment: dict[str, str] = json.loads(done.stdout)
    return environment


def test_env_lines_set_every_variable_in_a_shell() -> None:
    environment = shell_environment(env_lines(SETTINGS))

    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        assert environment[name] == "http://127.0.0.1:8899"
    assert environment["NO_PROXY"] == environment["no_proxy"] == "127.0.0.1,localhost"
    for name in (
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
    ):
        assert environment[name] == "/tmp/regionsim ca/ca.pem"


def test_unset_lines_remove_them_again() -> None:
    environment = shell_environment([*env_lines(SETTINGS), *unset_lines()])

    assert set(SETTINGS.environment()).isdisjoint(environment)


def test_every_line_is_an_export() -> None:
    assert all(line.startswith("export ") for line in env_lines(SETTINGS))


def test_settings_round_trip_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "proxy.json"

    write_settings(path, SETTINGS)

    assert read_settings(path) == SETTINGS
    assert ProxySettings.from_dict(SETTINGS.to_dict()) == SETTINGS
