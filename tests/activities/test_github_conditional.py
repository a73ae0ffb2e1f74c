"""Mender's repeated GitHub reads are conditional: against the strict simulator (ETag, 304 not counted),
a second snapshot of an unchanged PR and a second reconciler listing cost no rate limit, and a change is
read fresh."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from activities import github as gh
from activities.github_cache import CACHE
from activities.github_gate import GATE
from activities.reconcile import list_open_bot_prs
from domain.pr_healing.events import PRRef
from runtime.serving import ServerThread
from runtime.settings import Settings, set_settings
from simulators.github import Simulator, SimulatorConfig, create_app
from tests.support.stack import make_settings

TOKEN = "simulator-token"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Simulator, Settings, PRRef, str]]:
    simulator = Simulator(SimulatorConfig(actors=()))
    with ServerThread(create_app(simulator)) as server:
        simulator.set_base_url(server.url)
        body = {"repo": "acme/api", "author": "dependabot[bot]"}
        number = httpx.post(f"{server.url}/_sim/prs", json=body).json()["number"]
        settings = make_settings(
            tmp_path, repositories=[{"name": "acme/api"}], github={"simulator_url": server.url}
        )
        GATE.clear()
        CACHE.clear()
        yield simulator, settings, PRRef(repo="acme/api", number=number), server.url
    CACHE.clear()
    set_settings(None)


def used(simulator: Simulator) -> int:
    return simulator.state.access.quota(TOKEN, time.time()).used


def test_an_unchanged_pr_is_read_again_for_304s_only(world) -> None:
    simulator, _, pr, url = world
    first = gh.fetch_snapshot(pr)
    cost = used(simulator)
    assert (
        cost >= 6
    )  # the PR (re-read until mergeability is computed), suites, runs, statuses, reviews, compare
    before = CACHE.stats.not_modified  # (a re-read while mergeability was pending may be a 304 already)
    again = gh.fetch_snapshot(pr)
    assert used(simulator) == cost  # every read answered 304: nothing counted
    assert CACHE.stats.not_modified - before >= 6
    assert again.model_dump(exclude={"fetched_at"}) == first.model_dump(exclude={"fetched_at"})
    httpx.post(
        f"{url}/repos/acme/api/issues/{pr.number}/labels",
        json={"labels": ["urgent"]},
        headers={"Authorization": f"token {TOKEN}"},
    ).raise_for_status()
    cost = used(simulator)
    changed = gh.fetch_snapshot(pr)
    assert changed.labels == ["urgent"]  # the changed PR was read fresh (a 200, counted) ...
    assert 1 <= used(simulator) - cost < 6  # ... and only what changed


def test_the_reconcilers_listing_of_open_prs_is_conditional(world) -> None:
    simulator, settings, pr, _ = world
    [found], failed = list_open_bot_prs(settings)
    assert failed == {} and found.pr == pr
    cost = used(simulator)
    assert list_open_bot_prs(settings)[0] == [found]
    assert used(simulator) == cost
