"""The review queue's backlog alert rule (issue 17, point 4): too many items, or one too old, once a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.ci_healing.fixpr_config import ReviewQueueConfig
from domain.ci_healing.review_queue import Backlog, backlog_alert

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CONFIG = ReviewQueueConfig(backlog_items=3, backlog_age_hours=72, alert_period_hours=24)


@pytest.mark.parametrize(
    ("pending", "oldest_hours", "last_alert_hours", "alert"),
    [
        (2, 10, None, False),
        (3, 1, None, True),  # too many
        (1, 72, None, True),  # too old
        (0, 0, None, False),
        (5, 100, 23, False),  # alerted within the period
        (5, 100, 24, True),
    ],
)
def test_backlog_alert_rule(
    pending: int, oldest_hours: float, last_alert_hours: float | None, alert: bool
) -> None:
    backlog = Backlog(
        pending=pending,
        oldest=NOW - timedelta(hours=oldest_hours) if pending else None,
        last_alert=NOW - timedelta(hours=last_alert_hours) if last_alert_hours is not None else None,
    )
    text = backlog_alert(backlog, NOW, CONFIG)
    assert (text is not None) is alert
    if text:
        assert f"{pending} fix PR(s)" in text and "mender review list" in text
