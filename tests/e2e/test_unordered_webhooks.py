"""GitHub promises neither order nor exactly-once: with webhooks reordered and duplicated by the
simulator, bot PRs (healthy, flaky, behind their base) still flow to MERGED, each exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from domain.pr_healing.lifecycle import PRState
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
        {"type": "webhook_reorder", "rate": 0.4, "max_delay_seconds": 0.8},
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
        for row in report["prs"]:
            status = await eventually(
                lambda row=row: world.status(row["repo"], row["number"]), lambda s: s.state is PRState.MERGED
            )
            assert status.state is PRState.MERGED
        log = world.sim.deliverer.log
        assert any(record.attempts > 1 for record in log), "some deliveries were duplicated"
        sent = [record.sent_order for record in log if record.sent_order is not None]
        assert sent != sorted(sent), "some deliveries were overtaken by later ones"
