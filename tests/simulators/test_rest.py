"""PyGithub against the running simulator: the REST subset Mender uses, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from github import Auth, Github, GithubException, UnknownObjectException
from github.Repository import Repository

from runtime.serving import ServerThread
from simulators.github import Simulator, SimulatorConfig, create_app
from tests.simulators.helpers import FAST, TOKEN, Served, run_of_suite, wait_for

PRS = 5


def client(url: str, per_page: int = 30) -> Github:
    return Github(
        base_url=url,
        auth=Auth.Token(TOKEN),
        per_page=per_page,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """acme/api with 5 bot PRs made `clean` by CI, policy-bot and approver-bot (no automerge)."""
    sim = Simulator(SimulatorConfig(actors=("ci", "policy-bot", "approver-bot")))
    server = ServerThread(create_app(sim)).start()
    sim.set_base_url(server.url)
    scenario = {"repos": ["acme/api"], "timing": FAST, "prs": [{"count": PRS, "author": "dependabot[bot]"}]}
    assert httpx.post(f"{server.url}/_sim/scenario", json=scenario).status_code == 202

    def all_clean() -> bool:  # as the API shows it: once GitHub computed mergeability after the pushes
        rows = sim.report()["prs"]
        pulls = [sim.world.find_pr("acme/api", row["number"]) for row in rows]
        settled = not any(sim.world.mergeability_pending(pr) for pr in pulls if pr is not None)
        return len(rows) == PRS and settled and all(row["mergeable_state"] == "clean" for row in rows)

    wait_for(all_clean, what="all PRs clean")
    yield Served(sim, server.url)
    server.stop()


@pytest.fixture(scope="module")
def repo(served: Served) -> Repository:
    return client(served.url).get_repo("acme/api")


def test_repo_user_and_rate_limit(served: Served, repo: Repository) -> None:
    gh = client(served.url)
    assert (repo.full_name, repo.default_branch, repo.owner.login) == ("acme/api", "main", "acme")
    assert repo.url == f"{served.url}/repos/acme/api"
    assert gh.get_user().login == "mender-app[bot]"
    before = gh.get_rate_limit().resources.core  # GET /rate_limit itself is free, as on GitHub
    assert gh.get_repo("acme/api").full_name == "acme/api"
    after = gh.get_rate_limit().resources.core
    assert (after.limit, before.remaining - after.remaining) == (5000, 1)
    with pytest.raises(UnknownObjectException):
        gh.get_repo("acme/missing")


def test_list_pulls_paginates(served: Served) -> None:
    total = len(served.sim.report()["prs"])
    pulls = client(served.url, per_page=2).get_repo("acme/api").get_pulls(state="all")
    numbers = [pr.number for pr in pulls]
    assert numbers == sorted(range(1, total + 1), reverse=True)
    assert pulls.totalCount == total
    response = httpx.get(f"{served.url}/repos/acme/api/pulls", params={"per_page": 2, "state": "all"})
    assert len(response.json()) == 2
    assert 'rel="next"' in response.headers["link"] and 'rel="last"' in response.headers["link"]
    assert httpx.get(f"{served.url}/repos/acme/api/pulls", params={"state": "bogus"}).status_code == 422


def test_get_pull_request(served: Served, repo: Repository) -> None:
    row = next(r for r in served.sim.report()["prs"] if r["number"] == 1)
    pr = repo.get_pull(1)
    assert (pr.number, pr.head.sha, pr.mergeable_state, pr.mergeable) == (1, row["head_sha"], "clean", True)
    assert (pr.user.login, pr.user.type, pr.state, pr.merged, pr.draft) == (
        "dependabot[bot]",
        "Bot",
        "open",
        False,
        False,
    )
    assert pr.title.startswith("Bump ") and pr.head.ref.startswith("dependabot/")
    assert pr.base.ref == "main" and pr.base.sha == repo.get_branch("main").commit.sha
    assert pr.labels == []
    with pytest.raises(UnknownObjectException):
        repo.get_pull(999)


def test_checks_statuses_and_reviews(repo: Repository) -> None:
    pr = repo.get_pull(2)
    commit = repo.get_commit(pr.head.sha)
    suites = list(commit.get_check_suites())
    assert [(s.status, s.conclusion, s.head_sha) for s in suites] == [("completed", "success", pr.head.sha)]
    runs = list(commit.get_check_runs())
    assert sorted((r.name, r.conclusion) for r in runs) == [("build", "success"), ("test", "success")]
    assert {r.check_suite.id for r in runs} == {suites[0].id}
    combined = commit.get_combined_status()
    assert combined.state == "success" and [s.context for s in combined.statuses] == ["policy-bot"]
    assert [s.state for s in commit.get_statuses()] == ["success", "pending"]
    assert [(r.user.login, r.state, r.commit_id) for r in pr.get_reviews()] == [
        ("approver-bot[bot]", "APPROVED", pr.head.sha)
    ]
    assert [p.number for p in commit.get_pulls()] == [2]


def test_labels_and_comments(repo: Repository) -> None:
    pr = repo.get_pull(3)
    pr.add_to_labels("mender:healing", "dependencies")
    assert [label.name for label in repo.get_pull(3).labels] == ["mender:healing", "dependencies"]
    pr.remove_from_labels("mender:healing")
    assert [label.name for label in pr.get_labels()] == ["dependencies"]
    with pytest.raises(GithubException) as missing:
        pr.remove_from_labels("nope")
    assert missing.value.status == 404
    comment = pr.create_issue_comment("Mender: re-running CI")
    assert comment.user.login == "mender-app[bot]"
    assert [c.body for c in pr.get_issue_comments()] == ["Mender: re-running CI"]
    assert pr.as_issue().pull_request is not None


def test_merge_then_update_branch_restarts_ci(served: Served, repo: Repository) -> None:
    first, second = repo.get_pull(4), repo.get_pull(5)
    status = first.merge(merge_method="merge")
    assert status.merged
    merged = repo.get_pull(4)
    assert (merged.merged, merged.state, merged.merge_commit_sha) == (True, "closed", status.sha)
    assert repo.get_branch("main").commit.sha == status.sha
    comparison = repo.compare("main", second.head.ref)  # behind by PR 4's commit and the merge commit
    assert (comparison.ahead_by, comparison.behind_by, comparison.status) == (1, 2, "diverged")
    old_head = second.head.sha
    assert second.update_branch() is True
    updated = repo.get_pull(5)
    assert updated.head.sha != old_head and (updated.mergeable, updated.mergeable_state) == (None, "unknown")
    with pytest.raises(GithubException) as blocked:
        updated.merge()  # GitHub decides a merge on the computed state: blocked (CI has not run)
    assert blocked.value.status == 405
    wait_for(
        lambda: repo.get_pull(5).mergeable_state == "clean", what="CI, policy and approval on the new head"
    )
    assert [s.conclusion for s in repo.get_commit(updated.head.sha).get_check_suites()] == ["success"]
    assert repo.get_pull(5).update_branch() is False  # 422: no new commits on the base branch


def test_reruns_keep_the_sha(repo: Repository) -> None:
    pr = repo.get_pull(1)
    [suite] = repo.get_commit(pr.head.sha).get_check_suites()
    run = run_of_suite(repo, suite.id)
    assert run.id != suite.id and run.check_suite_id == suite.id
    with pytest.raises(UnknownObjectException):
        repo.get_workflow_run(suite.id)  # a suite id is not a run id, as on GitHub
    assert (run.head_sha, run.run_attempt, run.conclusion) == (pr.head.sha, 1, "success")
    assert run.rerun_failed_jobs() is True  # nothing failed: accepted, nothing re-runs
    assert suite.rerequest() is True
    wait_for(lambda: repo.get_workflow_run(run.id).run_attempt == 2, what="second attempt")
    wait_for(lambda: repo.get_workflow_run(run.id).conclusion == "success", what="rerun to finish")
    assert repo.get_pull(1).head.sha == pr.head.sha


def test_branches_refs_and_created_pulls(served: Served, repo: Repository) -> None:
    main_sha = repo.get_branch("main").commit.sha
    ref = repo.create_git_ref("refs/heads/mender/try", main_sha)
    assert repo.get_git_ref("heads/mender/try").object.sha == main_sha == ref.object.sha
    assert repo.get_branch("mender/try").name == "mender/try"
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/mender/try", main_sha)
    assert exists.value.status == 422
    created = repo.create_pull(base="main", head="mender/try", title="Mender test PR", body="")
    assert (created.user.login, created.state) == ("mender-app[bot]", "open")
    created.edit(state="closed")
    assert repo.get_pull(created.number).state == "closed"
    ref.delete()
    with pytest.raises(GithubException) as gone:
        repo.get_branch("mender/try")
    assert gone.value.status == 404
    status = repo.get_commit(main_sha).create_status("success", context="mender", description="ok")
    assert (status.state, status.context, status.creator.login) == ("success", "mender", "mender-app[bot]")
