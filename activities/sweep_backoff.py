"""The sweeps' memory of their bad sources (a repository or CI project GitHub or GitLab refuses).

Kept in the store (`store/source_backoffs.py`), so every worker sees it and a restart keeps it: a
source that failed waits its backoff (`domain.shared.backoff`) before it is tried again, and each
failure is reported: a log line, the `mender_source_failures_total` metric and a
`<sweep>.source_failed` audit row; `mender doctor` shows the backoff. One success clears it. A store
that cannot be read is not a reason to skip a source: it is tried (and the store's failure logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from domain.shared import backoff
from runtime import metrics
from runtime.settings import get_settings
from store import audit as audit_store
from store import source_backoffs
from store.db import engine_for

log = logging.getLogger("mender.activities.sweeps")

REASON_LIMIT = 300  # characters of an error's text kept in a sweep's report


def failure_reason(exc: BaseException) -> str:
    """An error as a sweep reports it: its type and the start of its text."""
    return f"{type(exc).__name__}: {str(exc)[:REASON_LIMIT]}"


class SourceBackoffs:
    """`audit_name` names the sweep (its rows, `<audit_name>.source_failed` audits), `metric_name` the
    metric label."""

    def __init__(
        self, audit_name: str, metric_name: str, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.audit_name, self.metric_name = audit_name, metric_name
        self.clock = clock or (lambda: datetime.now(UTC))

    @property
    def states(self) -> dict[str, backoff.Backoff]:
        """Every source this sweep backs off from (as stored; empty when the store cannot be read)."""
        try:
            return source_backoffs.of_sweep(_engine(), self.audit_name)
        except SQLAlchemyError as exc:
            log.warning("%s: backoffs not read: %s", self.audit_name, type(exc).__name__)
            return {}

    def backing_off(self, sources: Iterable[str], now: datetime) -> list[str]:
        """Those of `sources` whose backoff is not over at `now` (one read)."""
        states = self.states
        return [s for s in sources if not backoff.due(states.get(s), now)]

    def succeeded(self, *sources: str) -> None:
        """`sources` answered: their backoff is over."""
        try:
            source_backoffs.clear(_engine(), self.audit_name, list(sources))
        except SQLAlchemyError as exc:
            log.warning("%s: backoffs not cleared: %s", self.audit_name, type(exc).__name__)

    def failed(
        self, source: str, reason: str, now: datetime, base: float, repository: str | None = None
    ) -> backoff.Backoff:
        """One more failure in a row of `source`: its next try waits longer; stored, reported, audited."""
        state = backoff.failed(self.states.get(source), now, reason, base)
        engine = _engine()
        try:
            source_backoffs.put(engine, self.audit_name, source, state, repository)
        except SQLAlchemyError as exc:  # tried again at the next sweep; the log and the audit say it
            log.warning("%s: backoff of %s not stored: %s", self.audit_name, source, type(exc).__name__)
        log.warning(
            "%s: %s failed (%d in a row), next try at %s: %s",
            self.audit_name,
            source,
            state.failures,
            state.retry_at,
            reason,
        )
        metrics.source_failed(self.metric_name)
        entry = backoff.audit_entry(self.audit_name, source, state, now, repository)
        try:
            audit_store.record(engine, entry)
        except SQLAlchemyError as exc:  # the report and the log still say it
            log.warning("%s: audit of %s not recorded: %s", self.audit_name, source, type(exc).__name__)
        return state


def _engine() -> Engine:
    return engine_for(get_settings().database_url)
