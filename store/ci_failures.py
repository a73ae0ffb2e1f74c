"""The `ci_failure` table: one row per failed pipeline run Mender handled (the queryable projection)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Engine, Text
from sqlmodel import Field, Session, SQLModel, select

from domain.shared.redaction import redact_data


class CIFailureRecord(SQLModel, table=True):
    """Diagnosis, gate, approval and outcome of one failed run; upserted by the CI workflow."""

    __tablename__ = "ci_failure"

    workflow_id: str = Field(primary_key=True, max_length=400)  # ci/<provider>/<project>/<run_id>
    provider: str = Field(index=True, max_length=20)
    project: str = Field(index=True, max_length=300)
    run_id: int
    stage: str = Field(max_length=60)
    outcome: str | None = Field(default=None, index=True, max_length=40)
    category: str | None = Field(default=None, index=True, max_length=40)
    action: str | None = Field(default=None, max_length=40)
    risk_score: float | None = None
    tier: str | None = Field(default=None, max_length=10)
    confidence: int | None = None
    playbook: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=20)
    key_line: str | None = Field(default=None, sa_column=Column(Text))
    approver: str | None = Field(default=None, max_length=200)
    approved_at: datetime | None = None
    attempts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    auto_actions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    run_url: str = Field(default="", max_length=500)
    distilled: str = Field(default="", sa_column=Column(Text))  # redacted and bounded
    created_at: datetime
    updated_at: datetime = Field(index=True)


_FREE_TEXT = (
    "key_line",
    "distilled",
    "attempts",
    "auto_actions",
    "approver",
    "run_url",
)  # redacted when stored


def upsert_ci_failure(engine: Engine, values: dict[str, Any]) -> None:
    """Insert or update the row of `values["workflow_id"]` (idempotent: a retried write changes nothing)."""
    now = datetime.now(UTC)
    values = {**values, **{k: redact_data(values[k]) for k in _FREE_TEXT if k in values}}
    with Session(engine) as session:
        row = session.get(CIFailureRecord, values["workflow_id"])
        if row is None:
            row = CIFailureRecord(**values, created_at=now, updated_at=now)
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now
        session.add(row)
        session.commit()


def get_ci_failure(engine: Engine, workflow_id: str) -> CIFailureRecord | None:
    """The row of one CI failure workflow, if stored."""
    with Session(engine) as session:
        return session.get(CIFailureRecord, workflow_id)


def list_ci_failures(engine: Engine, project: str | None = None, limit: int = 100) -> list[CIFailureRecord]:
    """The most recently updated failures, optionally for one project."""
    with Session(engine) as session:
        query = select(CIFailureRecord).order_by(CIFailureRecord.updated_at.desc()).limit(limit)
        if project:
            query = query.where(CIFailureRecord.project == project)
        return list(session.exec(query))


def settle_review(engine: Engine, workflow_id: str, outcome: str) -> bool | None:
    """The run whose fix PR waited in the review queue (`awaiting_review`) ends as `outcome` (merged:
    approved_fixed; rejected or closed: escalated). True when changed; False for a run that ended
    otherwise (left as it is); None while the run has no outcome yet (its workflow still verifies)."""
    with Session(engine) as session:
        row = session.get(CIFailureRecord, workflow_id)
        if row is None or row.outcome is None:
            return None
        if row.outcome != "awaiting_review":
            return False
        row.outcome, row.stage, row.updated_at = outcome, outcome, datetime.now(UTC)
        session.add(row)
        session.commit()
        return True


HEALED = ("auto_fixed", "approved_fixed")


def hold_for_review(engine: Engine, workflow_id: str) -> bool | None:
    """The run whose fix PR was proposed (merged after one approval) is not healed until that merge: a
    healed run goes back to `awaiting_review` (`settle_review` ends it). True when changed; False for a
    run that ended otherwise; None while the run has no outcome yet."""
    with Session(engine) as session:
        row = session.get(CIFailureRecord, workflow_id)
        if row is None or row.outcome is None:
            return None
        if row.outcome not in HEALED:
            return False
        row.outcome, row.stage, row.updated_at = "awaiting_review", "awaiting_review", datetime.now(UTC)
        session.add(row)
        session.commit()
        return True
