"""The review queue's backlog alert rule (issue 17, point 4): too many items, or one too old, once a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.ci_healing.fixpr_config import ReviewQueueConfig
from domain.ci_healing.review_messages import review_message
from domain.ci_healing.review_queue import Backlog, ReviewItem, backlog_alert

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


def test_a_queued_gitlab_mr_is_named_with_its_iid() -> None:
    """`group/project!iid` for a GitLab fix MR (in Slack, the dashboard and `mender review list`)."""
    at = datetime(2026, 12, 7, tzinfo=UTC)
    mr = ReviewItem(
        workflow_id="fixpr/acme/api/3",
        repo="acme/api",
        pr_number=3,
        pr_url="https://gitlab.example.com/acme/api/-/merge_requests/3",
        created_at=at,
    )
    pull = mr.model_copy(update={"pr_url": "https://github.com/acme/api/pull/3"})
    assert (mr.pr_ref, pull.pr_ref) == ("acme/api!3", "acme/api#3")
    assert "acme/api!3" in str(review_message(mr))
