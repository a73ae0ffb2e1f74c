"""The sweeps' memory of their bad sources (a repository or CI project GitHub or GitLab refuses).

One per sweep and worker: a source that failed waits its backoff (`domain.shared.backoff`) before it is
tried again, and each failure is reported: a log line, the `mender_source_failures_total` metric and a
`<sweep>.source_failed` audit row (`mender doctor` shows them). One success clears it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from domain.shared import backoff
from runtime import metrics
from runtime.settings import get_settings
from store import audit as audit_store
from store.db import engine_for

log = logging.getLogger("mender.activities.sweeps")


class SourceBackoffs:
    """`audit_name` names the audit action (`<audit_name>.source_failed`), `metric_name` the metric label."""

    def __init__(
        self, audit_name: str, metric_name: str, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.audit_name, self.metric_name = audit_name, metric_name
        self.clock = clock or (lambda: datetime.now(UTC))
        self.states: dict[str, backoff.Backoff] = {}

    def due(self, source: str, now: datetime) -> bool:
        return backoff.due(self.states.get(source), now)

    def succeeded(self, source: str) -> None:
        self.states.pop(source, None)

    def failed(
        self, source: str, reason: str, now: datetime, base: float, repository: str | None = None
    ) -> backoff.Backoff:
        """One more failure in a row of `source`: its next try waits longer; reported and audited."""
        state = backoff.failed(self.states.get(source), now, reason, base)
        self.states[source] = state
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
            audit_store.record(engine_for(get_settings().database_url), entry)
        except SQLAlchemyError as exc:  # the report and the log still say it
            log.warning("%s: audit of %s not recorded: %s", self.audit_name, source, type(exc).__name__)
        return state
