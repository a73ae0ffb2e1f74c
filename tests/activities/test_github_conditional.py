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
from activities.github_cache import CACHE, ETagCache, Remembered
from activities.github_gate import GATE
from activities.reconcile import list_open_bot_prs
from domain.pr_healing.events import PRRef
from runtime.serving import ServerThread
from runtime.settings import Settings, set_settings
from simulators.github import Simulator, SimulatorConfig, Timing, create_app
from tests.support.patience import patient
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


def reads(simulator: Simulator, since: int) -> list[str]:
    """The REST paths GET since the `since`-th request, under the repository."""
    return [
        r["path"].removeprefix("/repos/acme/api/")
        for r in list(simulator.state.requests)[since:]
        if r["method"] == "GET" and r["path"].startswith("/repos/")
    ]


def test_a_check_of_an_open_pr_reads_each_list_once_and_no_listed_item_again(tmp_path: Path) -> None:
    """One request each for the PR, its suites, runs, statuses, reviews and the comparison: a suite or a
    run the list gave is not fetched again for its `updated_at` or its suite id (PyGithub's `raw_data`)."""
    simulator = Simulator(SimulatorConfig())
    simulator.timing = Timing(ci_start_seconds=0.05, ci_seconds=0.1, bot_delay_seconds=0.05)
    with ServerThread(create_app(simulator)) as server:
        simulator.set_base_url(server.url)
        body = {"repo": "acme/api", "author": "dependabot[bot]", "faults": ["flaky_checks"]}
        pr = PRRef(repo="acme/api", number=httpx.post(f"{server.url}/_sim/prs", json=body).json()["number"])
        set_settings(
            make_settings(tmp_path, repositories=[{"name": "acme/api"}], github={"simulator_url": server.url})
        )
        GATE.clear()
        CACHE.clear()
        deadline = time.monotonic() + patient(15)
        while not (snap := gh.fetch_snapshot(pr)).check_runs or snap.checks_pending or snap.mergeable is None:
            assert time.monotonic() < deadline, f"CI did not finish: {snap}"
            time.sleep(0.05)
        since = len(simulator.state.requests)
        snap = gh.fetch_snapshot(pr)
        paths = reads(simulator, since)
    CACHE.clear()
    set_settings(None)
    head = snap.head_sha
    assert sorted(paths) == sorted(
        [
            f"pulls/{pr.number}",
            f"commits/{head}/check-suites",
            f"commits/{head}/check-runs",
            f"statuses/{head}",
            f"pulls/{pr.number}/reviews",
            f"compare/main...{head}",
        ]
    )
    assert snap.check_suites and all(s.updated_at for s in snap.check_suites)
    assert {r.suite_id for r in snap.check_runs} == {s.id for s in snap.check_suites}


def test_a_check_of_a_closed_pr_reads_the_pr_only(world) -> None:
    simulator, _, pr, url = world
    closed = httpx.patch(
        f"{url}/repos/acme/api/pulls/{pr.number}",
        json={"state": "closed"},
        headers={"Authorization": f"token {TOKEN}"},
    )
    assert closed.status_code == 200, closed.text
    since = len(simulator.state.requests)
    snap = gh.fetch_snapshot(pr)
    assert reads(simulator, since) == [f"pulls/{pr.number}"]
    assert snap.state == "closed" and not snap.merged and snap.closed_at
    assert snap.check_runs == [] and snap.behind_by == 0


def test_the_cache_keeps_a_fleets_rechecks_within_its_bounds() -> None:
    """A 1,000-PR fleet's check reads (6 URLs each) stay remembered; the characters held stay bounded."""
    cache = ETagCache()
    for n in range(6000):
        cache.put(("who", f"url-{n}"), Remembered(f'"{n}"', {}, "x" * 200))
    assert len(cache) == 6000 and cache.get(("who", "url-0")) is not None
    small = ETagCache(size=100, characters=1000)
    for n in range(50):
        small.put(("who", f"url-{n}"), Remembered(f'"{n}"', {}, "x" * 100))
    assert len(small) == 10  # 10 bodies of 100 characters
    assert small.get(("who", "url-49")) is not None and small.get(("who", "url-39")) is None
    small.put(("who", "url-49"), Remembered('"again"', {}, "x" * 100))  # replaced, not counted twice
    assert len(small) == 10
