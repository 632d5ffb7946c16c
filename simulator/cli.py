"""The `regionsim` command line: start, inspect and drive a cluster."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from simulator.regions import REGION_IDS

app = typer.Typer(
    help="A local multi-region simulator of the Clockify API.",
    no_args_is_help=True,
    add_completion=False,
)
clock_app = typer.Typer(help="Read or move the simulated clock.", no_args_is_help=True)
app.add_typer(clock_app, name="clock")
# Wide enough that URLs and keys are never cut when the output is not a terminal.
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)

DEFAULT_DESCRIPTOR = Path(".regionsim/cluster.json")
DescriptorOption = Annotated[
    Path,
    typer.Option(
        "--descriptor",
        "-d",
        envvar="REGIONSIM_DESCRIPTOR",
        help="JSON file describing the running cluster.",
    ),
]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def load_descriptor(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise fail(
            f"no cluster descriptor at {path}; start one with `regionsim up`"
        ) from None
    except json.JSONDecodeError as exc:
        raise fail(f"{path} is not a cluster descriptor: {exc}") from None
    return data


def admin_call(
    descriptor: dict[str, Any], method: str, path: str, **kwargs: Any
) -> Any:
    url = descriptor["adminUrl"] + path
    try:
        response = httpx.request(method, url, timeout=60.0, trust_env=False, **kwargs)
    except httpx.HTTPError as exc:
        raise fail(
            f"the accounts service at {descriptor['adminUrl']} does not answer: {exc}"
        ) from None
    if response.status_code >= 300:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise fail(f"{method} {path}: {response.status_code} {message}")
    return response.json() if response.content else None


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `12h`, `7d` or a combination like `1h30m` to seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise typer.BadParameter(
            f"{text!r} is not a duration like 90s, 15m, 12h, 7d or 1h30m"
        )
    return sum(float(n) * units[u] for n, u in parts)


def regions_table(
    descriptor: dict[str, Any], health: dict[str, str] | None = None
) -> Table:
    table = Table(title=f"regionsim ({descriptor['backend']} backend)")
    table.add_column("region")
    table.add_column("API base URL", overflow="fold")
    table.add_column("reports base URL", overflow="fold")
    table.add_column("public base URL", style="dim", overflow="fold")
    if health is not None:
        table.add_column("health")
    for region_id, info in descriptor["regions"].items():
        row = [
            region_id,
            info["apiBaseUrl"],
            info["reportsBaseUrl"],
            info["publicApiBaseUrl"],
        ]
        if health is not None:
            row.append(health.get(f"region-{region_id}", "?"))
        table.add_row(*row)
    return table


@app.command()
def up(
    descriptor: DescriptorOption = DEFAULT_DESCRIPTOR,
    backend: Annotated[str, typer.Option(help="process or docker")] = "process",
    seed: Annotated[str, typer.Option(help="seed for reproducible data")] = "1",
    profile: Annotated[str, typer.Option(help="tiny, small, large or none")] = "small",
    data_dir: Annotated[
        Path | None, typer.Option(help="keep stores here (default: temporary)")
    ] = None,
    clock_scale: Annotated[
        float | None, typer.Option(help="simulated seconds per real second")
    ] = None,
    manual_clock: Annotated[
        bool, typer.Option(help="freeze the clock; move it with `clock advance`")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="log every request")
    ] = False,
    proxy: Annotated[
        bool, typer.Option(help="also run the HTTPS proxy for real Clockify hostnames")
    ] = False,
    proxy_port: Annotated[int, typer.Option(help="proxy port (0 picks one)")] = 0,
    ca: Annotated[
        Path | None, typer.Option(help="reuse this CA (directory or PEM with its key)")
    ] = None,
) -> None:
    """Start the cluster, print its URLs, write the descriptor, run until Ctrl-C or SIGTERM."""
    from simulator.cluster import AdminError, Cluster
    from simulator.seeding import PROFILES

    if backend not in ("process", "docker"):
        raise fail(f"unknown backend {backend!r}; use process or docker", 2)
    if profile != "none" and profile not in PROFILES:
        raise fail(
            f"unknown profile {profile!r}; use one of {', '.join(PROFILES)} or none", 2
        )
    if clock_scale is not None and clock_scale <= 0:
        raise fail("--clock-scale must be above 0 (simulated seconds per second)", 2)
    if proxy:
        try:
            import simulator.proxy.runner  # noqa: F401
        except ImportError as exc:
            raise fail(
                f"the proxy needs the proxy extra ({exc.name} is missing): "
                "pip install 'regionsim[proxy]' (or '.[proxy]' in a clone)",
                2,
            ) from None
    _refuse_running(descriptor)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    began = time.perf_counter()
    try:
        cluster = Cluster.start(
            backend,
            seed=seed,
            profile=None if profile == "none" else profile,
            data_dir=data_dir,
            log_level="info" if verbose else "warning",
        )
    except Exception as exc:  # the message carries the evidence (log tails)
        raise fail(f"the cluster did not start: {exc}") from None
    proxy_thread: Any = None
    try:
        try:
            if manual_clock:
                cluster.set_clock("manual")
            elif clock_scale is not None:
                cluster.set_clock("scaled", scale=clock_scale)
        except AdminError as exc:
            raise fail(f"the clock was not set: {exc}") from None
        info = cluster.descriptor
        info["supervisorPid"] = os.getpid()
        if proxy:
            proxy_thread = _start_proxy(cluster.gateway_url, descriptor, proxy_port, ca)
            info["proxy"] = proxy_thread.settings.to_dict()
        _write_json(descriptor, info)
        console.print(regions_table(info))
        console.print(
            f"gateway  {info['gatewayUrl']}   (route by Host, e.g. api.clockify.me)"
        )
        console.print(
            f"admin    {info['adminUrl']}   (docs: {info['accountsUrl']}/__regionsim/docs)"
        )
        console.print(
            f"ready in {cluster.started_in:.2f}s, seeded in "
            f"{time.perf_counter() - began - cluster.started_in:.2f}s; "
            f"{len(info['workspaces'])} workspaces; descriptor {descriptor}"
        )
        if proxy_thread is not None:
            console.print(
                f"proxy    {info['proxy']['proxyUrl']}   "
                '(eval "$(regionsim env)" to route clients through it)'
            )
        console.print("press Ctrl-C to stop")
        while not stop.wait(0.5):
            pass
    finally:
        if proxy_thread is not None:
            proxy_thread.stop()
        cluster.stop()
        descriptor.unlink(missing_ok=True)
        console.print("stopped")


def _start_proxy(gateway_url: str, descriptor: Path, port: int, ca: Path | None) -> Any:
    """The HTTPS proxy in a thread, with a CA next to the descriptor (or the given one)."""
    from simulator.proxy.ca import CertificateAuthority, CertificateAuthorityError
    from simulator.proxy.runner import ProxyThread

    try:
        authority = CertificateAuthority.prepare(
            descriptor.resolve().parent / "ca", reuse_from=ca
        )
    except (CertificateAuthorityError, OSError) as exc:
        raise fail(f"cannot use the CA: {exc}") from None
    thread = ProxyThread(gateway_url, authority, port=port)
    thread.start()
    return thread


def _refuse_running(descriptor: Path) -> None:
    """One cluster per descriptor: a second `up` would orphan the first."""
    try:
        pid = int(json.loads(descriptor.read_text()).get("supervisorPid", 0))
    except (OSError, ValueError, AttributeError):
        return
    if pid > 0:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return  # a stale descriptor from a cluster that was killed
        except PermissionError:
            pass
        raise fail(
            f"a cluster is already running (pid {pid}, {descriptor}); stop it with "
            "`regionsim down` or pass another --descriptor",
            1,
        )


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


@app.command()
def env(
    descriptor: DescriptorOption = DEFAULT_DESCRIPTOR,
    unset: Annotated[bool, typer.Option(help="print the lines that undo it")] = False,
) -> None:
    """Print shell lines that send common clients through the proxy and trust its CA."""
    from simulator.proxy.settings import ProxySettings, env_lines, unset_lines

    if unset:
        console.print("\n".join(unset_lines()), highlight=False, soft_wrap=True)
        return
    info = load_descriptor(descriptor)
    if "proxy" not in info:
        raise fail("the cluster runs no proxy; start it with `regionsim up --proxy`")
    lines = env_lines(ProxySettings.from_dict(info["proxy"]))
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


@app.command("proxy")
def proxy_command(
    descriptor: DescriptorOption = DEFAULT_DESCRIPTOR,
    gateway: Annotated[
        str | None, typer.Option(help="gateway URL (default: descriptor)")
    ] = None,
    ca: Annotated[Path | None, typer.Option(help="reuse this CA")] = None,
    port: Annotated[int, typer.Option(help="port (0 picks one)")] = 0,
) -> None:
    """Run the HTTPS proxy in the foreground against a running cluster's gateway."""
    from simulator.proxy.runner import run_proxy
    from simulator.proxy.settings import ProxySettings, env_lines

    gateway_url = gateway or load_descriptor(descriptor)["gatewayUrl"]

    def ready(settings: ProxySettings) -> None:
        console.print(f"proxy {settings.proxy_url}; in another shell:", highlight=False)
        console.print("\n".join(env_lines(settings)), highlight=False, soft_wrap=True)

    run_proxy(
        gateway_url,
        descriptor.resolve().parent / "ca",
        reuse_ca=ca,
        port=port,
        on_ready=ready,
    )


@app.command()
def status(descriptor: DescriptorOption = DEFAULT_DESCRIPTOR) -> None:
    """Show every service of the running cluster and whether it answers."""
    info = load_descriptor(descriptor)
    roots = {"accounts": info["accountsUrl"], "gateway": info["gatewayUrl"]}
    roots.update(
        {
            f"region-{r}": v["apiBaseUrl"].removesuffix("/api/v1")
            for r, v in info["regions"].items()
        }
    )
    health: dict[str, str] = {}
    for name, root in roots.items():
        try:
            code = httpx.get(
                f"{root}/__regionsim/v1/health", timeout=2.0, trust_env=False
            ).status_code
            health[name] = "up" if code == 200 else f"answers {code}"
        except httpx.HTTPError:
            health[name] = "down"
    console.print(regions_table(info, health))
    console.print(f"accounts {health['accounts']}, gateway {health['gateway']}")
    if any(v != "up" for v in health.values()):
        raise typer.Exit(1)


@app.command()
def down(descriptor: DescriptorOption = DEFAULT_DESCRIPTOR) -> None:
    """Stop the cluster that `regionsim up` started."""
    info = load_descriptor(descriptor)
    pid = int(info.get("supervisorPid", 0))
    if pid <= 0:
        raise fail("the descriptor names no supervisor process")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        descriptor.unlink(missing_ok=True)
        raise fail(f"process {pid} is gone; removed the stale descriptor") from None
    for _ in range(200):
        if not descriptor.exists():
            console.print("stopped")
            return
        time.sleep(0.05)
    raise fail(f"process {pid} did not stop within 10 s")


@app.command()
def transfer(
    workspace: Annotated[str, typer.Argument(help="workspace id")],
    to: Annotated[str, typer.Option("--to", help="destination region")],
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="owner's key (default: from the descriptor)"),
    ] = None,
    wait: Annotated[
        bool, typer.Option(help="follow the transfer until it ends")
    ] = False,
    descriptor: DescriptorOption = DEFAULT_DESCRIPTOR,
) -> None:
    """Start moving a workspace to another region."""
    info = load_descriptor(descriptor)
    if to not in REGION_IDS:
        raise fail(f"unknown region {to!r}; use one of {', '.join(REGION_IDS)}", 2)
    key = api_key or _owner_key(info, workspace)
    started = admin_call(
        info,
        "POST",
        f"/workspaces/{workspace}/transfers",
        json={"destination": to},
        headers={"X-Api-Key": key},
    )
    console.print(
        f"transfer {started['id']}: {started['source']} -> {started['destination']}, "
        f"completes at {started['completesAt']} (simulated), deadline {started['deadline']}"
    )
    if wait:
        _follow(info, started["id"])


def _owner_key(info: dict[str, Any], workspace_id: str) -> str:
    current = admin_call(info, "GET", f"/workspaces/{workspace_id}")
    for member in current["members"]:
        if member["role"] == "OWNER" and member.get("apiKey"):
            return str(member["apiKey"])
    raise fail(f"workspace {workspace_id} has no owner with a key; pass --api-key")


def _follow(info: dict[str, Any], transfer_id: str) -> None:
    from rich.progress import Progress

    with Progress(console=console) as progress:
        task = progress.add_task("copying", total=None)
        while True:
            state = admin_call(info, "GET", f"/transfers/{transfer_id}")
            progress.update(
                task,
                total=max(state["rowsTotal"], 1),
                completed=state["rowsCopied"],
                description=f"{state['phase']}",
            )
            if state["status"] != "in_progress":
                break
            if state["phase"] == "waiting" and _clock_stands_still(info):
                progress.stop()
                console.print(
                    f"copied and verified; the transfer completes at {state['completesAt']} "
                    "(simulated), but the clock is not running: move it with "
                    "`regionsim clock advance 12h`"
                )
                return
            time.sleep(0.2)
    if state["status"] == "completed":
        console.print(f"completed at {state['finishedAt']}")
        return
    raise fail(f"transfer failed: {state['failureReason']}")


def _clock_stands_still(info: dict[str, Any]) -> bool:
    return str(admin_call(info, "GET", "/clock")["mode"]) in ("manual", "frozen")


@clock_app.command("show")
def clock_show(descriptor: DescriptorOption = DEFAULT_DESCRIPTOR) -> None:
    """Print the simulated time and mode."""
    state = admin_call(load_descriptor(descriptor), "GET", "/clock")
    console.print(f"{state['now']}  mode={state['mode']} scale={state['scale']}")


@clock_app.command("advance")
def clock_advance(
    duration: Annotated[str, typer.Argument(help="e.g. 90s, 15m, 12h, 7d")],
    descriptor: DescriptorOption = DEFAULT_DESCRIPTOR,
) -> None:
    """Move the simulated clock forward; due transfers and backup expiries run."""
    seconds = parse_duration(duration)
    state = admin_call(
        load_descriptor(descriptor), "POST", "/clock/advance", json={"seconds": seconds}
    )
    console.print(f"{state['now']}  mode={state['mode']}")


@clock_app.command("set")
def clock_set(
    mode: Annotated[str, typer.Argument(help="real, scaled, frozen or manual")],
    scale: Annotated[
        float | None, typer.Option(help="for scaled: simulated seconds per second")
    ] = None,
    now: Annotated[str | None, typer.Option(help="ISO 8601 instant to jump to")] = None,
    descriptor: DescriptorOption = DEFAULT_DESCRIPTOR,
) -> None:
    """Switch the clock's mode."""
    state = admin_call(
        load_descriptor(descriptor),
        "POST",
        "/clock",
        json={"mode": mode, "scale": scale, "now": now},
    )
    console.print(f"{state['now']}  mode={state['mode']} scale={state['scale']}")


@app.command()
def keys(
    user: Annotated[str, typer.Argument(help="user id")],
    descriptor: DescriptorOption = DEFAULT_DESCRIPTOR,
) -> None:
    """List a user's API keys with their region and status."""
    rows = admin_call(load_descriptor(descriptor), "GET", f"/users/{user}/api-keys")
    table = Table(title=f"API keys of {user}")
    for column in ("region", "status", "key", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["region"], row["status"], row["key"], row["reason"] or "")
    console.print(table)


@app.command(context_settings={"allow_extra_args": False})
def serve(
    kind: Annotated[str, typer.Argument(help="region, accounts or gateway")],
    region_id: Annotated[str | None, typer.Option(help="for a region")] = None,
    accounts_url: Annotated[
        str | None, typer.Option(help="for a region or the gateway")
    ] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0 picks a free one)")] = 0,
    data_dir: Annotated[Path, typer.Option(help="where stores live")] = Path("data"),
    advertise_url: Annotated[
        str | None, typer.Option(help="URL peers use to reach this service")
    ] = None,
    seed: Annotated[str, typer.Option(help="seed for ids")] = "0",
    transfer_base_seconds: Annotated[
        float, typer.Option(help="accounts: simulated fixed part of a transfer")
    ] = 1800.0,
    transfer_rows_per_second: Annotated[
        float, typer.Option(help="accounts: simulated copy rate of a transfer")
    ] = 25.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Run one service in the foreground (what a container runs)."""
    from simulator.backends.base import ServiceSpec
    from simulator.serve import bind_socket, run_service

    if kind not in ("region", "accounts", "gateway"):
        raise fail(f"unknown service {kind!r}; use region, accounts or gateway", 2)
    if kind == "region" and region_id not in REGION_IDS:
        raise fail(f"a region needs --region-id, one of {', '.join(REGION_IDS)}", 2)
    if kind != "accounts" and not accounts_url:
        raise fail(f"a {kind} needs --accounts-url", 2)
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    spec = ServiceSpec(
        kind,  # type: ignore[arg-type]
        region_id=region_id,
        accounts_url=accounts_url,
        options={
            "seed": seed,
            "transfer-base-seconds": str(transfer_base_seconds),
            "transfer-rows-per-second": str(transfer_rows_per_second),
        },
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    run_service(
        spec, data_dir, bind_socket(host, port), advertise_url, log_level.lower()
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
