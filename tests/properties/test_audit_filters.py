"""`store.audit.query` returns exactly the rows a plain Python filter selects, in the same order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from domain.shared.audit import AuditEntry, AuditFilter, AuditRow
from store import audit

BASE = datetime(2026, 3, 1, 12, tzinfo=UTC)
# Few distinct values, so filters hit, rows tie on `at`, and boundaries (since/until) are exercised.
TIMES = [BASE + timedelta(minutes=m, microseconds=us) for m in (0, 1, 90) for us in (0, 1)]
ZONES = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7, minutes=-30))]
ACTORS, ACTIONS = ["alice", "ci-bot", "mender"], ["api.call", "pr.command", "breaker.change"]
OUTCOMES, REPOS = ["2xx", "4xx", "accepted", "failed"], ["acme/api", "acme/web", None]
TARGETS = ["acme/api#1", "acme/web#2", "/api/audit"]


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """One of TIMES, in any of ZONES (the same instant, written differently)."""
    return draw(st.sampled_from(TIMES)).astimezone(draw(st.sampled_from(ZONES)))


entries = st.builds(
    AuditEntry,
    action=st.sampled_from(ACTIONS),
    actor=st.sampled_from(ACTORS),
    outcome=st.sampled_from(OUTCOMES),
    target=st.sampled_from(TARGETS),
    repository=st.sampled_from(REPOS),
    source=st.sampled_from(["api", "workflow", "comment"]),
    details=st.dictionaries(st.sampled_from(["n", "why"]), st.integers(-5, 5) | st.text(max_size=5)),
    error=st.none() | st.text(max_size=10),
    idempotency_key=st.none() | st.sampled_from(["k1", "k2", "k3"]),
    at=instants(),
)
filters = st.builds(
    AuditFilter,
    since=st.none() | instants(),
    until=st.none() | instants(),
    repository=st.none() | st.sampled_from([r for r in REPOS if r] + ["acme/none"]),
    action=st.none() | st.sampled_from(ACTIONS),
    outcome=st.none() | st.sampled_from(OUTCOMES),
    actor=st.none() | st.sampled_from(ACTORS),
    target=st.none() | st.sampled_from(TARGETS),
    limit=st.integers(1, 12),
    offset=st.integers(0, 6),
)


def stored(batch: list[AuditEntry]) -> list[AuditRow]:
    """What the table should hold: entries in insertion order, a repeated idempotency key skipped."""
    rows, keys = [], set()
    for entry in batch:
        if entry.idempotency_key is not None:
            if entry.idempotency_key in keys:
                continue
            keys.add(entry.idempotency_key)
        rows.append(
            AuditRow(id=len(rows) + 1, **entry.model_dump(mode="python", exclude={"at"}), at=entry.at)
        )
    return rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(entries, max_size=15), where=st.lists(filters, min_size=1, max_size=4))
def test_query_selects_what_a_python_filter_selects(
    batch: list[AuditEntry], where: list[AuditFilter]
) -> None:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    SQLModel.metadata.create_all(engine, tables=[audit.AuditLogRecord.__table__])  # type: ignore[list-item]
    inserted = [audit.record(engine, entry) for entry in batch]
    table = stored(batch)
    assert sum(inserted) == len(table)
    for f in where:
        newest_first = sorted((r for r in table if f.matches(r)), key=lambda r: (r.at, r.id), reverse=True)
        assert audit.query(engine, f) == newest_first[f.offset : f.offset + f.limit]
    engine.dispose()
