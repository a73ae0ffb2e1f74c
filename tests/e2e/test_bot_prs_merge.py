"""End to end: the simulator opens bot PRs, its CI and bots act, signed webhooks reach the starter,
one Temporal workflow per PR follows each to MERGED, and the store and visibility agree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from github import Auth, Github
from temporalio.client import Client

from domain.events import PRRef
from domain.lifecycle import PRState
from runtime.dispatch import EventDispatcher
from runtime.serving import ServerThread
from runtime.settings import Settings
from simulators.github import Simulator, SimulatorConfig
from simulators.github import create_app as create_simulator
from starter.app import create_app as create_starter
from store import repository
from store.db import engine_for
from tests.support.events import eventually
from tests.support.stack import running_worker
from workflows.pr_lifecycle import STATUS_QUERY, PRStatus

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


@dataclass
class World:
    sim_url: str
    http: httpx.AsyncClient

    async def report(self) -> dict:
        return (await self.http.get(f"{self.sim_url}/_sim/report")).json()


@pytest.fixture
async def world(client: Client, settings: Settings) -> AsyncIterator[World]:
    address = client.service_client.config.target_host
    async with running_worker(client) as queue, httpx.AsyncClient(timeout=10) as http:
        starter = create_starter(settings, EventDispatcher(address, client.namespace, queue))
        with ServerThread(starter) as mender:
            sim = Simulator(
                SimulatorConfig(
                    webhook_url=f"{mender.url}/webhooks/github", webhook_secret=settings.webhook_secret
                )
            )
            with ServerThread(create_simulator(sim)) as github:
                sim.set_base_url(github.url)
                yield World(github.url, http)


async def test_healthy_bot_prs_flow_to_merged(world: World, client: Client, settings: Settings) -> None:
    response = await world.http.post(f"{world.sim_url}/_sim/scenario", json=SCENARIO)
    assert response.status_code == 202, response.text

    def all_merged(report: dict) -> bool:
        return len(report["prs"]) == TOTAL and all(p["state"] == "merged" for p in report["prs"])

    report = await eventually(world.report, all_merged, timeout=60)
    prs = [PRRef(repo=p["repo"], number=p["number"]) for p in report["prs"]]

    for pr in prs:
        status = await eventually(
            lambda pr=pr: client.get_workflow_handle(pr.workflow_id).query(
                STATUS_QUERY, result_type=PRStatus
            ),
            lambda s: s.state is PRState.MERGED,
        )
        path = [e.transition.to_state for e in status.recent_events if e.transition.outcome == "applied"]
        assert path[0] is PRState.CREATED and path[-1] is PRState.MERGED
        assert PRState.APPROVED in path

    engine = engine_for(settings.database_url)

    async def stored_states() -> list[str | None]:
        return [r.state for r in repository.list_prs(engine)]

    assert await eventually(stored_states, lambda s: sorted(s) == ["MERGED"] * TOTAL)
    for pr in prs:
        _, events = repository.get_pr(engine, pr)
        types = [e.type for e in events]
        for expected in ("opened", "checks_started", "checks_passed", "policy_passed", "approved", "merged"):
            assert expected in types, (pr.key, types)

    async def merged_in_visibility() -> set[str]:
        return {w.id async for w in client.list_workflows("MenderState='MERGED'")}

    ids = await eventually(merged_in_visibility, lambda found: {p.workflow_id for p in prs} <= found)
    assert {p.workflow_id for p in prs} <= ids

    # GitHub's side agrees, read through PyGithub against the simulator.
    github = Github(
        base_url=world.sim_url,
        auth=Auth.Token("t"),
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    for pr in prs:
        assert github.get_repo(pr.repo).get_pull(pr.number).merged
