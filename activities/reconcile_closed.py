"""The reconciler's look back at recently closed bot PRs.

A bot PR whose `opened` webhook was lost and that merged (or closed) before the next sweep never shows
in the list of open PRs, so the open sweep cannot find it. Each sweep therefore also lists each
repository's closed PRs, most recently updated first, back to `reconciler.closed_lookback_seconds` (at
least two sweep intervals), and stops paging there. A tracked bot PR among them that Mender never
recorded (or whose workflow is gone before its end) gets its workflow with the opening and the end
GitHub shows: it records MERGED or CLOSED, takes no action, and completes after its grace period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel

from activities.github import github_client
from contracts.sweeps import OpenPR
from domain.config import ReconcilerConfig
from domain.pr_healing.events import EventSource, EventType, PREvent, PRRef
from domain.pr_healing.facts import closed_key, github_time, merged_key, opened_key
from domain.pr_healing.lifecycle import TERMINAL_STATES
from domain.shared.times import aware
from runtime.settings import Settings

T = TypeVar("T")


class ClosedPR(BaseModel):
    """A closed or merged PR by a tracked bot, as listed by GitHub (times as GitHub wrote them)."""

    pr: PRRef
    author: str
    head_sha: str
    merged: bool
    merge_commit_sha: str | None = None
    closed_at: str | None = None
    updated_at: str | None = None
    title: str = ""
    html_url: str | None = None


def lookback_seconds(config: ReconcilerConfig) -> float:
    """How far back closed PRs are listed: the configured window, never less than two sweep intervals
    (a PR that ended just after one sweep is still in the next one's window); 0 turns it off."""
    if not config.closed_lookback_seconds:
        return 0.0
    return max(config.closed_lookback_seconds, 2 * config.interval_seconds)


def updated_since(
    items: Iterable[T], since: datetime, updated: Callable[[T], datetime | None]
) -> Iterator[T]:
    """The leading run of `items` (newest update first) updated at `since` or later. It stops at the
    first older one, so a lazily paged list is not read further; an item without a time is kept."""
    for item in items:
        at = updated(item)
        if at is not None and aware(at) < since:
            return
        yield item


def closed_bot_prs(settings: Settings, name: str, now: datetime) -> list[ClosedPR]:
    """The tracked bots' PRs of repository `name` closed or merged within the lookback window (newest
    update first). GitHub's errors are the caller's (`activities/reconcile.list_bot_prs`)."""
    seconds = lookback_seconds(settings.config.reconciler)
    if not seconds:
        return []
    since = now - timedelta(seconds=seconds)
    pulls = (
        github_client(settings, name)
        .get_repo(name)
        .get_pulls(state="closed", sort="updated", direction="desc")
    )
    found = []
    for pull in updated_since(pulls, since, lambda p: p.updated_at):
        if not settings.config.bots.tracks(pull.user.login, pull.head.ref):
            continue
        raw = pull.raw_data
        found.append(
            ClosedPR(
                pr=PRRef(repo=name, number=pull.number),
                author=pull.user.login,
                head_sha=pull.head.sha,
                merged=raw.get("merged_at") is not None,  # the list has no `merged` field
                merge_commit_sha=raw.get("merge_commit_sha"),
                closed_at=raw.get("closed_at"),
                updated_at=raw.get("updated_at"),
                title=pull.title or "",
                html_url=pull.html_url,
            )
        )
    return found


def unrecorded(closed: Iterable[ClosedPR], states: dict[str, str | None]) -> list[ClosedPR]:
    """Those of `closed` whose end Mender has not recorded: never tracked, or tracked in a state short
    of MERGED or CLOSED (its workflow is asked to look again, or restarted when it is gone)."""
    ended = {str(s) for s in TERMINAL_STATES}
    return [item for item in closed if states.get(item.pr.key) not in ended]


def opened_event(item: OpenPR | ClosedPR, now: datetime) -> PREvent:
    """The opening a PR's workflow starts with when the sweep found it, keyed as the webhook would be."""
    return PREvent(
        key=opened_key(item.head_sha),
        pr=item.pr,
        type=EventType.OPENED,
        source=EventSource.RECONCILER,
        occurred_at=now,
        head_sha=item.head_sha,
        actor=item.author,
        details={"title": item.title, "html_url": item.html_url, "author": item.author},
    )


def ending_events(item: ClosedPR, now: datetime) -> list[PREvent]:
    """The opening the workflow starts with and the end GitHub shows, keyed as the webhooks would be
    (a late webhook of either is then a duplicate)."""
    opened = opened_event(item, now)
    if item.merged:
        key, type = merged_key(item.merge_commit_sha, item.closed_at), EventType.MERGED
    else:
        key, type = closed_key(item.closed_at), EventType.CLOSED
    end = PREvent(
        key=key,
        pr=item.pr,
        type=type,
        source=EventSource.RECONCILER,
        occurred_at=now,
        head_sha=item.head_sha,
        github_at=github_time(item.updated_at),
        details=opened.details,
    )
    return [opened, end]
