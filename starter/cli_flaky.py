"""`mender flaky`: the tests CI history shows flaky, with their scores (from the Admin API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer

from starter.cli_admin import JsonOption, _echo, _run
from starter.views import _table


def flaky_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per test: score, flaky or not, runs, failures and why."""
    if not rows:
        return "no test has failed in CI yet"
    lines = [
        (
            f"{r['score']:.2f}",
            "flaky" if r["flaky"] else "-",
            r["project"],
            r["test"][:70],
            f"{r['failures']}/{r['runs']}",
            "; ".join(r["reasons"])[:90] or "-",
        )
        for r in rows
    ]
    return _table(["SCORE", "FLAKY", "REPOSITORY", "TEST", "FAILED/RUNS", "WHY"], lines)


def flaky(
    repo: Annotated[str | None, typer.Option("--repo", help="Only tests of OWNER/REPO.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Tests seen failing in CI, highest flakiness score first (why each counts as flaky)."""
    params = {"repo": repo} if repo else {}
    _echo(_run(lambda api: api.call("GET", "/flaky", params=params)), as_json, flaky_table)


def register(main: typer.Typer) -> None:
    main.command("flaky")(flaky)
