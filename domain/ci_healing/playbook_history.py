"""Playbook success history: what each playbook (built-in or learned) did, and its measured success rate.

Four kinds of event, each recorded once (idempotent key `<workflow id>:<kind>`):
- `attempt`:  Mender carried out the playbook's plan for a failed run (a re-run or a fix PR);
- `verified`: the plan healed the run (the re-run or the fix branch's pipeline went green);
- `merged`:   the plan's fix PR was merged through its fix PR workflow (key: the fix PR's workflow id);
- `reverted`: a merged fix was reverted because the default branch went red after it.

success rate = (verified - reverted) / attempts, in [0, 1], and None below `min_samples` attempts: a rate
from two attempts says nothing. The rate is the prior of a fix PR's confidence (it can only lower it) and
caps the confidence the risk gate compares with its floor.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.ci_healing.outcomes import CIOutcome

DEFAULT_MIN_SAMPLES = 5
LEARNED_PREFIX = "learned."  # ids of learned fixes used as playbooks: `learned.<id>`
HEALED = frozenset({CIOutcome.AUTO_FIXED, CIOutcome.APPROVED_FIXED})
PASSED = HEALED | {CIOutcome.AWAITING_REVIEW}  # the plan's fix passed its pipeline (verified)


class EventKind(StrEnum):
    ATTEMPT = "attempt"
    VERIFIED = "verified"
    REVERTED = "reverted"
    MERGED = "merged"


class PlaybookEvent(BaseModel):
    """One thing a playbook's plan did for one run."""

    model_config = ConfigDict(frozen=True)

    playbook: str = Field(min_length=1, max_length=200)
    kind: EventKind
    workflow_id: str = Field(min_length=1, max_length=400)  # the run's CI workflow (idempotency)
    project: str = ""
    at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.workflow_id}:{self.kind.value}"


class PlaybookStats(BaseModel):
    """One playbook's counts and its success rate (None while the sample is too small)."""

    playbook: str
    attempts: int = 0
    verified: int = 0
    reverted: int = 0
    merged: int = 0  # fix PRs merged through their fix PR workflow
    success_rate: float | None = None
    learned: bool = False
    last_at: datetime | None = None


def success_rate(
    attempts: int, verified: int, reverted: int, min_samples: int = DEFAULT_MIN_SAMPLES
) -> float | None:
    """(verified - reverted) / attempts in [0, 1]; None below `min_samples` attempts."""
    if attempts < max(1, min_samples):
        return None
    return round(min(1.0, max(0.0, (verified - reverted) / attempts)), 3)


def stats(
    playbook: str,
    counts: dict[EventKind, int],
    min_samples: int = DEFAULT_MIN_SAMPLES,
    last_at: datetime | None = None,
) -> PlaybookStats:
    """The stats of `playbook` from its event counts."""
    attempts, verified, reverted = (
        counts.get(k, 0) for k in (EventKind.ATTEMPT, EventKind.VERIFIED, EventKind.REVERTED)
    )
    return PlaybookStats(
        playbook=playbook,
        attempts=attempts,
        verified=verified,
        reverted=reverted,
        merged=counts.get(EventKind.MERGED, 0),
        success_rate=success_rate(attempts, verified, reverted, min_samples),
        learned=playbook.startswith(LEARNED_PREFIX),
        last_at=last_at,
    )


def outcome_events(
    workflow_id: str, project: str, playbook: str | None, outcome: CIOutcome | None, attempted: bool
) -> list[PlaybookEvent]:
    """The events a finished (or progressing) run contributes: an attempt once a plan ran, verified once
    it healed. A run with no playbook, or whose plan never ran (observed, escalated before acting), adds
    nothing: it says nothing about the playbook."""
    if not playbook or not attempted:
        return []
    events = [
        PlaybookEvent(playbook=playbook, kind=EventKind.ATTEMPT, workflow_id=workflow_id, project=project)
    ]
    if outcome in PASSED:
        events.append(
            PlaybookEvent(
                playbook=playbook, kind=EventKind.VERIFIED, workflow_id=workflow_id, project=project
            )
        )
    return events


def capped_confidence(confidence: int, rate: float | None) -> int:
    """The confidence the gate compares with its floor: the diagnosis's, capped by the measured success
    rate (as a percentage) when there is one. History can lower confidence, never raise it."""
    if rate is None:
        return confidence
    return min(confidence, round(rate * 100))
