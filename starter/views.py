"""Plain-text tables of Admin API answers and `mender scan` rows, for the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) if c is not None else "-" for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _time(value: str | None) -> str | None:
    """An ISO timestamp from the API, to the second."""
    return value[:19].replace("T", " ") if value else None


def prs_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """`mender prs`: one line per tracked PR (rows as the Admin API returns them)."""
    if not rows:
        return "no tracked PRs"
    lines = [(r["pr"], r["state"], (r["head_sha"] or "")[:12], _time(r["last_event_at"])) for r in rows]
    return _table(["PR", "STATE", "HEAD", "LAST EVENT"], lines)


def pr_text(pr: Mapping[str, Any]) -> str:
    """`mender pr`: the PR's state and its recent events."""
    head = (
        f"{pr['pr']}  state {pr['state']}  head {(pr['head_sha'] or '-')[:12]}  "
        f"invalid events {pr['invalid_events']}  (from the {pr['source']})"
    )
    if pr.get("retry_counts"):
        head += "\nretries " + ", ".join(f"{k} {v}" for k, v in sorted(pr["retry_counts"].items()))
    expecting = pr.get("expecting")
    if expecting:
        head += f"\nwaiting for the effect of {expecting['action']} until {_time(expecting['deadline'])}"
    events = sorted(pr["events"], key=lambda e: e["occurred_at"])
    story = [f"  {_time(e['occurred_at'])}  {story_line(e)}" for e in events]
    return head + "\n\nWhat happened (oldest first):\n" + ("\n".join(story) or "  nothing recorded yet")


def story_line(event: Mapping[str, Any]) -> str:
    """One event as a sentence: what happened, who or what caused it, and what it did to the state."""
    details = event.get("details") or {}
    if event["type"] == "remediation":
        line = f"Mender {details.get('action', '?')}: {details.get('outcome', '?')}"
        if details.get("detail"):
            line += f" ({details['detail']})"
        if details.get("requester"):
            line += f", asked by {details['requester']}"
        return line
    line = event["type"].replace("_", " ")
    if event.get("actor"):
        line += f" by {event['actor']}"
    line += f" [{event['source']}]"
    if (
        event["outcome"] == "applied"
        and event.get("to_state")
        and event.get("from_state") != event["to_state"]
    ):
        line += f": {event.get('from_state') or 'new'} -> {event['to_state']}"
    elif event["outcome"] != "applied":
        line += f": {event['outcome']}"
    if event.get("reason"):
        line += f" - {event['reason']}"
    return line


def stale_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """`mender stale`: PRs past their state's staleness threshold."""
    if not rows:
        return "no stale PRs"
    lines = [
        (
            r["pr"],
            r["state"],
            _time(r["since"]),
            f"{r['stale_seconds']:.0f}s",
            f"{r['threshold_seconds']:.0f}s",
        )
        for r in rows
    ]
    return _table(["PR", "STATE", "SINCE", "STALE", "THRESHOLD"], lines)


def audit_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """`mender audit`: audit rows, newest first."""
    if not rows:
        return "no audit rows"
    lines = [
        (_time(r["at"]), r["actor"], r["action"], r["target"], r["outcome"], r["source"], r["error"])
        for r in rows
    ]
    return _table(["AT", "ACTOR", "ACTION", "TARGET", "OUTCOME", "SOURCE", "ERROR"], lines)


def breaker_text(status: Mapping[str, Any]) -> str:
    """`mender breaker status|reset`: state, failure rate and recent changes."""
    if not status.get("running", True):
        return f"breaker {status['scope']}: never used (closed)"
    rate = status.get("failure_rate")
    shown = f"{rate:.0%}" if rate is not None else "-"
    lines = [
        f"breaker {status['scope']}: {status['state']} (failure rate {shown} over {status['samples']} outcomes)"
    ]
    if status.get("isolated"):
        lines.append(f"  isolated repositories (own breaker open): {', '.join(status['isolated'])}")
    for change in status["changes"]:
        lines.append(f"  {_time(change['at'])} {change['old']} -> {change['new']}: {change['reason']}")
    return "\n".join(lines)


def queues_text(answer: Mapping[str, Any]) -> str:
    """`mender queue`: per (repository, base), the PR holding the turn and the PRs waiting, in turn order."""
    if not answer["queues"]:
        return "no merge queue is running (no PR is waiting to be brought up to date)"
    lines = []
    for q in answer["queues"]:
        lines.append(f"{q['repo']} <- {q['base_ref']}: {q['granted']} turns given, {q['expired']} expired")
        holder = q.get("holder")
        if holder:
            lease = f", lease until {_time(holder['lease_until'])}" if holder.get("lease_until") else ""
            lines.append(f"  updating  #{holder['pr_number']} (nearness {holder['nearness']}/4{lease})")
        else:
            lines.append("  updating  nobody")
        for seat in q["waiting"]:
            lines.append(
                f"  {seat['position']:>7}.  #{seat['pr_number']} (nearness {seat['nearness']}/4, "
                f"waiting since {_time(seat['since'])})"
            )
    if answer.get("truncated"):
        lines.append("(more queues are running than shown)")
    return "\n".join(lines)


def scan_output(rows: Sequence[Any], format: str) -> str:
    """`mender scan` rows (ScanRow models) as JSON, CSV or a table."""
    dicts = [row.model_dump() for row in rows]
    if format == "json":
        return json.dumps(dicts, indent=2)
    if format == "csv":
        out = io.StringIO()
        fields = (
            list(dicts[0])
            if dicts
            else ["pr", "title", "author", "state", "tracked", "stale_seconds", "action", "reason", "url"]
        )
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        writer.writerows(dicts)
        return out.getvalue().rstrip("\n")
    if not rows:
        return "no open bot PRs"
    table = [(d["pr"], d["state"], f"{d['stale_seconds']:.0f}s", d["action"], d["reason"]) for d in dicts]
    return _table(["PR", "STATE", "STALE", "ACTION", "REASON"], table)


def page_hint(shown: int, limit: int, offset: int) -> str:
    """The paging footer of `mender prs`: which rows these are, and how to get the next page."""
    if shown == 0 or (offset == 0 and shown < limit):
        return ""
    hint = f"\n\nrows {offset + 1}-{offset + shown}"
    return hint + (f"; next page: --offset {offset + limit}" if shown == limit else "")


def needs_me_text(view: Mapping[str, Any]) -> str:
    """`mender needs-me`: each stuck PR with why, what Mender tried and what to do; then CI and reviews."""
    lines = [
        f"{len(view['prs'])} stuck PRs, {len(view['ci'])} CI failures, {len(view['review'])} fix PRs to review"
    ]
    for p in view["prs"]:
        lines += [
            "",
            f"{p['pr']}  {p['state']}  since {_time(p['since'])}  {p['pr_url']}",
            f"  why: {p['why']}",
        ]
        lines += [f"  tried {_time(a['at'])}: {a['action']}: {a['outcome']}" for a in p["tried"]]
        lines += [f"  you: {p['human_action']}", f"  workflow: {p['workflow_url']}"]
    for title, items in (
        ("CI failures waiting for a human", view["ci"]),
        ("Fix PRs to review", view["review"]),
    ):
        if items:
            lines += ["", title + ":"]
        for c in items:
            lines.append(
                f"  {c['project']} run {c['run_id']}  {c['waiting_for']}  {c['category'] or '-'}/{c['action'] or '-'}"
            )
            lines.append(f"    you: {c['human_action']}  {c.get('fix_pr_url') or c['run_url']}")
    return "\n".join(lines)


def keys_text(action: str, answer: Any) -> str:
    """`mender keys` answers: the active keys, or the key just created, rotated or revoked."""
    if action == "list":
        return (
            _table(["NAME", "ROLE"], [(k["name"], k["role"]) for k in answer]) if answer else "no active keys"
        )
    if action == "revoke":
        return f"revoked {answer['name']} ({answer['role']}): it no longer works"
    verb = "created" if action == "create" else "rotated (the old key no longer works)"
    return f"{answer['name']} ({answer['role']}) {verb}; the key, shown once:\n  {answer['key']}"
