"""The GitHub simulator against GitHub's own contract: every REST route it serves and every webhook it
sends, validated against GitHub's OpenAPI description (`tests/fixtures/github/openapi.subset.json`).

One module-scoped world is driven through PyGithub (and httpx where PyGithub has no call) over every
route, with bots, CI and an Actions pipeline, while a receiver records the webhooks. The tests then
assert zero violations and that no route went unexercised, so the simulator cannot drift from GitHub.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import product

import httpx
import pytest
from github import GithubException

from runtime.serving import ServerThread
from simulators.github import (
    Simulator,
    SimulatorConfig,
    Timing,
    create_app,
    rest_actions,
    rest_collaborators,
    rest_contents,
    rest_issues,
    rest_pulls,
    rest_repos,
)
from tests.simulators.actions_helpers import finished, start
from tests.simulators.contract import Contract
from tests.simulators.helpers import FAST, Receiver, Served, github, open_pr, wait_for
from tests.simulators.recording import Recorder

# Not api.github.com: the web host's raw files and job-log downloads (GitHub serves them elsewhere).
WEB_ROUTES = re.compile(r"^/\{owner\}/\{repo\}/(raw|commit)/")
ROUTERS = (
    rest_repos.repos_router,
    rest_pulls.pulls_router,
    rest_contents.contents_router,
    rest_actions.actions_router,
    rest_issues.issues_router,
    rest_collaborators.collaborators_router,
)


@dataclass
class World:
    served: Served
    recorder: Recorder
    receiver: Receiver


def api_routes(sim: Simulator) -> set[tuple[str, str]]:
    """(method, path template) of every REST route the simulator serves."""
    return {
        (method, route.path)
        for router in ROUTERS
        for route in router(sim).routes
        for method in route.methods  # type: ignore[attr-defined]
        if not WEB_ROUTES.match(route.path) and not route.path.startswith("/_sim")  # type: ignore[attr-defined]
    }


def exercise(served: Served) -> None:
    """Call every route of the simulator the way Mender (through PyGithub) does, errors included."""
    url = served.url
    gh = github(url)
    first, second = open_pr(served, "acme/api"), open_pr(served, "acme/api")
    wait_for(
        lambda: all(r["mergeable_state"] == "clean" for r in served.sim.report()["prs"]), 10, "clean PRs"
    )
    assert gh.get_user().login
    gh.get_rate_limit()
    repo = gh.get_repo("acme/api")
    with pytest.raises(GithubException):
        gh.get_repo("acme/missing")
    list(repo.get_pulls(state="all"))
    list(repo.get_pulls(state="closed", sort="updated", direction="desc"))  # the reconciler's look back
    pr = repo.get_pull(first)
    with pytest.raises(GithubException):
        repo.get_pull(999)
    list(pr.get_commits())
    list(pr.get_files())
    list(pr.get_reviews())
    pr.create_review(body="Looks fine", event="COMMENT")
    pr.create_issue_comment("a comment on the PR")
    pr.add_to_labels("dependencies")
    pr.remove_from_labels("dependencies")
    commit = repo.get_commit(pr.head.sha)
    [suite] = list(commit.get_check_suites())
    runs = list(commit.get_check_runs())
    commit.get_combined_status()
    list(commit.get_statuses())
    list(commit.get_pulls())
    httpx.get(f"{url}/repos/acme/api/commits/{pr.head.sha}/statuses")
    repo.get_check_suite(suite.id)
    list(suite.get_check_runs())
    repo.get_check_run(runs[0].id)
    changed = repo.compare("main", pr.head.ref).files  # with patches, as GitHub lists them
    assert changed and all(f.patch and f.status == "modified" for f in changed)
    assert commit.files and commit.stats.total == sum(f.changes for f in commit.files)
    main = repo.get_branch("main")
    repo.get_git_ref("heads/main")
    ref = repo.create_git_ref("refs/heads/mender/contract", main.commit.sha)
    with pytest.raises(GithubException):
        repo.create_git_ref("refs/heads/mender/contract", main.commit.sha)
    content = repo.get_contents("README.md", ref="mender/contract")
    created = repo.create_file("docs/x.md", "add", "x\n", branch="mender/contract")
    repo.update_file("docs/x.md", "edit", "y\n", created["content"].sha, branch="mender/contract")
    repo.update_file("README.md", "readme", "# acme\n", content.sha, branch="mender/contract")  # type: ignore[union-attr]
    latest = repo.get_contents("docs/x.md", ref="mender/contract")
    repo.delete_file("docs/x.md", "drop", latest.sha, branch="mender/contract")  # type: ignore[union-attr]
    opened = repo.create_pull(base="main", head="mender/contract", title="Contract PR", body="")
    opened.edit(title="Contract PR (edited)")
    opened.edit(state="closed")
    opened.edit(state="open")
    opened.edit(state="closed")
    ref.delete()
    status = commit.create_status("success", context="mender", description="ok")
    assert status.state == "success"
    merged = pr.merge(merge_method="merge")
    assert merged.merged
    assert repo.get_pull(second).update_branch()
    suite_id = suite.id
    assert httpx.post(f"{url}/repos/acme/api/check-suites/{suite_id}/rerequest", headers=auth()).status_code
    run_id = start(served, "retry")
    run = finished(repo, run_id)
    list(repo.get_workflow_runs())
    jobs = list(run.jobs())
    httpx.get(f"{url}/repos/acme/api/actions/runs/{run_id}/attempts/1/jobs")
    httpx.get(f"{url}/repos/acme/api/actions/jobs/{jobs[0].id}")
    httpx.get(f"{url}/repos/acme/api/actions/jobs/{jobs[0].id}/logs")
    assert run.rerun_failed_jobs()
    run = finished(repo, run_id, attempt=2)
    assert run.rerun()
    finished(repo, run_id, attempt=3)
    issue = repo.create_issue("CI incident", body="run failed")
    list(repo.get_issues(state="all"))
    issue = repo.get_issue(issue.number)
    issue.create_comment("noted")
    list(issue.get_comments())
    issue.add_to_labels("incident")
    list(issue.get_labels())
    issue.remove_from_labels("incident")
    issue.edit(state="closed")
    repo.get_collaborator_permission("octocat")


def auth() -> dict[str, str]:
    return {"Authorization": "token simulator-token"}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    receiver = Receiver()
    hooks = ServerThread(receiver.app()).start()
    receiver.url = f"{hooks.url}/webhooks/github"
    actors = ("ci", "policy-bot", "approver-bot")
    sim = Simulator(SimulatorConfig(webhook_url=receiver.url, actors=actors, hook_events=None))  # every event
    sim.timing = Timing(**FAST)
    recorder = Recorder(create_app(sim))
    server = ServerThread(recorder).start()
    sim.set_base_url(server.url)
    served = Served(sim, server.url)
    try:
        exercise(served)
        wait_for(lambda: served.sim.deliverer.log and all(r.status != "queued" for r in sim.deliverer.log))
        yield World(served, recorder, receiver)
    finally:
        server.stop()
        hooks.stop()


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


def test_every_rest_response_follows_githubs_description(world: World, contract: Contract) -> None:
    violations = [
        problem
        for exchange in world.recorder.exchanges
        if exchange.route is not None
        and not exchange.path.startswith("/_sim")
        and not WEB_ROUTES.match(exchange.route)
        for problem in contract.check_response(
            exchange.method, exchange.path, exchange.status, exchange.headers, exchange.body
        )
    ]
    assert not violations, "\n".join(sorted(set(violations)))


def test_every_rest_route_was_exercised(world: World) -> None:
    answered = {
        (e.method, e.route) for e in world.recorder.exchanges if e.route is not None and e.status < 400
    }
    missing = sorted(api_routes(world.served.sim) - answered)
    assert not missing, "\n".join(f"{m} {p}" for m, p in missing)


def test_every_webhook_body_follows_githubs_description(world: World, contract: Contract) -> None:
    received = [(r.headers["x-github-event"], json.loads(r.body)) for r in world.receiver.requests]
    kinds = {contract.webhook_name(event, body.get("action")) for event, body in received}
    expected = {
        "push",
        "create",
        "delete",
        "check-run-created",
        "workflow-job-queued",
        "workflow-job-in-progress",
    }
    expected |= {"issues-opened", "issues-closed", "issue-comment-created", "pull-request-reopened"}
    expected |= {"pull-request-labeled", "pull-request-unlabeled", "pull-request-edited"}
    assert not expected - kinds
    violations = [problem for event, body in received for problem in contract.check_webhook(event, body)]
    assert not violations, "\n".join(sorted(set(violations)))


def test_the_contract_catches_a_missing_required_field(world: World, contract: Contract) -> None:
    event, body = next(
        (r.headers["x-github-event"], json.loads(r.body))
        for r in world.receiver.requests
        if r.headers["x-github-event"] == "pull_request"
    )
    del body["pull_request"]["head"]["sha"]
    body["number"] = "seven"
    problems = contract.check_webhook(event, body)
    assert any("'sha' is a required property" in p for p in problems), problems
    assert any(p.startswith("webhook pull-request-") and "number" in p for p in problems), problems
    assert contract.check_response("GET", "/repos/a/b/pulls/1", 200, {}, b"{}")
    assert contract.check_response("POST", "/repos/a/b/pulls", 201, {}, b"{}")[0].endswith(
        "header Location missing"
    )
    assert contract.check_response("GET", "/repos/a/b/nowhere", 200, {}, b"{}")


PULLS = "/repos/{owner}/{repo}/pulls"


def every_page(http: httpx.Client, query: dict[str, str]) -> tuple[list[int], list[httpx.Response]]:
    """The PR numbers of a pulls listing, page after page along the Link header's `next`."""
    numbers: list[int] = []
    responses: list[httpx.Response] = []
    next_url: str | None = "/repos/acme/api/pulls"
    params: dict[str, str] | None = {**query, "per_page": "2"}
    while next_url:
        response = http.get(next_url, params=params)
        responses.append(response)
        if response.status_code != 200:
            break
        numbers += [row["number"] for row in response.json()]
        next_url, params = response.links.get("next", {}).get("url"), None
    return numbers, responses


def test_list_pulls_serves_every_documented_state_sort_and_direction(
    world: World, contract: Contract
) -> None:
    """Each value GitHub's description allows for `state`, and for `sort` with `direction` (and none:
    the defaults), filters and orders as documented over every page; a value it does not allow is 422."""
    params = contract.query_parameters("GET", PULLS)
    pulls = list(world.served.sim.world.repos["acme/api"].pulls.values())
    aged = next(pr for pr in pulls if pr.state == "closed")
    created = aged.created_at
    aged.created_at = datetime.now(UTC) - timedelta(days=40)  # open long ago, active lately: long-running
    order = {
        "created": lambda pr: pr.created_at,
        "updated": lambda pr: pr.updated_at,
        "popularity": lambda pr: len(pr.comments),  # the number of comments
        "long-running": lambda pr: pr.created_at,
    }
    month_ago = datetime.now(UTC) - timedelta(days=30)
    http = httpx.Client(base_url=world.served.url, headers=auth())
    try:
        assert {p.state for p in pulls} == {"open", "closed"} and any(p.comments for p in pulls)
        states, sorts, directions = ([None, *params[n]["enum"]] for n in ("state", "sort", "direction"))
        combinations = [(s, None, None) for s in states] + [("all", *o) for o in product(sorts, directions)]
        for state, sort, direction in combinations:
            query = {k: v for k, v in (("state", state), ("sort", sort), ("direction", direction)) if v}
            numbers, responses = every_page(http, query)
            first = responses[0]  # the pages have one shape: the first is checked against the schema
            problems = contract.check_response("GET", first.url.path, 200, dict(first.headers), first.content)
            assert not problems and {r.status_code for r in responses} == {200}, (query, problems)
            state, sort = state or params["state"]["default"], sort or params["sort"]["default"]
            wanted = {pr.number for pr in pulls if state in ("all", pr.state)}
            if sort == "long-running":
                wanted = {
                    p.number
                    for p in pulls
                    if p.number in wanted and p.created_at <= month_ago <= p.updated_at
                }
            assert sorted(numbers) == sorted(wanted), query  # each once, across the pages
            keys = [order[sort](world.served.sim.world.find_pr("acme/api", n)) for n in numbers]
            descending = (direction or ("desc" if sort == "created" else "asc")) == "desc"
            assert keys == sorted(keys, reverse=descending), query
        for name in ("state", "sort", "direction"):
            [response] = every_page(http, {name: "sideways"})[1]
            assert response.status_code == 422 and "sideways" not in params[name]["enum"]
            assert not contract.check_response("GET", response.url.path, 422, {}, response.content)
    finally:
        aged.created_at = created
        http.close()
