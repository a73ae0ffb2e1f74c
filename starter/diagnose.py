"""`mender diagnose LOGFILE`: the CI log diagnosis on one file, offline on the playbooks alone.

With an LLM configured (`ci.llm.enabled`) the model is asked only when no playbook is confident; its
answer is validated and, when absent, slow or malformed, the rule-based diagnosis stands (with a note).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from activities.ci_logs import read_jobs
from domain.diagnosis.reading import LogFile
from domain.diagnosis.verdict import Diagnosis, Source
from runtime.logs import one_line
from runtime.settings import ConfigError, get_settings

PROVIDERS = ("github_actions", "gitlab_ci", "travis", "circleci", "jenkins", "buildkite", "azure", "other")


def _file_lines(path: Path) -> LogFile:
    return LogFile(path)  # the scan reads it in binary blocks, not line by line


def diagnose_log(path: Path, provider: str | None, passing: Path | None = None) -> tuple[Diagnosis, str]:
    """The diagnosis of one log file (and its distilled text), asking the LLM only when rules are unsure.
    `passing`: the log of the last passing run of the same job (its error-like lines are not the cause)."""
    settings = get_settings()
    ci = settings.config.ci
    passing_lines = _file_lines(passing) if passing is not None else None
    read = read_jobs([(path.name, _file_lines(path))], provider or "other", ci, passing=passing_lines)
    diagnosis, distilled = read.diagnosis, read.distilled
    unsure = diagnosis.source is Source.FALLBACK or diagnosis.confidence < ci.risk.confidence_floor
    if ci.llm.enabled and unsure:
        from activities.llm import consult
        from contracts.ci import LLMRequest

        request = LLMRequest(
            distilled=distilled.text(),
            project="local",
            provider=provider or "other",
            rule=diagnosis,
            failed_step=distilled.failed_step,
            passing_diff=read.passing_diff,
        )
        diagnosis = consult(request, settings)
    return diagnosis, distilled.text()


def _stdin_to_file() -> Path:
    """Standard input copied to a temporary file (the scan reads a file in blocks); the caller deletes it."""
    import tempfile

    with tempfile.NamedTemporaryFile(prefix="mender-log-", delete=False) as tmp:
        for chunk in iter(lambda: sys.stdin.buffer.read(1 << 16), b""):
            tmp.write(chunk)
    return Path(tmp.name)


def _diagnosed(logfile: Path, provider: str | None, passing: Path | None) -> Diagnosis:
    """`diagnose_log`, or a clear message and exit 2 when the files or the configuration cannot be read."""
    for path in (logfile, passing):
        if path is not None and not path.is_file():
            typer.echo(f"error: {path} is not a readable file", err=True)
            raise typer.Exit(2)
    try:
        return diagnose_log(logfile, provider, passing)[0]
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # a read that fails part-way (I/O error, a file removed or truncated under us)
        typer.echo(f"error: {exc.filename or logfile} could not be read: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None


def diagnose(
    logfile: Annotated[Path, typer.Argument(help="The CI log to diagnose ('-' for standard input).")],
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", help=f"Where the log comes from: {', '.join(PROVIDERS)}."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the stable contract).")
    ] = False,
    passing: Annotated[
        Path | None,
        typer.Option(
            "--pass",
            help="The log of the last passing run of the same job: lines it prints too are not the cause.",
        ),
    ] = None,
) -> None:
    """Diagnose a failed CI log: category, action, risk, tier, confidence, decisive line, playbook."""
    if provider is not None and provider not in PROVIDERS:
        typer.echo(f"error: unknown provider {provider!r} (one of: {', '.join(PROVIDERS)})", err=True)
        raise typer.Exit(2)
    if str(logfile) == "-":
        logfile = _stdin_to_file()
        try:
            diagnosis = _diagnosed(logfile, provider, passing)
        finally:
            logfile.unlink(missing_ok=True)
    else:
        diagnosis = _diagnosed(logfile, provider, passing)
    if as_json:
        typer.echo(json.dumps(diagnosis.contract(), ensure_ascii=False))
        return
    typer.echo(
        f"category:    {diagnosis.category.value} (confidence {diagnosis.confidence}, {diagnosis.source.value})"
    )
    typer.echo(f"action:      {diagnosis.action.value}")
    typer.echo(f"risk:        {diagnosis.risk_score} ({diagnosis.tier.value})")
    typer.echo(f"playbook:    {diagnosis.playbook or '-'}")
    if diagnosis.params:
        typer.echo("params:      " + ", ".join(f"{k}={v}" for k, v in sorted(diagnosis.params.items())))
    line = f" (line {diagnosis.key_line_number})" if diagnosis.key_line_number else ""
    # Text from the log, escaped (`\x1b`, `\x00`, ...): a binary log cannot drive the terminal.
    typer.echo(f"key line{line}: {one_line(diagnosis.key_line)}")
    typer.echo(f"explanation: {one_line(diagnosis.explanation)}")
    for note in diagnosis.notes:
        typer.echo(f"note:        {one_line(note)}")
