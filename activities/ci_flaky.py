"""The per-test CI history (`store.flaky_tests`): write one attempt's test outcomes, read their scores.

Best effort on the write: a store that cannot answer leaves the history as it was (logged); the read
fails the activity, and the CI decider goes on without history (`domain.ci_healing.flake_steps`).
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from activities.definition import defn
from contracts.ci import FlakeQuery
from domain.ci_healing.flakiness import FlakeHistory, TestReport
from runtime.settings import get_settings
from store import flaky_tests
from store.db import engine_for

log = logging.getLogger(__name__)


@defn(name="store.record_tests")
def record_tests(report: TestReport) -> None:
    """Store the outcomes of one attempt's tests and rescore them."""
    settings = get_settings()
    try:
        scores = flaky_tests.record(
            engine_for(settings.database_url), report.outcomes(), settings.config.ci.flaky
        )
    except SQLAlchemyError as exc:
        log.warning("test outcomes of %s not recorded (%s)", report.run_key, type(exc).__name__)
        return
    flaky = [f"{s.test} ({s.score:g})" for s in scores if s.flaky]
    if flaky:
        log.info("flaky tests in %s: %s", report.project, ", ".join(flaky[:10]))


@defn(name="ci.flake_history")
def flake_history(query: FlakeQuery) -> FlakeHistory:
    """The stored scores of the failed tests (tests never recorded are absent)."""
    engine = engine_for(get_settings().database_url)
    return FlakeHistory(scores=flaky_tests.scores_for(engine, query.project, query.tests))


FLAKY_ACTIVITIES = [record_tests, flake_history]
