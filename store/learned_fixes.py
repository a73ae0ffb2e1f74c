"""The `learned_fix` table (one row per version of a learned fix) and `learning_check` (failures examined).

Saving the same edits for a signature again is a no-op (the stored version is returned); other edits for
a known signature are a new version. A failure is examined once: its `learning_check` row says what came
of it (the learned fix's id, or why nothing was learned).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Engine, Text, UniqueConstraint, func
from sqlmodel import Field, Session, SQLModel, col, select

from domain.ci_healing.learned import EditTemplate, LearnedFix, Signature
from domain.shared.times import utc
from store import statements


class LearnedFixRecord(SQLModel, table=True):
    """One version of a learned fix (`domain.ci_healing.learned.LearnedFix`)."""

    __tablename__ = "learned_fix"
    __table_args__ = (UniqueConstraint("signature_key", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    signature_key: str = Field(index=True, max_length=64)
    version: int
    category: str = Field(max_length=40)
    ecosystem: str = Field(max_length=40)
    template: str = Field(sa_column=Column(Text, nullable=False))
    pattern: str = Field(sa_column=Column(Text, nullable=False))
    edits: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    learned_from: str = Field(default="", max_length=400)
    source_url: str = Field(default="", max_length=500)
    commits: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    disabled: bool = False
    created_at: datetime


class LearningCheckRecord(SQLModel, table=True):
    """A failure handed to a human that was examined for a fix to learn, and the result."""

    __tablename__ = "learning_check"

    workflow_id: str = Field(primary_key=True, max_length=400)
    checked_at: datetime
    learned_fix_id: int | None = None
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))


def _to_fix(row: LearnedFixRecord) -> LearnedFix:
    signature = Signature(
        template=row.template, pattern=row.pattern, category=row.category, ecosystem=row.ecosystem
    )  # type: ignore[arg-type]
    return LearnedFix(
        id=row.id,
        signature=signature,
        edits=[EditTemplate.model_validate(e) for e in row.edits],
        version=row.version,
        learned_from=row.learned_from,
        source_url=row.source_url,
        commits=row.commits,
        disabled=row.disabled,
        created_at=utc(row.created_at),
    )


def save(engine: Engine, fix: LearnedFix) -> LearnedFix:
    """Store `fix` as the next version of its signature, or return the version with the same edits."""
    key = fix.signature.key
    edits = [e.model_dump(mode="json") for e in fix.edits]
    with Session(engine) as session:
        versions = list(session.exec(select(LearnedFixRecord).where(LearnedFixRecord.signature_key == key)))
        for row in versions:
            if row.edits == edits:
                return _to_fix(row)
        values = {
            "signature_key": key,
            "version": max((r.version for r in versions), default=0) + 1,
            "category": fix.signature.category.value,
            "ecosystem": fix.signature.ecosystem.value,
            "template": fix.signature.template,
            "pattern": fix.signature.pattern,
            "edits": edits,
            "learned_from": fix.learned_from[:400],
            "source_url": fix.source_url[:500],
            "commits": fix.commits[:50],
            "disabled": False,
            "created_at": datetime.now(UTC),
        }
        statement = (
            statements.insert(engine, LearnedFixRecord)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["signature_key", "version"])
            .returning(LearnedFixRecord.id)
        )
        new_id = session.exec(statement).first()
        session.commit()
        if new_id is None:  # another worker stored this version at the same moment: read what it stored
            return save(engine, fix)
        return fix.model_copy(update={"id": new_id[0], "version": values["version"]})


def all_fixes(engine: Engine, include_disabled: bool = True) -> list[LearnedFix]:
    """Every learned fix, oldest first."""
    statement = select(LearnedFixRecord).order_by(col(LearnedFixRecord.id))
    if not include_disabled:
        statement = statement.where(col(LearnedFixRecord.disabled).is_(False))
    with Session(engine) as session:
        return [_to_fix(row) for row in session.exec(statement)]


def get(engine: Engine, fix_id: int) -> LearnedFix | None:
    with Session(engine) as session:
        row = session.get(LearnedFixRecord, fix_id)
        return _to_fix(row) if row else None


def set_disabled(engine: Engine, fix_id: int, disabled: bool = True) -> LearnedFix | None:
    """Disable (or enable again) one learned fix; None when there is no such fix."""
    with Session(engine) as session:
        row = session.get(LearnedFixRecord, fix_id)
        if row is None:
            return None
        row.disabled = disabled
        session.add(row)
        session.commit()
        session.refresh(row)
        return _to_fix(row)


def examined(engine: Engine, workflow_ids: list[str]) -> set[str]:
    """Which of these failures were examined already."""
    if not workflow_ids:
        return set()
    with Session(engine) as session:
        statement = select(LearningCheckRecord.workflow_id).where(
            col(LearningCheckRecord.workflow_id).in_(workflow_ids)
        )
        return set(session.exec(statement))


def mark_examined(engine: Engine, workflow_id: str, learned_fix_id: int | None, reason: str) -> bool:
    """Record what examining a failure gave; False when it was recorded already."""
    values = {
        "workflow_id": workflow_id,
        "checked_at": datetime.now(UTC),
        "learned_fix_id": learned_fix_id,
        "reason": reason[:2000],
    }
    statement = (
        statements.insert(engine, LearningCheckRecord)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["workflow_id"])
        .returning(LearningCheckRecord.workflow_id)
    )
    with Session(engine) as session:
        written = session.exec(statement).first() is not None
        session.commit()
        return written


def count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(LearnedFixRecord)).one()
