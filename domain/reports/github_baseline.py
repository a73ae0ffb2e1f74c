"""A bot PR's history as GitHub alone tells it (before Mender ran): the baseline from repository history.

Without Mender's journal the states are unknown, so a PR *stalled* when it stayed open longer than
`stale_after_hours`; its failure mode is what got it moving: a human commit, a human comment, a close
without merge, or nothing visible (a slow merge). Time to detect is the first human touch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from domain.reports.history import PRHistory, Stall

NEEDED_CODE = "needed a human commit"
NEEDED_COMMENT = "needed a human comment"
CLOSED = "closed without merge"
SLOW = "slow merge"
SEVERITIES = ("critical", "high", "moderate", "low")


def severity_of(labels: Sequence[str], title: str) -> str | None:
    """`severity:<level>` or a bare level label on a security PR; `high` for an unlabelled one."""
    names = [label.lower() for label in labels]
    for name in names:
        level = name.removeprefix("severity:").strip()
        if level in SEVERITIES and (name.startswith("severity:") or "security" in names):
            return level
    return "high" if "security" in names or "[security]" in title.lower() else None


def from_github(
    key: str,
    repo: str,
    opened_at: datetime,
    merged_at: datetime | None,
    closed_at: datetime | None,
    human_commits: Sequence[datetime],
    human_comments: Sequence[datetime],
    severity: str | None,
    now: datetime,
    stale_after_hours: float,
) -> PRHistory:
    """One PR's history from its GitHub facts (closed_at is ignored when merged)."""
    ended = merged_at or closed_at
    touches = sorted([*human_commits, *human_comments])
    limit = timedelta(hours=stale_after_hours)
    stalls: tuple[Stall, ...] = ()
    if (ended or now) - opened_at > limit:
        if human_commits:
            mode = NEEDED_CODE
        elif merged_at is None and closed_at is not None:
            mode = CLOSED
        elif human_comments:
            mode = NEEDED_COMMENT
        else:
            mode = SLOW
        detected = touches[0] if touches else opened_at + limit
        stalls = (Stall(mode, opened_at, detected, ended, escalated=False),)
    return PRHistory(
        key=key,
        repo=repo,
        opened_at=opened_at,
        merged_at=merged_at,
        closed_at=None if merged_at else closed_at,
        state="MERGED" if merged_at else "CLOSED" if closed_at else None,
        stalls=stalls,
        human_touched=bool(touches),
        severity=severity,
    )
