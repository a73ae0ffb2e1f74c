"""Fix branches, incident issues, scenario pipelines and the report's `pipelines` rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from github import GithubException
from github.Repository import Repository

from simulators.github import SimulatorConfig, Timing, load_scenario
from simulators.github.osv import osv_entry
from tests.simulators.actions_helpers import LOG, finished, log_of, row, start
from tests.simulators.helpers import AUTH, FAST, Receiver, Served, github, open_pr, wait_for


@pytest.fixture
def served(receiver: Receiver, serve: Callable[[SimulatorConfig], Served]) -> Served:
    served = serve(SimulatorConfig(webhook_url=receiver.url))
    served.sim.timing = Timing(**FAST)
    return served


def runs_on(repo: Repository, branch: str, count: int) -> list[Any]:
    def done() -> list[Any] | None:
        runs = list(repo.get_workflow_runs(branch=branch))
        return runs if len(runs) == count and all(r.status == "completed" for r in runs) else None

    return wait_for(done, what=f"{count} completed runs on {branch}")


@pytest.mark.parametrize("heals_on", ["fix", "retry"])
def test_fix_branch_runs_ci_and_heals_only_on_fix(served: Served, heals_on: str) -> None:
    run_id = start(served, heals_on)
    repo = github(served.url).get_repo("acme/api")
    finished(repo, run_id)
    branch = f"mender/ci-fix/{run_id}-1"
    ref = repo.create_git_ref(f"refs/heads/{branch}", repo.get_branch("main").commit.sha)
    repo.create_file("requirements.lock", "Pin requests", "requests==2.32.2\n", branch=branch)
    [push] = runs_on(repo, branch, 1)
    pull = repo.create_pull(title=f"Fix CI run {run_id}", body="Pins requests.", head=branch, base="main")
    runs = runs_on(repo, branch, 2)
    assert sorted(run.event for run in runs) == ["pull_request", "push"]
    expected = "success" if heals_on == "fix" else "failure"
    assert {run.conclusion for run in runs} == {expected}
    assert push.head_sha == pull.head.sha == repo.get_branch(branch).commit.sha
    pr_run = next(run for run in runs if run.event == "pull_request")
    assert [p.number for p in pr_run.pull_requests] == [pull.number]
    if heals_on != "fix":
        [failed] = [job for job in pr_run.jobs() if job.conclusion == "failure"]
        assert log_of(failed).text == LOG
    # Not a bot PR: no CI-actor suite, no policy status, no approval; the ruleset lets the Mender app
    # merge its fix once the required checks that ran on it pass (no review needed).
    pull = wait_for(
        lambda: (p := repo.get_pull(pull.number)).mergeable is not None and p, what="mergeability"
    )
    state = "clean" if heals_on == "fix" else "blocked"
    assert (pull.user.login, pull.merged, pull.mergeable_state) == ("mender-app[bot]", False, state)
    assert list(pull.get_reviews()) == [] and repo.get_commit(pull.head.sha).get_statuses().totalCount == 0
    assert {run.name for run in repo.get_commit(pull.head.sha).get_check_runs()} == {"build", "test"}
    report = row(served, run_id)
    assert report["fix_prs"] == [
        {"number": pull.number, "branch": branch, "state": "open", "merged": False, "labels": []}
    ]
    assert sorted(report["fix_runs"]) == sorted(run.id for run in runs)
    assert (report["healed"], report["healed_by"]) == ((True, "fix") if heals_on == "fix" else (False, None))
    pull.edit(state="closed")
    ref.delete()
    with pytest.raises(GithubException) as gone:
        repo.get_branch(branch)
    assert gone.value.status == 404
    assert row(served, run_id)["fix_prs"][0]["state"] == "closed"


def test_fix_branch_for_an_unknown_run_passes(served: Served) -> None:
    start(served, "never")
    repo = github(served.url).get_repo("acme/api")
    repo.create_git_ref("refs/heads/mender/ci-fix/42", repo.get_branch("main").commit.sha)
    repo.create_file("notes.md", "Notes", "hello\n", branch="mender/ci-fix/42")
    [run] = runs_on(repo, "mender/ci-fix/42", 1)
    assert (run.event, run.conclusion) == ("push", "success")
    repo.create_git_ref("refs/heads/mender/ci-fix/manual", repo.get_branch("main").commit.sha)
    repo.create_file("manual.md", "Manual", "x\n", branch="mender/ci-fix/manual")
    assert runs_on(repo, "mender/ci-fix/manual", 1)[0].conclusion == "success"
    repo.create_git_ref("refs/heads/mender/other", repo.get_branch("main").commit.sha)
    repo.create_file("other.md", "Other", "x\n", branch="mender/other")
    assert repo.get_workflow_runs(branch="mender/other").totalCount == 0  # only fix branches run CI here


def test_incident_issues_share_numbers_with_pulls(served: Served) -> None:
    run_id = start(served, "never")
    repo = github(served.url).get_repo("acme/api")
    finished(repo, run_id)
    number = open_pr(served, "acme/api")
    issue = repo.create_issue(
        title=f"CI pipeline failing: run {run_id}",
        body=f"See {served.url}/acme/api/actions/runs/{run_id}\n\nDiagnosis: dependency timeout.",
        labels=["incident", "ci"],
    )
    assert issue.number == number + 1 and issue.pull_request is None
    assert (issue.state, issue.user.login, [lab.name for lab in issue.labels]) == (
        "open",
        "mender-app[bot]",
        ["incident", "ci"],
    )
    other = repo.create_issue(title="Unrelated", body="nothing to see")
    assert repo.get_issue(issue.number).title == issue.title
    assert [i.number for i in repo.get_issues(labels=["incident"])] == [issue.number]
    # issues lists pull requests too (the PR may have merged meanwhile: `all`, not `open`)
    assert {i.number for i in repo.get_issues(state="all")} == {number, issue.number, other.number}
    issue.create_comment("Re-run requested.")
    assert [c.body for c in repo.get_issue(issue.number).get_comments()] == ["Re-run requested."]
    issue.edit(state="closed")
    assert repo.get_issue(issue.number).state == "closed"
    assert repo.get_issue(number).pull_request is not None  # a PR through the Issues API
    assert row(served, run_id)["incidents"] == [issue.number]
    missing = httpx.post(f"{served.url}/repos/acme/api/issues", json={"body": "no title"}, headers=AUTH)
    assert missing.status_code == 422


def test_report_rows_and_control_errors(served: Served) -> None:
    run_id = start(served, "fix", approve=True, workflow="Nightly", job="e2e")
    repo = github(served.url).get_repo("acme/api")
    finished(repo, run_id)
    report = row(served, run_id)
    assert {
        k: report[k] for k in ("pipeline", "group", "repo", "heals_on", "approve", "workflow", "job")
    } == {
        "pipeline": 0,
        "group": None,
        "repo": "acme/api",
        "heals_on": "fix",
        "approve": True,
        "workflow": "Nightly",
        "job": "e2e",
    }
    assert (report["attempts"], report["reruns_requested"], report["fix_prs"], report["incidents"]) == (
        1,
        0,
        [],
        [],
    )
    assert (report["healed"], report["healed_by"], report["healed_at"]) == (False, None, None)
    assert report["failed_at"].endswith("Z") and set(served.sim.report()) >= {"prs", "totals", "deliveries"}
    url = f"{served.url}/_sim/pipelines"
    for body in (
        {"repo": "acme/api", "log_text": LOG, "heals_on": "sometimes"},
        {"repo": "acme/api", "heals_on": "retry"},
        {"repo": "acme/api", "log": "x.log", "heals_on": "retry"},
        {"repo": "acme/api", "log_text": LOG, "heals_on": "retry", "count": 2},
        {"repo": "acme", "log_text": LOG, "heals_on": "retry"},
    ):
        assert httpx.post(url, json=body).status_code == 422, body


def test_scenario_pipelines_run_with_webhook_loss(served: Served) -> None:
    scenario = {
        "repos": ["acme/api", "acme/web"],
        "timing": FAST,
        "prs": [],
        "pipelines": [
            {"count": 2, "repo": "acme/web", "log_text": LOG, "heals_on": "retry", "approve": False},
            {"repo": "group/sub/project", "provider": "gitlab", "log_text": LOG, "heals_on": "fix"},
            {"repo": "acme/api", "log_text": LOG, "heals_on": "never", "after_seconds": 0.2, "job": "lint"},
        ],
        "world_faults": [{"type": "webhook_loss", "rate": 1.0}],
    }
    started = httpx.post(f"{served.url}/_sim/scenario", json=scenario)
    assert started.status_code == 202 and started.json() == {"status": "started", "prs": 0, "pipelines": 3}

    def all_failed() -> list[dict[str, Any]] | None:
        rows = served.sim.report()["pipelines"]
        return rows if len(rows) == 3 and all(r["failed_at"] for r in rows) else None

    rows = wait_for(all_failed, what="3 failed pipelines")
    assert [(r["pipeline"], r["group"], r["repo"], r["approve"]) for r in rows] == [
        (0, 0, "acme/web", False),
        (1, 0, "acme/web", False),
        (2, 2, "acme/api", None),
    ]
    assert len({r["run_id"] for r in rows}) == 3 and rows[2]["job"] == "lint"
    deliveries = httpx.get(f"{served.url}/_sim/deliveries").json()
    actions = [d for d in deliveries if d["event"].startswith("workflow_")]
    assert actions and all(d["status"] == "dropped" for d in actions)  # webhook_loss applies


def test_scenario_file_pipelines(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "timeout.log").write_text(LOG)
    path = tmp_path / "ci.yaml"
    path.write_text(
        "repos: [acme/api]\nprs: []\npipelines:\n"
        "  - {count: 3, repo: acme/api, log: logs/timeout.log, heals_on: retry, after_seconds: 5}\n"
        "  - {repo: acme/api, log_text: 'npm ERR! code E404', heals_on: never, workflow: Release, job: publish}\n"
        "  - {repo: group/project, provider: gitlab, log: logs/timeout.log, heals_on: fix, approve: true}\n"
    )
    scenario = load_scenario(path)
    first, inline, gitlab = scenario.pipelines
    assert (first.count, first.log, first.log_text, first.heals_on, first.after_seconds) == (
        3,
        "logs/timeout.log",
        LOG,
        "retry",
        5,
    )
    assert (first.provider, first.workflow, first.job, first.approve) == ("github", "CI", "test", None)
    assert (inline.log_text, inline.workflow, inline.job) == ("npm ERR! code E404", "Release", "publish")
    assert (gitlab.provider, gitlab.log_text, gitlab.approve) == ("gitlab", LOG, True)
    assert (scenario.total_prs, scenario.total_pipelines) == (0, 4)
    assert load_scenario(scenario.model_dump(mode="json")) == scenario  # what POST /_sim/scenario receives
    assert load_scenario(path.read_text(), base_dir=tmp_path) == scenario


@pytest.mark.parametrize(
    ("pipelines", "where"),
    [
        (
            [{"repo": "acme/api", "log": "nope.log", "heals_on": "retry"}],
            "pipelines[0].log: log file not found",
        ),
        ([{"repo": "acme/api", "heals_on": "retry"}], "needs `log` (a file path) or `log_text`"),
        ([{"repo": "acme/api", "log_text": "x", "heals_on": "retry", "colour": 1}], "pipelines[0].colour"),
        ([{"repo": "acme/api", "log_text": "x", "heals_on": "later"}], "pipelines[0].heals_on"),
        ([{"repo": "acme/api", "log_text": "x", "heals_on": "fix", "count": 0}], "pipelines[0].count"),
        (
            [{"repo": "acme/api", "log_text": "x", "heals_on": "fix", "provider": "jenkins"}],
            "pipelines[0].provider",
        ),
        (
            [{"repo": "acme/other", "log_text": "x", "heals_on": "fix"}],
            "'acme/other' is not one of the scenario",
        ),
        ([], "at least one PR group"),
    ],
)
def test_bad_pipelines_name_the_key(tmp_path: Path, pipelines: list[dict[str, Any]], where: str) -> None:
    source = {"repos": ["acme/api"], "prs": [], "pipelines": pipelines}
    with pytest.raises(ValueError) as error:
        load_scenario(source, base_dir=tmp_path)
    assert where in str(error.value)


def test_log_path_needs_a_scenario_file() -> None:
    source = {
        "repos": ["acme/api"],
        "prs": [],
        "pipelines": [{"repo": "acme/api", "log": "a.log", "heals_on": "fix"}],
    }
    with pytest.raises(ValueError) as error:
        load_scenario(source)
    assert "a log path needs a scenario file" in str(error.value)


def test_a_human_fix_commits_on_the_branch_and_runs_green(served: Served) -> None:
    run_id = start(served, "never")
    repo = github(served.url).get_repo("acme/api")
    failed = finished(repo, run_id)
    url = f"{served.url}/_sim/pipelines/{run_id}/human-fix"
    assert httpx.post(url, json={"files": {}}).status_code == 422  # nothing to commit
    assert httpx.post(url, json={"files": {"a.txt": 1}}).status_code == 422
    missing = httpx.post(f"{served.url}/_sim/pipelines/999999/human-fix", json={"files": {"a.txt": "x"}})
    assert missing.status_code == 404 and "no pipeline" in missing.json()["message"]
    fixed = httpx.post(url, json={"files": {"requirements.txt": "acme-sdk==2.1\n"}, "author": "alice"})
    assert fixed.status_code == 201, fixed.text
    green = finished(repo, fixed.json()["run_id"])
    assert (green.conclusion, green.head_branch, green.workflow_id) == ("success", "main", failed.workflow_id)
    commit = repo.get_commit(fixed.json()["sha"])
    [changed] = commit.files
    assert (changed.filename, changed.status, commit.author.login) == (
        "requirements.txt",
        "modified",
        "alice",
    )
    assert changed.patch.endswith("+acme-sdk==2.1") and changed.deletions > 0  # the whole file replaced
    assert row(served, run_id)["healed_by"] == "human"


def test_fix_branches_get_quality_checks_verified_commits_and_runs_after_the_merge(served: Served) -> None:
    run_id = start(served, "fix", fix_checks={"lint": "failure", "mypy": "success"}, breaks_after_merge=True)
    repo = github(served.url).get_repo("acme/api")
    finished(repo, run_id)
    branch = f"mender/ci-fix/{run_id}-1"
    repo.create_git_ref(f"refs/heads/{branch}", repo.get_branch("main").commit.sha)
    repo.create_file("requirements-extra.txt", "Add PyYAML", "PyYAML\n", branch=branch)
    sha = repo.get_branch(branch).commit.sha

    def checks() -> dict[str, str | None] | None:
        found = {r.name: r.conclusion for r in repo.get_commit(sha).get_check_runs()}
        return found if len(found) == 4 and None not in found.values() else None

    assert wait_for(checks, what="4 finished checks") == {
        "build": "success", "test": "success", "lint": "failure", "mypy": "success"
    }  # fmt: skip
    assert [r.name for r in repo.get_workflow_runs(branch=branch)] == ["CI"]  # another app's checks: no run
    commit = repo.get_commit(sha)
    assert commit.raw_data["commit"]["verification"]["verified"] is True  # made through the API
    assert commit.raw_data["commit"]["verification"]["reason"] == "valid"
    first = repo.get_commit(run_sha(repo, run_id))
    assert first.raw_data["commit"]["verification"]["verified"] is False  # pushed by octocat with git
    pull = repo.create_pull(title="fix", body="", head=branch, base="main")
    pull = wait_for(
        lambda: (p := repo.get_pull(pull.number)).mergeable_state == "unstable" and p, what="unstable"
    )
    merged = pull.merge(merge_method="merge")
    runs = runs_on(repo, "main", 2)
    after = next(r for r in runs if r.head_sha == merged.sha)
    assert after.conclusion == "failure" and after.event == "push"
    assert row(served, run_id)["after_merge_runs"] == ["failure"] and row(served, run_id)["fix_merged_at"]


def run_sha(repo: Repository, run_id: int) -> str:
    return repo.get_workflow_run(run_id).head_sha


def test_the_osv_feed_answers_queries(served: Served) -> None:
    served.sim.world.vulnerabilities = [
        osv_entry({"id": "GHSA-x", "package": "PyYAML", "severity": "critical"})
    ]
    url = f"{served.url}/osv/v1/query"
    hit = httpx.post(url, json={"package": {"name": "pyyaml", "ecosystem": "PyPI"}, "version": "6.0"})
    assert hit.status_code == 200
    [vuln] = hit.json()["vulns"]
    assert vuln["id"] == "GHSA-x" and vuln["database_specific"]["severity"] == "CRITICAL"
    assert httpx.post(url, json={"package": {"name": "requests", "ecosystem": "PyPI"}}).json() == {}
    bad = httpx.post(url, content=b"{not json")
    assert bad.status_code == 400 and "Invalid query" in bad.json()["message"]
