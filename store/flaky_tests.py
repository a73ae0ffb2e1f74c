"""Per-test CI history: `ci_test_outcome` (one row per run attempt and test) and `ci_flaky_test` (each
test's flakiness score, recomputed from its newest outcomes whenever one is recorded).

Outcomes are inserted with ON CONFLICT DO NOTHING ... RETURNING on their idempotency key, so a retried
activity counts once; scores are upserted on (project, test). SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Column, DateTime, Engine, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from domain.ci_healing.flakiness import HISTORY_KEPT, FlakeScore, FlakyConfig, TestOutcome, score_test
from domain.shared.times import utc
from store import statements

MAX_LISTED = 500


class TestOutcomeRecord(SQLModel, table=True):
    """One test in one attempt of one CI run (`domain.ci_healing.flakiness.TestOutcome`)."""

    __tablename__ = "ci_test_outcome"
    __test__ = False

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=600)
    project: str = Field(index=True, max_length=300)
    test: str = Field(index=True, max_length=300)
    run_key: str = Field(max_length=400)
    attempt: int = 1
    sha: str = Field(default="", max_length=64)
    on_base: bool = False
    passed: bool
    signature: str = Field(default="", max_length=300)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class FlakyTestRecord(SQLModel, table=True):
    """A test's flakiness score (`domain.ci_healing.flakiness.FlakeScore`)."""

    __tablename__ = "ci_flaky_test"
    __table_args__ = (UniqueConstraint("project", "test", name="uq_ci_flaky_test"),)

    id: int | None = Field(default=None, primary_key=True)
    project: str = Field(index=True, max_length=300)
    test: str = Field(max_length=300)
    score: float = 0.0
    flaky: bool = False
    runs: int = 0
    failures: int = 0
    flips: int = 0
    base_failures: int = 0
    reasons: str = Field(default="", max_length=1000)  # "; "-joined
    last_seen: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


def _clean(text: str, limit: int) -> str:
    return text.replace("\x00", "")[:limit]


def _history(session: Session, project: str, test: str) -> list[TestOutcome]:
    rows = session.exec(
        select(TestOutcomeRecord)
        .where(TestOutcomeRecord.project == project, TestOutcomeRecord.test == test)
        .order_by(col(TestOutcomeRecord.at).desc(), col(TestOutcomeRecord.id).desc())
        .limit(HISTORY_KEPT)
    ).all()
    return [
        TestOutcome(
            project=r.project,
            test=r.test,
            run_key=r.run_key,
            attempt=r.attempt,
            sha=r.sha,
            on_base=r.on_base,
            passed=r.passed,
            signature=r.signature,
            at=utc(r.at),
        )
        for r in rows
    ]


def record(engine: Engine, outcomes: Iterable[TestOutcome], config: FlakyConfig) -> list[FlakeScore]:
    """Store `outcomes` (a repeated one writes nothing) and return the new scores of their tests."""
    touched: dict[tuple[str, str], None] = {}
    with Session(engine) as session:
        for o in outcomes:
            project, test = _clean(o.project, 300), _clean(o.test, 300)
            values = {
                "idempotency_key": _clean(o.key, 600),
                "project": project,
                "test": test,
                "run_key": _clean(o.run_key, 400),
                "attempt": o.attempt,
                "sha": _clean(o.sha, 64),
                "on_base": o.on_base,
                "passed": o.passed,
                "signature": _clean(o.signature, 300),
                "at": statements.stored_time(engine, o.at),
            }
            statement = (
                statements.insert(engine, TestOutcomeRecord)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(TestOutcomeRecord.id)
            )
            session.exec(statement).first()
            touched[(project, test)] = None
        scores = [score_test(p, t, _history(session, p, t), config) for p, t in touched]
        for s in scores:
            _save(session, engine, s)
        session.commit()
    return scores


def _save(session: Session, engine: Engine, s: FlakeScore) -> None:
    values = {
        "project": s.project,
        "test": s.test,
        "score": s.score,
        "flaky": s.flaky,
        "runs": s.runs,
        "failures": s.failures,
        "flips": s.flips,
        "base_failures": s.base_failures,
        "reasons": _clean("; ".join(s.reasons), 1000),
        "last_seen": statements.stored_time(engine, s.last_seen) if s.last_seen else None,
    }
    insert = statements.insert(engine, FlakyTestRecord).values(**values)
    changed = {k: v for k, v in values.items() if k not in ("project", "test")}
    session.exec(insert.on_conflict_do_update(index_elements=["project", "test"], set_=changed))


def _score(r: FlakyTestRecord) -> FlakeScore:
    return FlakeScore(
        project=r.project,
        test=r.test,
        score=r.score,
        flaky=r.flaky,
        runs=r.runs,
        failures=r.failures,
        flips=r.flips,
        base_failures=r.base_failures,
        reasons=[part for part in r.reasons.split("; ") if part],
        last_seen=utc(r.last_seen) if r.last_seen else None,
    )


def scores_for(engine: Engine, project: str, tests: Iterable[str]) -> list[FlakeScore]:
    """The stored scores of `tests` in `project` (tests never recorded are absent)."""
    names = [_clean(t, 300) for t in tests]
    if not names:
        return []
    with Session(engine) as session:
        rows = session.exec(
            select(FlakyTestRecord).where(
                FlakyTestRecord.project == project, col(FlakyTestRecord.test).in_(names)
            )
        ).all()
        return [_score(r) for r in rows]


def listed(engine: Engine, project: str | None = None, limit: int = MAX_LISTED) -> list[FlakeScore]:
    """Scored tests, highest score first (of one project when given)."""
    query = select(FlakyTestRecord)
    if project:
        query = query.where(FlakyTestRecord.project == project)
    query = query.order_by(col(FlakyTestRecord.score).desc(), col(FlakyTestRecord.test)).limit(limit)
    with Session(engine) as session:
        return [_score(r) for r in session.exec(query).all()]
