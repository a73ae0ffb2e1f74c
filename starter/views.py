"""Plain-text tables and JSON views of store records, shared by the CLI and the API."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from store.models import PREventRecord, PullRequestRecord


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) if c is not None else "-" for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def pr_summary(record: PullRequestRecord) -> dict[str, Any]:
    return {
        "pr": record.key,
        "repo": record.repo,
        "number": record.number,
        "state": record.state,
        "head_sha": record.head_sha,
        "last_event_at": record.last_event_at.isoformat() if record.last_event_at else None,
        "retry_counts": record.retry_counts,
        "invalid_events": record.invalid_events,
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
    }


def event_dict(event: PREventRecord) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at.isoformat(),
        "type": event.type,
        "source": event.source,
        "outcome": event.outcome,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "reason": event.reason,
        "key": event.payload.get("key"),
        "actor": event.payload.get("actor"),
    }


def prs_json(records: Sequence[PullRequestRecord]) -> str:
    return json.dumps([pr_summary(r) for r in records], indent=2)


def prs_table(records: Sequence[PullRequestRecord]) -> str:
    if not records:
        return "no tracked PRs"
    rows = [
        (
            r.key,
            r.state,
            (r.head_sha or "")[:12],
            r.last_event_at and r.last_event_at.isoformat(timespec="seconds"),
        )
        for r in records
    ]
    return _table(["PR", "STATE", "HEAD", "LAST EVENT"], rows)


def pr_dict(record: PullRequestRecord, events: Sequence[PREventRecord]) -> dict[str, Any]:
    return {**pr_summary(record), "events": [event_dict(e) for e in events]}


def pr_text(record: PullRequestRecord, events: Sequence[PREventRecord]) -> str:
    head = f"{record.key}  state {record.state}  head {(record.head_sha or '-')[:12]}  invalid events {record.invalid_events}"
    rows = [
        (
            e.occurred_at.isoformat(timespec="seconds"),
            e.type,
            e.source,
            e.outcome,
            f"{e.from_state or '-'} -> {e.to_state or '-'}",
            e.reason,
        )
        for e in events
    ]
    return head + "\n\n" + _table(["AT", "EVENT", "SOURCE", "OUTCOME", "TRANSITION", "REASON"], rows)


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
