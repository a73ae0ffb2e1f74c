"""Operator commands reading the store (and GitHub) directly: `mender report`, `mender doctor`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from domain.reports.history import PRHistory
from domain.reports.success import Window
from domain.shared.times import utc
from runtime.settings import ConfigError, Settings, get_settings
from starter.reports import ReportFormat, ReportKind, build, render


class HistorySource(StrEnum):
    STORE = "store"
    GITHUB = "github"


def report(
    kind: Annotated[ReportKind, typer.Argument(help="baseline, poc, roi or validation")],
    since: Annotated[
        datetime | None,
        typer.Option("--from", help="Window start (ISO 8601, UTC if naive); default --to - 30 days."),
    ] = None,
    until: Annotated[
        datetime | None, typer.Option("--to", help="Window end (exclusive); default now.")
    ] = None,
    format: Annotated[ReportFormat, typer.Option("--format", help="md, html or json.")] = ReportFormat.MD,
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
    source: Annotated[
        HistorySource, typer.Option(help="store (what Mender recorded) or github (bot PRs before Mender).")
    ] = HistorySource.STORE,
    max_prs: Annotated[
        int, typer.Option(min=1, max=5000, help="With --source github: at most this many PRs.")
    ] = 500,
) -> None:
    """Baseline, POC, ROI or validation report over a window, from the store and the audit trail."""
    from store.db import engine_for

    try:
        settings = get_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    end = utc(until) if until else datetime.now(UTC)
    start = utc(since) if since else end - timedelta(days=30)
    try:
        window = Window(start, end)
    except ValueError as exc:
        typer.echo(f"bad window: {exc}", err=True)
        raise typer.Exit(2) from None
    history = _github_history(settings, window, max_prs) if source is HistorySource.GITHUB else None
    text = render(build(kind, engine_for(settings.database_url), settings.config, window, history), format)
    if output:
        output.write_text(text)
        typer.echo(f"{kind.value} report written to {output}")
    else:
        typer.echo(text)


def _github_history(settings: Settings, window: Window, max_prs: int) -> list[PRHistory]:
    from github.GithubException import GithubException

    from activities.github import github_client
    from starter.github_history import bot_pr_histories

    if not settings.config.repositories:
        typer.echo("--source github needs `repositories:` in mender.yaml", err=True)
        raise typer.Exit(2)
    try:
        return bot_pr_histories(lambda repo: github_client(settings, repo), settings.config, window, max_prs)
    except GithubException as exc:
        typer.echo(f"GitHub refused the history read: {exc.status} {exc.data}", err=True)
        raise typer.Exit(1) from None


def doctor(
    repo: Annotated[
        list[str] | None, typer.Option("--repo", help="Check only this repository (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Check GitHub access per repository: token, reachability, permissions, rate limit, refusals seen.

    Exit 1 when Mender cannot do all its work on some repository, 2 when the configuration is invalid.
    """
    from starter.doctor import render, run_doctor

    try:
        settings = get_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    found = run_doctor(settings, repo or None)
    typer.echo(found.model_dump_json(indent=2) if as_json else render(found))
    if not found.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(doctor)
