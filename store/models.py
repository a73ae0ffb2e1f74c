"""SQLModel tables: PR state, the append-only PR event log, and the webhook delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class PullRequestRecord(SQLModel, table=True):
    """Current state of one tracked PR, upserted by the lifecycle workflow's activities."""

    __tablename__ = "pull_request"
    __table_args__ = (UniqueConstraint("repo", "number"),)

    key: str = Field(primary_key=True, max_length=300)  # owner/repo#N
    repo: str = Field(index=True, max_length=250)
    number: int
    head_sha: str | None = Field(default=None, index=True, max_length=64)
    state: str | None = Field(default=None, index=True, max_length=40)
    last_event_at: datetime | None = Field(default=None, index=True)
    retry_counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    invalid_events: int = 0
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = Field(default=None, index=True)


class PREventRecord(SQLModel, table=True):
    """One fact about a PR and what it did. Append-only; `idempotency_key` makes writes idempotent."""

    __tablename__ = "pr_event"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=400)
    pr_key: str = Field(index=True, max_length=300)
    occurred_at: datetime = Field(index=True)
    recorded_at: datetime
    type: str = Field(index=True, max_length=40)
    source: str = Field(max_length=20)
    outcome: str = Field(max_length=20)
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str | None = Field(default=None, max_length=40)
    reason: str = ""
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class WebhookDeliveryRecord(SQLModel, table=True):
    """Every webhook delivery the starter accepted or ignored (rejected ones are logged only)."""

    __tablename__ = "webhook_delivery"

    delivery_id: str = Field(primary_key=True, max_length=100)
    provider: str = Field(default="github", max_length=20)
    event: str = Field(max_length=60)
    action: str | None = Field(default=None, max_length=60)
    received_at: datetime = Field(index=True)
    outcome: str = Field(max_length=20)
    reason: str = ""
