"""Idempotent writes and the reads the CLI, API and starter need. Plain functions over an Engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from domain.pr_healing.events import PRRef
from domain.pr_healing.lifecycle import JournalEntry
from domain.shared.redaction import redact, redact_data
from store import statements
from store.models import PREventRecord, PullRequestRecord, WebhookDeliveryRecord

PR_ROW_KEPT = ("key", "created_at")  # an upsert keeps the first write's


def upsert_pr(engine: Engine, values: dict[str, Any]) -> None:
    """Insert or update one PR row keyed by `key` (created_at is kept from the first write)."""
    with engine.begin() as connection:
        connection.execute(*pr_upsert(engine, values))


def pr_upsert(engine: Engine, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The statement `upsert_pr` runs and its row, for a caller that writes it in its own transaction."""
    now = datetime.now(UTC)
    row = {"created_at": now, "updated_at": now, "retry_counts": {}, **values}
    table = PullRequestRecord.__table__
    return statements.insert_updating(engine, table, "key", tuple(row), kept=PR_ROW_KEPT), row  # type: ignore[arg-type]


def append_events(engine: Engine, entries: Sequence[JournalEntry]) -> int:
    """Append journal entries; an entry whose idempotency key is already stored is skipped."""
    if not entries:
        return 0
    with engine.begin() as connection:
        return len(connection.execute(*events_insert(engine, entries)).all())


def events_insert(engine: Engine, entries: Sequence[JournalEntry]) -> tuple[Any, list[dict[str, Any]]]:
    """The statement `append_events` runs and its rows (non-empty `entries`): it returns a row per entry
    written."""
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
    table = PREventRecord.__table__
    return statements.insert_ignoring(engine, table, "idempotency_key", "idempotency_key"), rows  # type: ignore[arg-type]


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


def pr_states(engine: Engine, keys: Sequence[str]) -> dict[str, str | None]:
    """The stored state of each of `keys` that is tracked (an untracked key is absent)."""
    found: dict[str, str | None] = {}
    with Session(engine) as session:
        for start in range(0, len(keys), 500):  # bounded IN lists
            query = select(PullRequestRecord.key, PullRequestRecord.state).where(
                col(PullRequestRecord.key).in_(keys[start : start + 500])
            )
            found.update({key: state for key, state in session.exec(query)})
    return found


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
    with engine.begin() as connection:
        return connection.execute(_delivery_insert(engine), values).first() is not None


def record_deliveries(engine: Engine, records: Sequence[WebhookDeliveryRecord | Mapping[str, Any]]) -> int:
    """Store a batch of deliveries (records, or rows with every column of one) in one transaction; ids
    already stored are skipped. How many were new."""
    if not records:
        return 0
    rows = [r if isinstance(r, Mapping) else r.model_dump() for r in records]
    with engine.begin() as connection:
        return len(connection.execute(_delivery_insert(engine), rows).all())


def _delivery_insert(engine: Engine) -> Any:
    table = WebhookDeliveryRecord.__table__
    return statements.insert_ignoring(engine, table, "delivery_id", "delivery_id")  # type: ignore[arg-type]


def delivery_seen(engine: Engine, delivery_id: str) -> bool:
    """True if this delivery id was already handled."""
    with Session(engine) as session:
        return session.get(WebhookDeliveryRecord, delivery_id) is not None
