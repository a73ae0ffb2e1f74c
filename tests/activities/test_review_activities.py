"""The review queue's activities, called directly: the backlog alert reaches Slack once per period, and
a queued fix PR is announced with Approve/Reject buttons (the Slack simulator over real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.review import announce, backlog, enqueue, hold_run, settle_run
from contracts.fixpr import SettleArgs
from domain.ci_healing.review_queue import ReviewItem
from runtime.metrics import REGISTRY
from runtime.settings import Settings, set_settings
from simulators.slack import SlackSimulator
from store import ci_failures
from store.db import engine_for
from tests.support.stack import make_settings


@pytest.fixture
def url(slack_served: tuple[SlackSimulator, str]) -> str:
    slack_served[0].reset()
    return slack_served[1]


@pytest.fixture
def settings(tmp_path: Path, url: str) -> Iterator[Settings]:
    review = {"backlog_items": 3, "backlog_age_hours": 72, "alert_period_hours": 24, "channel": "#mender-ci"}
    yield make_settings(tmp_path, slack={"simulator_url": f"{url}/api/"}, ci={"fix_prs": {"review": review}})
    set_settings(None)


def outcome_changes(before: str, after: str) -> float:
    """`mender_ci_outcome_changes_total`: stored outcomes changed after the CI workflow ended."""
    labels = {"from_outcome": before, "to_outcome": after}
    return REGISTRY.get_sample_value("mender_ci_outcome_changes_total", labels) or 0.0


def posted(url: str, channel: str) -> list[dict[str, Any]]:
    return httpx.get(f"{url}/_sim/messages", params={"channel": channel}).json()["messages"]


def item(n: int, hours_ago: float = 0, route: str = "review") -> ReviewItem:
    return ReviewItem(
        workflow_id=f"fixpr/acme/api/{n}",
        repo="acme/api",
        pr_number=n,
        pr_url=f"https://github.com/acme/api/pull/{n}",
        title="Add missing dependency PyYAML",
        score=0.72,
        route=route,
        reasons=["confidence 0.72 < 0.80"],
        created_at=datetime.now(UTC) - timedelta(hours=hours_ago),
    )


def test_backlog_alert_goes_out_once_the_queue_is_long_and_once_per_period(
    settings: Settings, url: str
) -> None:
    enqueue(item(1))
    enqueue(item(2))
    assert backlog() is False and posted(url, "mender-ci") == []  # 2 items, none old
    enqueue(item(3))
    assert backlog() is True
    assert backlog() is False  # at most once per period
    [alert] = posted(url, "mender-ci")
    assert "3 fix PR(s) wait for review" in alert["text"]


def test_an_old_item_alone_raises_the_alert(settings: Settings, url: str) -> None:
    enqueue(item(7, hours_ago=80))
    assert backlog() is True
    assert "the oldest for 80 h" in posted(url, "mender-ci")[0]["text"]


def test_a_queued_fix_is_announced_with_buttons_unless_blocked(settings: Settings, url: str) -> None:
    announce(item(4))
    announce(item(5, route="blocked"))
    queued, blocked = posted(url, "mender-ci")
    assert "acme/api#4" in queued["text"] and "fixpr/acme/api/4" in str(queued["blocks"])
    assert "mender_approve" in str(queued["blocks"]) and "mender_reject" in str(queued["blocks"])
    assert "mender_approve" not in str(blocked["blocks"])  # a blocked fix is never merged by Mender


@pytest.mark.parametrize(("stored", "changes"), [("awaiting_review", True), ("auto_fixed", False)])
def test_settle_run_ends_only_a_run_awaiting_its_review(
    settings: Settings, stored: str, changes: bool
) -> None:
    """Issue 17: the run of a queued fix PR stays `awaiting_review` (not healed) until the fix PR ends."""
    engine = engine_for(settings.database_url)
    row = {"workflow_id": "ci/github/acme/api/7", "provider": "github", "project": "acme/api", "run_id": 7}
    ci_failures.upsert_ci_failure(engine, {**row, "stage": stored, "outcome": stored})
    args = SettleArgs(workflow_id="ci/github/acme/api/7", outcome="approved_fixed")
    counted = outcome_changes("awaiting_review", "approved_fixed")
    assert settle_run(args) is changes
    assert settle_run(args) is False  # settled once
    assert (
        outcome_changes("awaiting_review", "approved_fixed") == counted + changes
    )  # the metric follows the row
    after = ci_failures.get_ci_failure(engine, "ci/github/acme/api/7")
    assert after is not None and after.outcome == ("approved_fixed" if changes else stored)
    with pytest.raises(ApplicationError) as running:  # retried until the CI workflow has recorded its end
        settle_run(SettleArgs(workflow_id="ci/github/acme/api/8", outcome="escalated"))
    assert not running.value.non_retryable


@pytest.mark.parametrize(
    ("stored", "held"),
    [("auto_fixed", True), ("approved_fixed", True), ("escalated", False), ("awaiting_review", False)],
)
def test_hold_run_keeps_a_proposed_fix_run_from_counting_as_healed(
    settings: Settings, stored: str, held: bool
) -> None:
    """Issue 17: a proposed fix PR (merged after one approval) is not merged yet: its healed run waits."""
    engine = engine_for(settings.database_url)
    workflow_id = f"ci/github/acme/api/{stored}"
    row = {"workflow_id": workflow_id, "provider": "github", "project": "acme/api", "run_id": 9}
    ci_failures.upsert_ci_failure(engine, {**row, "stage": stored, "outcome": stored})
    counted = outcome_changes(stored, "awaiting_review")
    assert hold_run(workflow_id) is held
    assert (
        outcome_changes(stored, "awaiting_review") == counted + held
    )  # a healed run no longer counted healed
    after = ci_failures.get_ci_failure(engine, workflow_id)
    assert after is not None and after.outcome == ("awaiting_review" if held else stored)
    if held:  # the fix PR's end settles it like a queued one
        assert settle_run(SettleArgs(workflow_id=workflow_id, outcome="approved_fixed")) is True
    with pytest.raises(ApplicationError) as running:  # retried until the CI workflow has recorded its end
        hold_run("ci/github/acme/api/unrecorded")
    assert not running.value.non_retryable
