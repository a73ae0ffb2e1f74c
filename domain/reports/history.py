"""A PR's history as the reports see it, built from its journal rows: stalls, remedies, outcome.

A *stall* is a stay in one open state longer than that state's staleness threshold. It is detected
when Mender first acted or escalated during it (else at `since + threshold`) and recovered when the PR
left the state (a stay in NEEDS_INTERVENTION that follows counts as part of the same stall).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.reports.progress import EFFECT_SEEN, progressed

NEEDS_INTERVENTION = "NEEDS_INTERVENTION"
TERMINAL = frozenset({"MERGED", "CLOSED"})
MENDER_TYPES = frozenset({"remediation", "escalated"})


@dataclass(frozen=True)
class JournalRow:
    """One stored journal event, reduced to what the reports read."""

    at: datetime
    type: str
    applied: bool = True
    noted: bool = False  # taken without a state change (not stale, late or invalid)
    from_state: str | None = None
    to_state: str | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Stall:
    state: str  # the failure mode: the state the PR got stuck in
    since: datetime
    detected_at: datetime
    recovered_at: datetime | None
    escalated: bool

    @property
    def detect_hours(self) -> float:
        return (self.detected_at - self.since).total_seconds() / 3600

    def remediate_hours(self) -> float | None:
        return None if self.recovered_at is None else (self.recovered_at - self.since).total_seconds() / 3600


@dataclass(frozen=True)
class RemedyAttempt:
    """One remediation attempt as the PR's journal shows it."""

    at: datetime
    action: str
    outcome: str  # a RemedyOutcome word: acted, effect seen, no effect, refused, ...
    by_human: bool = False
    progressed: bool = False  # "effect seen" and the PR then progressed (`domain/reports/progress.py`)

    @property
    def saved(self) -> bool:
        """Counted as human time saved and as a POC success: its effect was seen and the PR progressed."""
        return self.outcome == EFFECT_SEEN and self.progressed

    @property
    def without_progress(self) -> bool:
        """Its effect was seen (GitHub reacted) but the PR did not progress."""
        return self.outcome == EFFECT_SEEN and not self.progressed


@dataclass(frozen=True)
class PRHistory:
    key: str
    repo: str
    opened_at: datetime
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    state: str | None = None
    stalls: tuple[Stall, ...] = ()
    remedies: tuple[RemedyAttempt, ...] = ()
    escalated_at: datetime | None = None
    human_touched: bool = False
    severity: str | None = None  # security PRs only: critical, high, moderate, low

    @property
    def ended_at(self) -> datetime | None:
        return self.merged_at or self.closed_at


@dataclass(frozen=True)
class CIFact:
    """One failed pipeline run Mender handled (a row of the `ci_failure` projection)."""

    at: datetime
    project: str
    category: str | None
    action: str | None
    outcome: str | None  # auto_fixed, approved_fixed, escalated, incident, observed, None: running
    key_line: str | None = None
    stage: str = ""

    @property
    def fixed(self) -> bool:
        return self.outcome in ("auto_fixed", "approved_fixed")


def _state_changes(rows: Sequence[JournalRow]) -> list[tuple[datetime, str]]:
    return [(r.at, r.to_state) for r in rows if r.applied and r.to_state and r.from_state != r.to_state]


def stalls_of(
    rows: Sequence[JournalRow], threshold: Callable[[str], float], now: datetime
) -> tuple[Stall, ...]:
    """The stalls in one PR's time-ordered journal."""
    changes = _state_changes(rows)
    found: list[Stall] = []
    for index, (since, state) in enumerate(changes):
        if state in TERMINAL or state == NEEDS_INTERVENTION:
            continue
        following = changes[index + 1 :]
        until = following[0][0] if following else None
        escalated = bool(following) and following[0][1] == NEEDS_INTERVENTION
        if escalated:
            until = following[1][0] if len(following) > 1 else None
        limit = timedelta(seconds=threshold(state))
        end = following[0][0] if following else now
        if end - since <= limit and not escalated:
            continue
        acted = [
            r.at for r in rows if r.type in MENDER_TYPES and since <= r.at and (until is None or r.at < until)
        ]
        detected = min(acted) if acted else since + limit
        found.append(Stall(state, since, detected, until, escalated))
    return tuple(found)


def build(
    key: str,
    repo: str,
    opened_at: datetime,
    rows: Sequence[JournalRow],
    threshold: Callable[[str], float],
    now: datetime,
    human_touched: bool = False,
) -> PRHistory:
    """One PR's history from its time-ordered journal rows."""
    changes = _state_changes(rows)
    merged = next((at for at, s in changes if s == "MERGED"), None)
    closed = next((at for at, s in changes if s == "CLOSED"), None) if merged is None else None
    escalated = next((at for at, s in changes if s == NEEDS_INTERVENTION), None)
    remedies = tuple(
        RemedyAttempt(
            r.at,
            str(r.details.get("action")),
            str(r.details.get("outcome")),
            by_human=bool(r.details.get("requester")),
            progressed=r.details.get("outcome") == EFFECT_SEEN and progressed(rows, index),
        )
        for index, r in enumerate(rows)
        if r.type == "remediation"
    )
    opening = next((r for r in rows if r.type == "opened"), None)
    severity = opening.details.get("severity") if opening else None
    return PRHistory(
        key=key,
        repo=repo,
        opened_at=opening.at if opening else opened_at,
        merged_at=merged,
        closed_at=closed,
        state=changes[-1][1] if changes else None,
        stalls=stalls_of(rows, threshold, now),
        remedies=remedies,
        escalated_at=escalated,
        human_touched=human_touched or escalated is not None or any(r.by_human for r in remedies),
        severity=str(severity) if severity else None,
    )
