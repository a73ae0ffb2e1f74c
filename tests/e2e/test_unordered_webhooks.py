"""GitHub promises neither order nor exactly-once: with webhooks reordered and duplicated by the
simulator, bot PRs (healthy, flaky, behind their base) still flow to MERGED, each exactly once, and no
late webhook rolled a PR back: the facts applied from each family (the PR, each check suite, the policy
status) follow GitHub's time, whatever order they arrived in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from temporalio.client import Client

from domain.pr_healing.lifecycle import JournalEntry, PRState, TransitionOutcome, family
from runtime.settings import Settings, set_settings
from tests.support.events import eventually
from tests.support.stack import make_settings, quick_lifecycle
from tests.support.world import mender_world

SCENARIO = {
    "seed": 5,
    "repos": ["acme/api"],
    "timing": {
        "ci_start_seconds": 0.1,
        "ci_seconds": 0.3,
        "bot_delay_seconds": 0.1,
        "open_interval_seconds": 0.1,
    },
    "prs": [{"count": 2}, {"count": 1, "faults": ["flaky_checks"]}, {"count": 1, "faults": ["behind_base"]}],
    "world_faults": [
        {"type": "webhook_reorder", "rate": 0.6, "max_delay_seconds": 0.8},
        {"type": "webhook_duplicate", "rate": 0.3},
    ],
}
TOTAL = 4


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Act mode; a PR whose state does not move for a second is refreshed from GitHub."""
    yield make_settings(tmp_path, mode="act", lifecycle=quick_lifecycle())
    set_settings(None)


async def test_reordered_and_duplicated_webhooks_still_heal_every_pr(
    client: Client, settings: Settings
) -> None:
    async with mender_world(client, settings) as world:
        response = await world.http.post(f"{world.sim_url}/_sim/scenario", json=SCENARIO)
        assert response.status_code == 202, response.text

        def all_merged(report: dict) -> bool:
            return len(report["prs"]) == TOTAL and all(p["state"] == "merged" for p in report["prs"])

        report = await eventually(world.report, all_merged, timeout=120)
        checked = 0
        for row in report["prs"]:
            status = await eventually(
                lambda row=row: world.status(row["repo"], row["number"]), lambda s: s.state is PRState.MERGED
            )
            assert status.state is PRState.MERGED
            checked += assert_never_rolled_back(status.recent_events)
        # not vacuous: each PR's opening and its checks' result at least (a start that came after its
        # suite's completion is rightly judged stale, so it is not counted)
        assert checked >= TOTAL * 2
        log = world.sim.deliverer.log
        assert any(record.attempts > 1 for record in log), "some deliveries were duplicated"
        sent = [record.sent_order for record in log if record.sent_order is not None]
        assert sent != sorted(sent), "some deliveries were overtaken by later ones"


def assert_never_rolled_back(journal: list[JournalEntry]) -> int:
    """Per family, the GitHub times of the applied facts never go back (a late one is judged stale);
    how many applied facts were checked."""
    newest: dict[str, datetime] = {}
    checked = 0
    for entry in journal:
        event, name = entry.event, family(entry.event)
        if name is None or entry.transition.outcome is not TransitionOutcome.APPLIED:
            continue
        if event.type.value == "synchronize":
            newest = {k: v for k, v in newest.items() if k == "pr"}  # suites and statuses are per head
        assert event.github_at is not None
        known, done = newest.get(name), newest.get(f"{name}:done")
        assert known is None or event.github_at >= known, (
            f"{entry.summary()} applied after a newer {name} fact"
        )
        restarted = event.type.value == "checks_started" and done is not None and event.github_at <= done
        assert not restarted, f"{entry.summary()} applied after its suite completed"
        newest[name] = event.github_at
        if event.type.value in ("checks_passed", "checks_failed"):
            newest[f"{name}:done"] = event.github_at
        checked += 1
    return checked
