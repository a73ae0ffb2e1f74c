"""The `mender` command line (typer).

Start-up stays lean: each command imports what it needs (Temporal, the HTTP clients, the database, the web
stack) inside its body, so `mender diagnose` loads the diagnosis and the settings only
(tests/unit/test_cli_startup.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runtime.logs import configure_logging
from runtime.settings import ConfigError, Environment, get_settings, load_config
from starter import cli_admin, cli_flaky, cli_ops, cli_playbooks, cli_review
from starter.diagnose import diagnose

if TYPE_CHECKING:
    from fastapi import FastAPI

    from runtime.settings import Settings

app = typer.Typer(
    help="Mender: self-healing for bot pull requests and failed CI pipelines.", no_args_is_help=True
)


def _settings_or_exit():
    try:
        return get_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command("check-config")
def check_config(
    path: Annotated[Path | None, typer.Argument(help="Defaults to $MENDER_CONFIG")] = None,
) -> None:
    """Validate a mender.yaml; prints each bad key path and reason, exit 2 when invalid."""
    target = path or Environment().mender_config
    try:
        config = load_config(target)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    repos = ", ".join(r.name for r in config.repositories) or "all repositories"
    typer.echo(f"{target}: valid (mode {config.mode}, {repos})")


@app.command()
def worker() -> None:
    """Run a Mender worker (workflows and activities) against the configured Temporal."""
    from worker import run_worker

    configure_logging()
    _settings_or_exit()
    asyncio.run(run_worker())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the starter: webhook receiver and API. It follows `mender.yaml` as the worker does (the
    repository policy a new PR starts with comes from the starter's copy)."""
    from starter.app import create_app

    configure_logging()
    asyncio.run(_serve(create_app(_settings_or_exit()), host, port))


async def _serve(app_: FastAPI, host: str, port: int) -> None:
    import uvicorn

    from runtime.config_reload import ConfigWatcher

    async def installed(_before: Settings, after: Settings) -> None:
        app_.state.settings = after

    server = uvicorn.Server(uvicorn.Config(app_, host=host, port=port, log_level="warning"))
    watch = asyncio.create_task(ConfigWatcher(on_change=installed, audited=False).run())
    try:
        await server.serve()
    finally:
        watch.cancel()


@app.command()
def up(
    scenario: Annotated[Path | None, typer.Option(help="Scenario to run on the GitHub simulator.")] = None,
    data_dir: Annotated[Path, typer.Option(help="Where the Temporal and SQLite state persist.")] = Path(
        "data"
    ),
    exit_after_demo: Annotated[
        bool, typer.Option(help="Stop once Mender has seen every demo PR merged.")
    ] = False,
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
    starter_port: Annotated[int, typer.Option(help="Starter (webhooks, API) port.")] = 8000,
    simulator_port: Annotated[int, typer.Option(help="GitHub simulator port.")] = 8090,
    slack_port: Annotated[int, typer.Option(help="Slack simulator port.")] = 8091,
    gitlab_port: Annotated[int, typer.Option(help="GitLab simulator port.")] = 8092,
) -> None:
    """Start the local stack (Temporal dev server, GitHub/GitLab/Slack simulators, worker, starter), run the demo."""
    from starter.devstack import DevStack, Ports

    configure_logging()
    _settings_or_exit()
    ports = Ports(temporal_port, ui_port, starter_port, simulator_port, slack_port, gitlab_port)
    code = DevStack(data_dir=data_dir, scenario=scenario, exit_after_demo=exit_after_demo, ports=ports).run()
    raise typer.Exit(code)


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the Temporal and SQLite state persist.")] = Path(
        "data"
    ),
    exit_after_demo: Annotated[
        bool, typer.Option(help="Stop once every demo PR is merged or handed to a human.")
    ] = False,
) -> None:
    """`mender up` with scenarios/demo.yaml: prints where to look, then `Demo finished` and what to open."""
    up(scenario=Path("scenarios/demo.yaml"), data_dir=data_dir, exit_after_demo=exit_after_demo)


class ScanFormat(StrEnum):
    json = "json"
    csv = "csv"
    table = "table"


@app.command()
def scan(
    format: Annotated[ScanFormat, typer.Option("--format", help="json, csv or table.")] = ScanFormat.table,
) -> None:
    """Audit without acting: every open bot PR with its state, staleness and recommended action."""
    from activities.reconcile_scan import scan as run_scan
    from starter import views

    rows = run_scan(_settings_or_exit())
    typer.echo(views.scan_output(rows, format.value))


class ReportFormat(StrEnum):
    json = "json"
    text = "text"


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Option(help="Scenario YAML file.")] = Path("scenarios/demo.yaml"),
    report: Annotated[
        ReportFormat, typer.Option(help="json (one object on stdout) or text.")
    ] = ReportFormat.text,
    config: Annotated[Path | None, typer.Option(help="Base configuration; default $MENDER_CONFIG.")] = None,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 900.0,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep the run's store here (for the dashboard and reports).")
    ] = None,
) -> None:
    """Run a scenario to completion on embedded services (own Temporal, simulators, worker, starter).

    Exit code 1 (after the report) when the scenario states `goals:` that the run did not meet."""
    from starter.simulate import run_simulation

    configure_logging("WARNING")
    stdout = os.dup(1)
    os.dup2(2, 1)  # the embedded servers' banners go to stderr: stdout carries only the report
    try:
        result = asyncio.run(
            run_simulation(scenario, config or Environment().mender_config, timeout, data_dir)
        )
    except (ConfigError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    finally:
        sys.stdout.flush()
        os.dup2(stdout, 1)
    typer.echo(json.dumps(result) if report is ReportFormat.json else json.dumps(result, indent=2))
    # Everything was shut down; skip interpreter finalization, where the Temporal core's native
    # threads can still call into Python and abort the process after the report was printed.
    sys.stdout.flush()
    os._exit(0 if result.get("goals", {}).get("met", True) else 1)


app.command()(diagnose)
cli_admin.register(app)  # prs, pr, stale, needs-me, command, reconcile, breaker, audit (Admin API), api-key
cli_ops.register(app)  # report
cli_review.register(app)  # review list|approve|reject (Admin API)
cli_playbooks.register(app)  # playbooks (history, learned fixes)
cli_flaky.register(app)  # flaky tests and their scores
