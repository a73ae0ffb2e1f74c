"""Stall -> decision and stall -> action of `mender simulate`'s report, from a PR's journal.

A stall starts at the PR's last external event: a webhook applied (GitHub's time of the fact) before
the decision (the remediation's activity scheduled, `scheduled_at`). Not counted as progress: what
Mender did (remediations, commands) and what it read itself at a check (reconciler facts carry the time
of the check), and any event after the decision, such as the checks a re-run started, whose GitHub time
can precede the remediation's own row by milliseconds (the journal is in event-time order).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol


class JournalRow(Protocol):
    type: str
    source: str
    outcome: str
    occurred_at: datetime
    payload: dict[str, Any]


def _time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))


def stall_seconds(events: Iterable[JournalRow]) -> tuple[list[float], list[float]]:
    """(stall -> action, stall -> decision) seconds of each remediation that acted: to its answer (the
    row's time) and to its activity scheduled; a remediation with no external event before it is skipped."""
    events = list(events)
    progress = sorted(
        e.occurred_at
        for e in events
        if e.type != "remediation" and e.source == "webhook" and e.outcome == "applied"
    )
    to_action: list[float] = []
    to_decision: list[float] = []
    for event in events:
        details = event.payload.get("details", {})
        if event.type != "remediation" or details.get("outcome") != "acted":
            continue
        scheduled = details.get("scheduled_at")
        decided = _time(scheduled) if scheduled else event.occurred_at
        before = [t for t in progress if t <= decided]
        if not before:
            continue
        to_action.append((event.occurred_at - before[-1]).total_seconds())
        if scheduled:
            to_decision.append((decided - before[-1]).total_seconds())
    return to_action, to_decision
