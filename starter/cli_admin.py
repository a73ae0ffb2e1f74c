"""`mender` commands that talk to the Admin API (`MENDER_API_URL`, `MENDER_API_KEY`), and `api-key`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from domain.pr_healing.events import PRRef
from starter import views

if TYPE_CHECKING:
    from starter.api_client import ApiClient

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
PRArgument = Annotated[str, typer.Argument(help="OWNER/REPO#NUMBER")]


def _run(call: Callable[[ApiClient], Any]) -> Any:
    """Call the API; on failure print the reason and exit non-zero."""
    from starter.api_client import ApiClient, ApiError  # HTTP client only for the commands that call

    try:
        return call(ApiClient())
    except ApiError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None


def _ref(text: str) -> PRRef:
    try:
        return PRRef.parse(text)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _echo(answer: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    typer.echo(json.dumps(answer, indent=2) if as_json else text(answer))


def prs(
    state: Annotated[str | None, typer.Option(help="Only PRs in this state, e.g. CHECKS_FAILED.")] = None,
    repo: Annotated[str | None, typer.Option(help="Only PRs of OWNER/REPO.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many (one page).")] = 500,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many (the next page: --offset LIMIT).")] = 0,
    as_json: JsonOption = False,
) -> None:
    """List tracked PRs with their state, most recently active first, a page at a time."""
    rows = _run(lambda api: api.prs(state=state, repo=repo, limit=limit, offset=offset))
    _echo(rows, as_json, lambda r: views.prs_table(r) + views.page_hint(len(r), limit, offset))


def needs_me(as_json: JsonOption = False) -> None:
    """What needs a human: stuck PRs (why, what Mender tried, what to do), CI failures, fix PRs to review."""
    _echo(_run(lambda api: api.needs_me()), as_json, views.needs_me_text)


def pr(ref: PRArgument, as_json: JsonOption = False) -> None:
    """Show one PR: state, retry counts and recent events (live from its workflow when it runs)."""
    pr_ref = _ref(ref)
    _echo(_run(lambda api: api.pr(pr_ref)), as_json, views.pr_text)


def stale(as_json: JsonOption = False) -> None:
    """List open PRs stuck in one state for longer than its staleness threshold."""
    _echo(_run(lambda api: api.stale()), as_json, views.stale_table)


def command(
    ref: PRArgument,
    text: Annotated[str, typer.Argument(metavar="COMMAND", help="e.g. /rebuild")],
    idempotency_key: Annotated[
        str | None, typer.Option(help="Repeat with the same key and the command runs once.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send a PR command (as written in a PR comment); exit 1 when the PR refuses it."""
    pr_ref = _ref(ref)
    answer = _run(lambda api: api.command(pr_ref, text, idempotency_key))
    verdict = "accepted" if answer["accepted"] else "refused"
    _echo(answer, as_json, lambda a: f"{pr_ref.key} {a['command']}: {verdict}: {a['reason']}")
    if not answer["accepted"]:
        raise typer.Exit(1)


def reconcile() -> None:
    """Run the reconciler sweep now (the schedule runs it every `reconciler.interval_seconds`)."""
    _run(lambda api: api.reconcile())
    typer.echo("reconciler sweep triggered")


class BreakerAction(StrEnum):
    status = "status"
    reset = "reset"


def breaker(
    action: Annotated[BreakerAction, typer.Argument(help="status or reset")] = BreakerAction.status,
    scope: Annotated[str | None, typer.Option(help="Breaker scope; default `breaker.scope`.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the circuit breaker's state and recent changes, or reset it to closed by hand."""
    answer = _run(lambda api: api.breaker(scope, reset=action is BreakerAction.reset))
    _echo(answer, as_json, views.breaker_text)


def queue(
    repo: Annotated[str | None, typer.Option(help="Only the queues of OWNER/REPO.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the merge queues: per repository and base, the PR being updated and the PRs waiting."""
    _echo(_run(lambda api: api.merge_queues(repo)), as_json, views.queues_text)


def audit(
    since: Annotated[datetime | None, typer.Option(help="Rows at or after (ISO 8601, UTC if naive).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Rows before (ISO 8601, UTC if naive).")] = None,
    repo: Annotated[str | None, typer.Option(help="Only rows about OWNER/REPO.")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. api.call, pr.remediation.")] = None,
    outcome: Annotated[str | None, typer.Option(help="e.g. accepted, failed, 4xx.")] = None,
    actor: Annotated[str | None, typer.Option(help="API key name, GitHub login, ...")] = None,
    target: Annotated[str | None, typer.Option(help="e.g. acme/api#12.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many rows.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Read the audit trail, newest first."""
    filters = {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "repository": repo,
        "action": action,
        "outcome": outcome,
        "actor": actor,
        "target": target,
        "limit": limit,
    }
    _echo(_run(lambda api: api.audit(**filters)), as_json, views.audit_table)


class Role(StrEnum):
    admin = "admin"
    operate = "operate"
    read = "read"


def api_key(
    name: Annotated[str, typer.Argument(help="Who or what uses the key (shown in the audit trail).")],
    role: Annotated[
        Role, typer.Option(help="read (look), operate (PR commands, reconciler runs) or admin (everything).")
    ] = Role.admin,
) -> None:
    """Generate an Admin API key: prints the key once, and the entry to add under `api.keys`."""
    from starter.auth import generate_key, hash_key

    key = generate_key()
    typer.echo(f"API key for {name} (shown once; give it to the client as MENDER_API_KEY):\n  {key}\n")
    typer.echo("Add to mender.yaml:\napi:\n  keys:")
    typer.echo(f'    - {{name: {json.dumps(name)}, role: {role.value}, hash: "{hash_key(key)}"}}')


config_app = typer.Typer(help="Mender's configuration (`mender.yaml`).", no_args_is_help=True)


@config_app.command("reload")
def config_reload(as_json: JsonOption = False) -> None:
    """Reload `mender.yaml` in the running starter now (the worker picks the change up by itself).

    Exit 0 when applied, 1 when refused (the reason names each bad key; the old settings stay).
    """
    answer = _run(lambda api: api.reload_config())
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    elif answer["applied"]:
        changed = ", ".join(answer["changed"]) or "nothing"
        typer.echo(f"configuration reloaded; changed: {changed}")
    else:
        typer.echo(f"configuration refused, the previous one stays:\n{answer['error']}", err=True)
    if not answer["applied"]:
        raise typer.Exit(1)


class KeyAction(StrEnum):
    list = "list"
    create = "create"
    rotate = "rotate"
    revoke = "revoke"


def keys(
    action: Annotated[KeyAction, typer.Argument(help="list, create, rotate or revoke")] = KeyAction.list,
    name: Annotated[str | None, typer.Argument(help="The key's name (create, rotate, revoke).")] = None,
    role: Annotated[Role, typer.Option(help="Role of a created key.")] = Role.read,
    as_json: JsonOption = False,
) -> None:
    """Manage Admin API keys through the API (admin key): a created or rotated key is printed once."""
    if action is not KeyAction.list and not name:
        typer.echo(f"`mender keys {action.value}` needs the key's NAME", err=True)
        raise typer.Exit(2)
    answer = _run(lambda api: api.keys(action.value, name, role.value))
    _echo(answer, as_json, lambda a: views.keys_text(action.value, a))


def register(app: typer.Typer) -> None:
    """Add these commands to the `mender` app."""
    for fn in (prs, pr, stale, command, reconcile, breaker, queue, audit):
        app.command()(fn)
    app.command("needs-me")(needs_me)
    app.command("api-key")(api_key)
    app.add_typer(config_app, name="config")
    app.command("keys")(keys)
