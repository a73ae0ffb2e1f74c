"""`mender playbooks`: success history of every playbook, and the learned fixes (list, export, disable).

Talks to the Admin API (`MENDER_API_URL`, `MENDER_API_KEY`) like the other admin commands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer

from starter.cli_admin import JsonOption, _echo, _run
from starter.views import _table

app = typer.Typer(help="Playbooks: success history and learned fixes.")
FixArgument = Annotated[
    int, typer.Argument(min=1, help="The learned fix's id (see `mender playbooks learned`).")
]


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def history_table(rows: Sequence[Mapping[str, Any]], used_only: bool = True) -> str:
    """One line per playbook: attempts, verified, merged, reverts, success rate; unused built-in rules left
    out."""
    shown = [r for r in rows if r["attempts"] or r["learned"] or not used_only]
    if not shown:
        return "no playbook has been used yet (`--all` lists every rule)"
    lines = [
        (
            r["playbook"],
            "learned" if r["learned"] else "built-in",
            r.get("category"),
            r["attempts"],
            r["verified"],
            r.get("merged", 0),
            r["reverted"],
            _rate(r["success_rate"]),
            "disabled" if r.get("disabled") else "yes" if r.get("auto_fix") else "no",
        )
        for r in shown
    ]
    headers = [
        "PLAYBOOK", "KIND", "CATEGORY", "ATTEMPTS", "VERIFIED", "MERGED", "REVERTED", "SUCCESS", "AUTO-FIX"
    ]  # fmt: skip
    return _table(headers, lines)


def learned_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per learned fix version."""
    if not rows:
        return "no learned fixes yet"
    lines = [
        (
            r["id"],
            f"v{r['version']}",
            "disabled" if r["disabled"] else "promoted" if r["promoted"] else "review",
            f"{r['successes']}/{r.get('promote_after', '?')}",
            r["ecosystem"],
            r["signature"][:70],
            "; ".join(r["edits"])[:80],
        )
        for r in rows
    ]
    return _table(["ID", "VERSION", "STAGE", "SUCCESSES", "ECOSYSTEM", "SIGNATURE", "EDITS"], lines)


@app.callback(invoke_without_command=True)
def playbooks(
    ctx: typer.Context,
    all_rules: Annotated[bool, typer.Option("--all", help="Also list rules never used yet.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Every playbook's attempts, fixes verified, reverts and success rate (built-in and learned)."""
    if ctx.invoked_subcommand is not None:
        return
    rows = _run(lambda api: api.call("GET", "/playbooks"))
    _echo(rows, as_json, lambda r: history_table(r, used_only=not all_rules))


@app.command("learned")
def learned(as_json: JsonOption = False) -> None:
    """The learned fixes: signature, edits, stage (review or promoted) and successful merges of the ones
    needed to be promoted."""
    _echo(_run(lambda api: api.call("GET", "/playbooks/learned")), as_json, learned_table)


@app.command("export")
def export(fix_id: FixArgument) -> None:
    """Print a learned fix as playbook YAML (for review in Git)."""
    typer.echo(_run(lambda api: api.call("GET", f"/playbooks/learned/{fix_id}/export"))["yaml"], nl=False)


@app.command("disable")
def disable(fix_id: FixArgument, as_json: JsonOption = False) -> None:
    """Never replay this learned fix again (an admin key is needed)."""
    answer = _run(lambda api: api.call("POST", f"/playbooks/learned/{fix_id}/disable"))
    _echo(answer, as_json, lambda a: f"learned fix {a['id']} v{a['version']} disabled")


def register(main: typer.Typer) -> None:
    main.add_typer(app, name="playbooks")
