"""Operator commands reading the store directly: `mender report`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from runtime.settings import ConfigError, get_settings
from starter.reports import ReportFormat, ReportKind, build, render


def _utc(value: datetime | None, default: datetime) -> datetime:
    if value is None:
        return default
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
) -> None:
    """Baseline, POC, ROI or validation report over a window, from the store and the audit trail."""
    from domain.reports.success import Window
    from store.db import engine_for

    try:
        settings = get_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    end = _utc(until, datetime.now(UTC))
    start = _utc(since, end - timedelta(days=30))
    try:
        window = Window(start, end)
    except ValueError as exc:
        typer.echo(f"bad window: {exc}", err=True)
        raise typer.Exit(2) from None
    text = render(build(kind, engine_for(settings.database_url), settings.config, window), format)
    if output:
        output.write_text(text)
        typer.echo(f"{kind.value} report written to {output}")
    else:
        typer.echo(text)


def register(app: typer.Typer) -> None:
    app.command()(report)
