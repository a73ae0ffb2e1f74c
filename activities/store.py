"""Store activities: idempotent upserts of the PR projection and its append-only event log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from temporalio import activity

from domain.events import PRRef
from domain.lifecycle import JournalEntry, PRLifecycle
from runtime.settings import get_settings
from store import repository
from store.db import engine_for


class PRRecordUpdate(BaseModel):
    """The PR's current projection plus the new lines of its event log."""

    pr: PRRef
    state: str | None
    head_sha: str | None
    last_event_at: datetime | None
    invalid_count: int = 0
    retry_counts: dict[str, int] = Field(default_factory=dict)
    expires_at: datetime | None = None
    entries: list[JournalEntry] = Field(default_factory=list)

    @classmethod
    def of(
        cls, lifecycle: PRLifecycle, entries: list[JournalEntry], expires_at: datetime | None = None
    ) -> PRRecordUpdate:
        return cls(
            pr=lifecycle.pr,
            state=lifecycle.state,
            head_sha=lifecycle.head_sha,
            last_event_at=lifecycle.last_event_at,
            invalid_count=lifecycle.invalid_count,
            retry_counts=dict(lifecycle.retry_counts),
            expires_at=expires_at,
            entries=entries,
        )


@activity.defn(name="store.record_pr")
def record_pr(update: PRRecordUpdate) -> int:
    """Upsert the PR row and append its new events; returns how many events were new."""
    engine = engine_for(get_settings().database_url)
    repository.upsert_pr(
        engine,
        {
            "key": update.pr.key,
            "repo": update.pr.repo,
            "number": update.pr.number,
            "head_sha": update.head_sha,
            "state": update.state,
            "last_event_at": update.last_event_at,
            "invalid_events": update.invalid_count,
            "retry_counts": update.retry_counts,
            "expires_at": update.expires_at,
        },
    )
    return repository.append_events(engine, update.entries)
