"""Idempotent writes and the reads the CLI, API and starter need. Plain functions over an Engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, func, select

from domain.pr_healing.events import PRRef
from domain.pr_healing.lifecycle import JournalEntry
from domain.shared.redaction import redact, redact_data
from store.models import PREventRecord, PullRequestRecord, WebhookDeliveryRecord


def _insert(engine: Engine, table: type[SQLModel]) -> Any:
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(engine.dialect.name)
    if dialect is None:
        raise NotImplementedError(f"upserts need SQLite or PostgreSQL, not {engine.dialect.name}")
    return dialect.insert(table)


def upsert_pr(engine: Engine, values: dict[str, Any]) -> None:
    """Insert or update one PR row keyed by `key` (created_at is kept from the first write)."""
    with Session(engine) as session:
        session.exec(pr_upsert(engine, values))
        session.commit()


def pr_upsert(engine: Engine, values: dict[str, Any]) -> Any:
    """The statement `upsert_pr` runs, for a caller that writes it in its own transaction."""
    now = datetime.now(UTC)
    row = {"created_at": now, "updated_at": now, "retry_counts": {}, **values}
    statement = _insert(engine, PullRequestRecord).values(**row)
    changed = {k: statement.excluded[k] for k in row if k not in ("key", "created_at")}
    return statement.on_conflict_do_update(index_elements=["key"], set_=changed)


def append_events(engine: Engine, entries: Sequence[JournalEntry]) -> int:
    """Append journal entries; an entry whose idempotency key is already stored is skipped."""
    if not entries:
        return 0
    with Session(engine) as session:
        written = len(session.exec(events_insert(engine, entries)).all())
        session.commit()
        return written


def events_insert(engine: Engine, entries: Sequence[JournalEntry]) -> Any:
    """The statement `append_events` runs (non-empty `entries`): it returns a row per entry written."""
    now = datetime.now(UTC)
    rows = [
        {
            "idempotency_key": f"{e.event.pr.key}:{e.event.key}",
            "pr_key": e.event.pr.key,
            "occurred_at": e.event.occurred_at,
            "recorded_at": now,
            "type": e.event.type.value,
            "source": e.event.source.value,
            "outcome": e.transition.outcome.value,
            "from_state": e.transition.from_state,
            "to_state": e.transition.to_state,
            "reason": redact(e.transition.reason),
            "payload": redact_data(
                e.event.model_dump(mode="json", include={"head_sha", "actor", "details", "key"})
            ),
        }
        for e in entries
    ]
    statement = _insert(engine, PREventRecord).values(rows)
    statement = statement.on_conflict_do_nothing(index_elements=["idempotency_key"])
    return statement.returning(PREventRecord.idempotency_key)  # the rows written (rowcount is not portable)


def list_prs(
    engine: Engine, *, state: str | None = None, repo: str | None = None, limit: int = 500, offset: int = 0
) -> list[PullRequestRecord]:
    """Tracked PRs, most recently active first (then by key, so pages are stable)."""
    query = select(PullRequestRecord)
    if state:
        query = query.where(PullRequestRecord.state == state)
    if repo:
        query = query.where(PullRequestRecord.repo == repo)
    query = query.order_by(col(PullRequestRecord.last_event_at).desc(), col(PullRequestRecord.key))
    query = query.offset(offset).limit(limit)
    with Session(engine) as session:
        return list(session.exec(query))


def get_pr(engine: Engine, pr: PRRef) -> tuple[PullRequestRecord | None, list[PREventRecord]]:
    """One PR and its event log in time order."""
    with Session(engine) as session:
        record = session.get(PullRequestRecord, pr.key)
        events = session.exec(
            select(PREventRecord)
            .where(PREventRecord.pr_key == pr.key)
            .order_by(col(PREventRecord.occurred_at), col(PREventRecord.id))
        )
        return record, list(events)


def max_pr_number(engine: Engine) -> int:
    """The highest PR number tracked in any repository (0 when none)."""
    with Session(engine) as session:
        return session.exec(select(func.max(PullRequestRecord.number))).one() or 0


def find_pr_by_head(engine: Engine, repo: str, head_sha: str) -> list[PRRef]:
    """Tracked, open PRs of `repo` whose head is `head_sha` (routes `status` webhooks)."""
    query = select(PullRequestRecord).where(
        PullRequestRecord.repo == repo,
        PullRequestRecord.head_sha == head_sha,
        col(PullRequestRecord.state).not_in(["MERGED", "CLOSED"]),
    )
    with Session(engine) as session:
        return [PRRef(repo=r.repo, number=r.number) for r in session.exec(query)]


def record_delivery(engine: Engine, record: WebhookDeliveryRecord) -> bool:
    """Store a delivery; False when its id was already stored (a redelivery)."""
    values = {**record.model_dump(), "reason": redact(record.reason)}
    statement = _insert(engine, WebhookDeliveryRecord).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=["delivery_id"])
    statement = statement.returning(WebhookDeliveryRecord.delivery_id)  # rowcount is not portable
    with Session(engine) as session:
        written = session.exec(statement).first() is not None
        session.commit()
        return written


def record_deliveries(engine: Engine, records: list[WebhookDeliveryRecord]) -> int:
    """Store a batch of deliveries in one transaction; ids already stored are skipped. How many were new."""
    if not records:
        return 0
    statement = _insert(engine, WebhookDeliveryRecord).values([r.model_dump() for r in records])
    statement = statement.on_conflict_do_nothing(index_elements=["delivery_id"])
    statement = statement.returning(WebhookDeliveryRecord.delivery_id)  # rowcount is not portable
    with Session(engine) as session:
        written = len(session.exec(statement).all())
        session.commit()
        return written


def delivery_seen(engine: Engine, delivery_id: str) -> bool:
    """True if this delivery id was already handled."""
    with Session(engine) as session:
        return session.get(WebhookDeliveryRecord, delivery_id) is not None
