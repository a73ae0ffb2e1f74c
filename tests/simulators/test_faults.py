"""PR faults over real HTTP: each stall happens, and the remedy Mender applies through PyGithub heals it.

One simulator for the module: every faulted PR opens at once (each fault in its own repo), the fixture
waits until all have stalled and then a little longer, and each test checks its stall and heals it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from github import Github, GithubException
from github.CheckSuite import CheckSuite
from github.PullRequest import PullRequest
from github.Repository import Repository

from runtime.serving import ServerThread
from simulators.github import Simulator, SimulatorConfig, Timing, create_app
from tests.simulators.helpers import AUTH, FAST, Served, github, open_pr, report_row, run_of_suite, wait_for

PRS = {  # repo -> faults of each PR opened there (numbers 1, 2, ...)
    "acme/flaky": [["flaky_checks"], ["flaky_checks"]],
    "acme/broken": [["genuine_failure"]],
    "acme/behind": [["behind_base"], []],  # PR 2 is healthy: the up-to-date rule is PR 1's alone
    "acme/policy": [["policy_bot_missed"]],
    "acme/approver": [["approver_bot_missed"]],
    "acme/automerge": [["automerge_missed"]] * 3,
    "acme/conflict": [["merge_conflict"]],
}


@dataclass
class Env:
    served: Served
    gh: Github

    def repo(self, name: str) -> Repository:
        return self.gh.get_repo(name)

    def row(self, repo: str, number: int) -> dict:
        return report_row(self.served, repo, number)

    def merged(self, repo: str, number: int) -> bool:
        return self.row(repo, number)["state"] == "merged"


def completed_suite(repo: Repository, sha: str, attempt: int = 1) -> CheckSuite | None:
    suites = list(repo.get_commit(sha).get_check_suites())
    done = [s for s in suites if s.status == "completed"]
    if done and run_of_suite(repo, done[-1].id).run_attempt >= attempt:
        return done[-1]
    return None


def stalled(env: Env) -> dict[str, Callable[[], object]]:
    """Per repo: true once its PRs reached the state their fault leaves them in."""

    def pull(name: str, number: int = 1) -> PullRequest:
        return env.repo(name).get_pull(number)

    def suite_done(name: str, number: int = 1) -> object:
        return completed_suite(env.repo(name), pull(name, number).head.sha)

    return {
        "acme/flaky": lambda: suite_done("acme/flaky", 1) and suite_done("acme/flaky", 2),
        "acme/broken": lambda: suite_done("acme/broken"),
        "acme/behind": lambda: (
            pull("acme/behind").mergeable_state == "behind" and list(pull("acme/behind").get_reviews())
        ),
        "acme/policy": lambda: suite_done("acme/policy"),
        "acme/approver": lambda: (
            env.repo("acme/approver").get_commit(pull("acme/approver").head.sha).get_combined_status().state
            == "success"
        ),
        "acme/automerge": lambda: all(
            pull("acme/automerge", n).mergeable_state == "clean" for n in (1, 2, 3)
        ),
        "acme/conflict": lambda: (
            pull("acme/conflict").mergeable_state == "dirty" and list(pull("acme/conflict").get_reviews())
        ),
    }


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    sim = Simulator(SimulatorConfig())
    sim.timing = Timing(**FAST)
    with ServerThread(create_app(sim)) as server:
        sim.set_base_url(server.url)
        env = Env(Served(sim, server.url), github(server.url))
        for repo, faults_per_pr in PRS.items():
            for faults in faults_per_pr:
                number = open_pr(env.served, repo, *faults)
                if (repo, number) == ("acme/automerge", 2):
                    # It carries its trigger label from the start (before it is clean): the test toggles it.
                    labels = httpx.post(
                        f"{server.url}/repos/acme/automerge/issues/2/labels", json=["automerge"], headers=AUTH
                    )
                    assert labels.status_code == 200
        for repo, done in stalled(env).items():
            wait_for(done, timeout=60, what=f"{repo} stalled")  # slow on a loaded machine
        wait_for(env.served.sim.settled, what="every reaction over: the stalls stay")
        yield env


def test_flaky_checks_fail_once_with_a_transient_log_and_reruns_pass(env: Env) -> None:
    numbers = [1, 2]
    repo = env.repo("acme/flaky")
    suites = []
    for number in numbers:
        sha = repo.get_pull(number).head.sha
        suite = wait_for(lambda sha=sha: completed_suite(repo, sha), what="first CI run")
        assert suite.conclusion == "failure"
        runs = {run.name: run for run in repo.get_commit(sha).get_check_runs()}
        assert (runs["build"].conclusion, runs["test"].conclusion) == ("success", "failure")
        output = runs["test"].output
        log = f"{output.title}\n{output.summary}\n{output.text}"
        for needle in ("Error: The operation was canceled.", "connection reset by peer", "ETIMEDOUT"):
            assert needle in log
        suites.append(suite)
    assert [repo.get_pull(n).mergeable_state for n in numbers] == ["blocked", "blocked"]

    assert run_of_suite(repo, suites[0].id).rerun_failed_jobs()  # only `test` runs again
    assert suites[1].rerequest()  # the whole suite runs again
    wait_for(lambda: all(env.merged("acme/flaky", n) for n in numbers), what="both PRs merged")
    runs = {r.name: r for r in repo.get_commit(repo.get_pull(numbers[0]).head.sha).get_check_runs()}
    assert runs["test"].conclusion == "success" and runs["test"].output.text is None
    for number in numbers:
        row = env.row("acme/flaky", number)
        assert (row["faults"], row["ci_runs"], row["merged_by"]) == (
            ["flaky_checks"],
            2,
            "automerge-bot[bot]",
        )
        assert row["merged_at"] and row["opened_at"] and not row["closed_by_api"]


def test_genuine_failure_fails_every_run_and_never_merges(env: Env) -> None:
    number = 1
    repo = env.repo("acme/broken")
    sha = repo.get_pull(number).head.sha
    suite = wait_for(lambda: completed_suite(repo, sha), what="first CI run")
    for attempt in (2, 3):
        assert suite.conclusion == "failure"
        [test] = [run for run in repo.get_commit(sha).get_check_runs() if run.name == "test"]
        assert test.conclusion == "failure"
        assert "AssertionError: expected 200, got 500" in test.output.text
        assert "FAILED tests/test_api.py::test_health - assert 500 == 200" in test.output.summary
        assert run_of_suite(repo, suite.id).rerun_failed_jobs()
        suite = wait_for(lambda attempt=attempt: completed_suite(repo, sha, attempt), what=f"run {attempt}")
    assert suite.conclusion == "failure"
    with pytest.raises(GithubException) as refused:
        repo.get_pull(number).merge()
    assert refused.value.status == 405
    row = env.row("acme/broken", number)
    assert (row["state"], row["ci_runs"], row["mergeable_state"]) == ("open", 3, "blocked")


def test_behind_base_blocks_merge_until_the_branch_is_updated(env: Env) -> None:
    number = 1
    repo = env.repo("acme/behind")
    pull = repo.get_pull(number)
    first_head = pull.head.sha
    assert (pull.mergeable_state, pull.merged) == ("behind", False)
    assert [r.state for r in pull.get_reviews()] == ["APPROVED"]  # policy and approver still act
    wait_for(lambda: env.merged("acme/behind", 2), what="the healthy PR merged though behind main")
    assert repo.compare("main", first_head).behind_by == 3  # the CHANGELOG commit, PR 2 and its merge
    assert b"- Internal: " in repo.get_contents("CHANGELOG.md", ref="main").decoded_content
    with pytest.raises(GithubException) as refused:
        repo.get_pull(number).merge()
    assert refused.value.status == 405 and "out of date" in refused.value.data["message"]

    assert repo.get_pull(number).update_branch(expected_head_sha=first_head) is True
    wait_for(lambda: env.merged("acme/behind", number), what="merged after update-branch")
    row = env.row("acme/behind", number)
    assert row["ci_runs"] == 2 and row["head_sha"] != first_head


def test_policy_bot_missed_acts_on_its_recheck_comment_only(env: Env) -> None:
    number = 1
    repo = env.repo("acme/policy")
    pull = repo.get_pull(number)
    assert completed_suite(repo, pull.head.sha).conclusion == "success"
    assert list(repo.get_commit(pull.head.sha).get_statuses()) == []
    pull.create_issue_comment("/sod recheck")  # accepted, nobody acts on it
    pull.add_to_labels("approver-bot:recheck", "automerge")  # other bots' triggers
    wait_for(env.served.sim.settled, what="the bots' reactions to the comment and labels")
    assert list(repo.get_commit(pull.head.sha).get_statuses()) == [] and not repo.get_pull(number).merged

    pull.create_issue_comment("/policy-bot recheck")
    wait_for(lambda: env.merged("acme/policy", number), what="merged after the recheck")
    states = [(s.context, s.state) for s in repo.get_commit(pull.head.sha).get_statuses()]
    assert states == [("policy-bot", "success"), ("policy-bot", "pending")]
    decisions = env.served.sim.report()["fault_decisions"]
    assert {"pr": "acme/policy#1", "step": "policy-bot.receive.check_suite", "outcome": "drop"} in decisions


def test_approver_bot_missed_acts_when_its_label_is_added(env: Env) -> None:
    number = 1
    repo = env.repo("acme/approver")
    pull = repo.get_pull(number)
    assert repo.get_commit(pull.head.sha).get_combined_status().state == "success"
    assert list(pull.get_reviews()) == []
    pull.create_issue_comment("/sod recheck")
    pull.add_to_labels("automerge")
    wait_for(env.served.sim.settled, what="the bots' reactions to the comment and label")
    assert list(pull.get_reviews()) == [] and repo.get_pull(number).mergeable_state == "blocked"

    pull.add_to_labels("approver-bot:recheck")
    wait_for(lambda: env.merged("acme/approver", number), what="merged after the label")
    assert [(r.user.login, r.state) for r in pull.get_reviews()] == [("approver-bot[bot]", "APPROVED")]


def test_automerge_missed_merges_on_its_label_or_by_mender(env: Env) -> None:
    added, toggled, direct = 1, 2, 3
    repo = env.repo("acme/automerge")
    assert not any(repo.get_pull(n).merged for n in (added, toggled, direct))
    assert [label.name for label in repo.get_pull(toggled).labels] == ["automerge"]

    repo.get_pull(added).add_to_labels("automerge")
    wait_for(lambda: env.merged("acme/automerge", added), what="merged after the label was added")
    pull = repo.get_pull(toggled)
    pull.remove_from_labels("automerge")
    pull.add_to_labels("automerge")
    wait_for(lambda: env.merged("acme/automerge", toggled), what="merged after the label toggle")
    assert env.row("acme/automerge", toggled)["merged_by"] == "automerge-bot[bot]"

    pull = repo.get_pull(direct)
    assert pull.merge(sha=pull.head.sha, merge_method="squash").merged
    assert env.row("acme/automerge", direct)["merged_by"] == "mender-app[bot]"


def test_merge_conflict_heals_only_by_close_and_reopen(env: Env) -> None:
    number = 1
    repo = env.repo("acme/conflict")
    old = repo.get_pull(number)
    assert (old.mergeable, old.mergeable_state) == (False, "dirty")
    assert [r.state for r in old.get_reviews()] == ["APPROVED"]  # the bots still evaluate it
    assert old.update_branch() is False
    refused = httpx.put(f"{env.served.url}/repos/acme/conflict/pulls/{number}/update-branch", headers=AUTH)
    assert refused.status_code == 422 and refused.json()["message"] == "merge conflict between base and head"
    with pytest.raises(GithubException) as not_mergeable:
        old.merge()
    assert not_mergeable.value.status == 405

    # Mender's close-and-reopen: a branch off the latest base, the same change, a new PR, close the old.
    [changed] = list(old.get_files())
    assert (changed.status, changed.additions, changed.deletions) == ("modified", 1, 1)
    base_text = repo.get_contents(changed.filename, ref="main").decoded_content.decode()
    head_text = repo.get_contents(changed.filename, ref=old.head.sha).decoded_content.decode()
    [added] = [line[1:] for line in changed.patch.splitlines() if line.startswith("+")]
    assert added in head_text.splitlines() and added not in base_text.splitlines()
    base_sha = repo.get_branch("main").commit.sha
    repo.create_git_ref("refs/heads/mender/replace-1", base_sha)
    current = repo.get_contents(changed.filename, ref="mender/replace-1")
    wanted = repo.get_contents(changed.filename, ref=old.head.sha)
    written = repo.update_file(
        changed.filename, f"{old.title} (reapplied)", wanted.decoded_content, current.sha, "mender/replace-1"
    )
    assert written["commit"].sha == repo.get_branch("mender/replace-1").commit.sha
    new = repo.create_pull(title=old.title, body=f"Replaces #{number}", head="mender/replace-1", base="main")
    assert (new.user.login, new.mergeable, new.mergeable_state) == ("mender-app[bot]", None, "unknown")
    old.create_issue_comment(f"Superseded by #{new.number}")
    old.edit(state="closed")

    wait_for(lambda: env.merged("acme/conflict", new.number), what="the new PR merged by the bots")
    assert [f.filename for f in new.get_files()] == [changed.filename]
    old_row, new_row = env.row("acme/conflict", number), env.row("acme/conflict", new.number)
    assert (old_row["state"], old_row["closed_by_api"], old_row["replaced_by"]) == (
        "closed",
        True,
        new.number,
    )
    assert (new_row["author"], new_row["faults"], new_row["replaces"]) == ("mender-app[bot]", [], number)
    assert new_row["ci_runs"] == 1 and new_row["merged_by"] == "automerge-bot[bot]"
