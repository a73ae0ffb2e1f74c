"""End to end: the simulator opens bot PRs, its CI and bots act, signed webhooks reach the starter,
one Temporal workflow per PR follows each to MERGED, and the store and visibility agree."""

from __future__ import annotations

from temporalio.client import Client

from domain.pr_healing.events import PRRef
from domain.pr_healing.lifecycle import PRState
from runtime.settings import Settings
from store import repository
from store.db import engine_for
from tests.support.events import eventually
from tests.support.world import mender_world

SCENARIO = {
    "seed": 11,
    "repos": ["acme/api", "acme/web"],
    "timing": {
        "ci_start_seconds": 0.1,
        "ci_seconds": 0.2,
        "bot_delay_seconds": 0.1,
        "open_interval_seconds": 0.05,
    },
    "prs": [{"count": 3, "faults": []}, {"count": 1, "author": "renovate[bot]"}],
}
TOTAL = 4


async def test_healthy_bot_prs_flow_to_merged(client: Client, settings: Settings) -> None:
    async with mender_world(client, settings) as world:
        response = await world.http.post(f"{world.sim_url}/_sim/scenario", json=SCENARIO)
        assert response.status_code == 202, response.text

        def all_merged(report: dict) -> bool:
            return len(report["prs"]) == TOTAL and all(p["state"] == "merged" for p in report["prs"])

        report = await eventually(world.report, all_merged, timeout=60)
        prs = [PRRef(repo=p["repo"], number=p["number"]) for p in report["prs"]]
        for pr in prs:
            status = await eventually(
                lambda pr=pr: world.status(pr.repo, pr.number), lambda s: s.state is PRState.MERGED
            )
            path = [e.transition.to_state for e in status.recent_events if e.transition.outcome == "applied"]
            assert path[0] is PRState.CREATED and path[-1] is PRState.MERGED
            assert PRState.APPROVED in path
            # a healthy PR is never touched
            assert status.retry_counts == {}

        engine = engine_for(settings.database_url)

        async def stored_states() -> list[str | None]:
            return [r.state for r in repository.list_prs(engine)]

        assert await eventually(stored_states, lambda s: sorted(s) == ["MERGED"] * TOTAL)
        for pr in prs:
            _, events = repository.get_pr(engine, pr)
            types = [e.type for e in events]
            for expected in (
                "opened",
                "checks_started",
                "checks_passed",
                "policy_passed",
                "approved",
                "merged",
            ):
                assert expected in types, (pr.key, types)
            assert "remediation" not in types

        async def merged_in_visibility() -> set[str]:
            return {w.id async for w in client.list_workflows("MenderState='MERGED'")}

        await eventually(merged_in_visibility, lambda found: {p.workflow_id for p in prs} <= found)
        github = world.github()
        for pr in prs:
            assert github.get_repo(pr.repo).get_pull(pr.number).merged
