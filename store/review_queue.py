"""The review queue of fix PRs (`review_queue`) and the time of its last backlog alert (`review_alert`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Engine, Text, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from domain.ci_healing.review_queue import Backlog, ReviewItem, ReviewStatus
from domain.shared.redaction import redact, redact_data
from domain.shared.times import aware_or_none


class ReviewQueueRecord(SQLModel, table=True):
    """One fix PR waiting for (or decided by) a human."""

    __tablename__ = "review_queue"

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(unique=True, max_length=400)  # fixpr/<project>/<number>
    repo: str = Field(index=True, max_length=300)
    pr_number: int
    pr_url: str = Field(default="", max_length=500)
    title: str = Field(default="", max_length=300)
    score: float = 0.0
    route: str = Field(default="review", max_length=20)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=ReviewStatus.PENDING.value, index=True, max_length=20)
    created_at: datetime = Field(index=True)
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=200)
    reason: str = Field(default="", sa_column=Column(Text))


class ReviewAlertRecord(SQLModel, table=True):
    """When the backlog alert last went out (one row)."""

    __tablename__ = "review_alert"

    key: str = Field(primary_key=True, max_length=40)
    last_alert_at: datetime


def _item(row: ReviewQueueRecord) -> ReviewItem:
    data: dict[str, Any] = row.model_dump()
    data["created_at"] = aware_or_none(row.created_at)
    data["decided_at"] = aware_or_none(row.decided_at)
    return ReviewItem.model_validate(data)


def enqueue(engine: Engine, item: ReviewItem) -> int:
    """Add `item` (idempotent per workflow id: a retried write returns the same id, status unchanged)."""
    with Session(engine) as session:
        row = session.exec(
            select(ReviewQueueRecord).where(ReviewQueueRecord.workflow_id == item.workflow_id)
        ).first()
        if row is None:
            values = item.model_dump(exclude={"id"})
            values["reasons"] = redact_data(values["reasons"])
            row = ReviewQueueRecord(**values)
            session.add(row)
            session.commit()
            session.refresh(row)
        assert row.id is not None
        return row.id


def resolve(
    engine: Engine, workflow_id: str, status: ReviewStatus, by: str | None, reason: str, at: datetime
) -> bool:
    """Record how a pending item ended; False when it was not pending (already decided or unknown)."""
    with Session(engine) as session:
        result = session.execute(
            update(ReviewQueueRecord)
            .where(ReviewQueueRecord.workflow_id == workflow_id)
            .where(ReviewQueueRecord.status == ReviewStatus.PENDING.value)
            .values(status=status.value, decided_by=by, reason=redact(reason)[:2000], decided_at=at)
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def get(engine: Engine, item_id: int) -> ReviewItem | None:
    with Session(engine) as session:
        row = session.get(ReviewQueueRecord, item_id)
        return _item(row) if row is not None else None


def items(
    engine: Engine, status: ReviewStatus | None = ReviewStatus.PENDING, limit: int = 100
) -> list[ReviewItem]:
    """Items oldest first, of one status (None: all)."""
    with Session(engine) as session:
        query = (
            select(ReviewQueueRecord)
            .order_by(ReviewQueueRecord.created_at, ReviewQueueRecord.id)
            .limit(limit)
        )
        if status is not None:
            query = query.where(ReviewQueueRecord.status == status.value)
        return [_item(row) for row in session.exec(query)]


def backlog(engine: Engine) -> Backlog:
    """Pending items, the oldest one's time, and when the last alert went out."""
    with Session(engine) as session:
        pending = ReviewQueueRecord.status == ReviewStatus.PENDING.value
        count = session.exec(select(func.count()).select_from(ReviewQueueRecord).where(pending)).one()
        oldest = session.exec(select(func.min(ReviewQueueRecord.created_at)).where(pending)).one()
        alert = session.get(ReviewAlertRecord, "backlog")
        return Backlog(
            pending=int(count),
            oldest=aware_or_none(oldest),
            last_alert=aware_or_none(alert.last_alert_at) if alert else None,
        )


def claim_alert(engine: Engine, now: datetime, period: timedelta) -> bool:
    """Take the right to send the backlog alert now: True once per `period` however many workers ask."""
    with Session(engine) as session:
        alert = session.get(ReviewAlertRecord, "backlog")
        if alert is None:
            session.add(ReviewAlertRecord(key="backlog", last_alert_at=now))
            try:
                session.commit()
            except IntegrityError:  # another worker inserted it first
                session.rollback()
                return False
            return True
        result = session.execute(
            update(ReviewAlertRecord)
            .where(ReviewAlertRecord.key == "backlog")
            .where(ReviewAlertRecord.last_alert_at <= now - period)
            .values(last_alert_at=now)
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]
