"""`mender review list|approve|reject [ID]`: the review queue of fix PRs, through the Admin API."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from domain.ci_healing.review_queue import MR_URL_PART


class ReviewAction(StrEnum):
    list = "list"
    approve = "approve"
    reject = "reject"


def queue_text(items: list[dict[str, Any]]) -> str:
    """One line per queued fix PR: id, age, PR, confidence, route and the first reason."""
    if not items:
        return "The review queue is empty."
    lines = [f"{'ID':>5}  {'SINCE':<20} {'PR':<40} {'SCORE':>5}  {'ROUTE':<8} WHY"]
    for item in items:
        mark = "!" if MR_URL_PART in str(item.get("pr_url") or "") else "#"  # a GitLab MR: !iid
        pr = f"{item['repo']}{mark}{item['pr_number']}"
        why = (item.get("reasons") or ["-"])[0]
        since = str(item.get("created_at", ""))[:19]
        lines.append(f"{item['id']:>5}  {since:<20} {pr:<40} {item['score']:>5.2f}  {item['route']:<8} {why}")
    return "\n".join(lines)


def review(
    action: Annotated[ReviewAction, typer.Argument(help="list, approve or reject")] = ReviewAction.list,
    item_id: Annotated[int | None, typer.Argument(help="The item's id (approve, reject).", min=1)] = None,
    reason: Annotated[str, typer.Option(help="Why (shown on the PR when rejected).")] = "",
    status: Annotated[
        str, typer.Option(help="With list: pending, approved, rejected or closed.")
    ] = "pending",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Fix PRs waiting for a human: list them, approve one (Mender merges it) or reject it (closed)."""
    from starter.api_client import ApiClient, ApiError

    api = ApiClient()
    try:
        if action is ReviewAction.list:
            answer: Any = api.call("GET", "/review", params={"status": status})
            typer.echo(json.dumps(answer, indent=2) if as_json else queue_text(answer))
            return
        if item_id is None:
            typer.echo(
                f"mender review {action.value} needs the item's ID (see `mender review list`)", err=True
            )
            raise typer.Exit(2)
        answer = api.call("POST", f"/review/{item_id}/{action.value}", json={"reason": reason})
    except ApiError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None
    typer.echo(json.dumps(answer, indent=2) if as_json else f"#{answer['id']} {answer['detail']}")


def register(app: typer.Typer) -> None:
    app.command("review")(review)
