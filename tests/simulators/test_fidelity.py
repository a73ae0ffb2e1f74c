"""Behaviours where the simulator is as strict as GitHub, checked through PyGithub and raw HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from github import UnknownObjectException

from simulators.github import SimulatorConfig, Timing
from tests.simulators.contract import Contract
from tests.simulators.helpers import AUTH, FAST, Receiver, Served, github, open_pr, run_of_suite, wait_for


@pytest.fixture
def served(receiver: Receiver, serve: Callable[[SimulatorConfig], Served]) -> Served:
    config = SimulatorConfig(webhook_url=receiver.url, actors=("ci", "policy-bot", "approver-bot"))
    served = serve(config)
    served.sim.timing = Timing(**FAST)
    return served


def test_runs_suites_check_runs_and_jobs_have_their_own_linked_ids(served: Served) -> None:
    number = open_pr(served, "acme/api")
    repo = github(served.url).get_repo("acme/api")
    sha = repo.get_pull(number).head.sha
    [suite] = wait_for(
        lambda: [s for s in repo.get_commit(sha).get_check_suites() if s.status == "completed"], 15
    )
    run = run_of_suite(repo, suite.id)
    checks = {c.name: c for c in repo.get_commit(sha).get_check_runs()}
    jobs = {j.name: j for j in run.jobs()}
    assert run.id != suite.id and run.check_suite_id == suite.id
    assert {j.id for j in jobs.values()} == {c.id for c in checks.values()}  # a job is its check run
    assert all(j.run_id == run.id for j in jobs.values())
    listed = httpx.get(f"{served.url}/repos/acme/api/commits/{sha}/check-runs", headers=AUTH).json()
    assert [c["check_suite"] for c in listed["check_runs"]] == [{"id": suite.id}] * 2  # REST: the id only
    assert not {run.id, suite.id} & {c.id for c in checks.values()}
    with pytest.raises(UnknownObjectException):
        repo.get_workflow_run(suite.id)


def test_suite_requests_go_to_the_suites_app_and_check_runs_to_everyone(
    served: Served, receiver: Receiver
) -> None:
    open_pr(served, "acme/api")
    wait_for(lambda: any(r.event == "check_suite.completed" for r in receiver.requests), 15, "CI done")
    events = [r.event for r in receiver.requests]
    assert "check_suite.requested" not in events and events.count("check_run.created") == 2
    assert events.index("check_run.created") < events.index("check_run.completed")


def test_mergeability_is_computed_a_while_after_a_push(served: Served) -> None:
    world = served.sim.world
    world.mergeability_seconds = 3600.0  # "a while": as long as the first read takes, however loaded
    number = open_pr(served, "acme/api")
    url = f"{served.url}/repos/acme/api/pulls/{number}"
    fresh = httpx.get(url, headers=AUTH).json()
    assert (fresh["mergeable"], fresh["mergeable_state"], fresh["rebaseable"]) == (None, "unknown", None)
    pull = world.find_pr("acme/api", number)
    assert pull is not None
    pull.mergeability_settles_at = 0.0  # GitHub is done computing
    settled = wait_for(
        lambda: (body := httpx.get(url, headers=AUTH).json())["mergeable"] is not None and body, 15
    )
    assert settled["mergeable"] is True and settled["mergeable_state"] in ("blocked", "clean")


def test_list_items_are_the_short_form(served: Served) -> None:
    """GitHub lists pull requests as `pull-request-simple`: what only `pull-request` has is left out."""
    open_pr(served, "acme/api")
    schemas = Contract().doc["components"]["schemas"]
    full_only = set(schemas["pull-request"]["properties"]) - set(schemas["pull-request-simple"]["properties"])
    [item] = httpx.get(f"{served.url}/repos/acme/api/pulls", headers=AUTH).json()
    assert full_only and not full_only & set(item)
    single = httpx.get(f"{served.url}/repos/acme/api/pulls/{item['number']}", headers=AUTH).json()
    assert full_only <= set(single)
    pull = next(iter(github(served.url).get_repo("acme/api").get_pulls()))
    assert pull.mergeable_state in ("unknown", "blocked", "clean")  # PyGithub completes it with a GET


def test_webhook_bodies_of_a_push_carry_no_stale_mergeability(served: Served, receiver: Receiver) -> None:
    open_pr(served, "acme/api")
    opened = wait_for(lambda: [r for r in receiver.requests if r.event == "pull_request.opened"], 15)[0]
    pull = json.loads(opened.body)["pull_request"]
    assert (pull["mergeable"], pull["mergeable_state"]) == (None, "unknown")


def test_the_lenient_option_delivers_foreign_suite_requests(
    receiver: Receiver, serve: Callable[[SimulatorConfig], Served]
) -> None:
    served = serve(SimulatorConfig(webhook_url=receiver.url, actors=("ci",), foreign_suite_requests=True))
    served.sim.timing = Timing(**FAST)
    open_pr(served, "acme/api")
    wait_for(lambda: any(r.event == "check_suite.requested" for r in receiver.requests), 15, "requested")
