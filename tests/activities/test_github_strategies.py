"""Each remediation strategy against the GitHub simulator through PyGithub, including its guard."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from fastapi import FastAPI, Request
from github import Auth, Github
from temporalio.testing import ActivityEnvironment

from activities import github as gh
from activities import reopen
from activities.github_gate import GATE
from domain.pr_healing.events import PRRef
from domain.pr_healing.remediation_config import BotMechanism, RebuildHook
from runtime.serving import ServerThread
from runtime.settings import get_settings, set_settings
from simulators.github import Simulator, SimulatorConfig, Timing, create_app
from tests.support.patience import patient
from tests.support.stack import make_settings

T = TypeVar("T")
REPO = "acme/api"
FAST = {"ci_start_seconds": 0.05, "ci_seconds": 0.2, "bot_delay_seconds": 0.05}


class Sim:
    def __init__(self, url: str, simulator: Simulator) -> None:
        self.url = url
        self.simulator = simulator
        self.github = Github(
            base_url=url,
            auth=Auth.Token("simulator-token"),
            seconds_between_requests=None,
            seconds_between_writes=None,
        )

    def open(self, *faults: str) -> PRRef:
        body = {"repo": REPO, "author": "dependabot[bot]", "faults": list(faults)}
        response = httpx.post(f"{self.url}/_sim/prs", json=body, timeout=10)
        response.raise_for_status()
        return PRRef(repo=REPO, number=response.json()["number"])

    def timing(self, **seconds: float) -> None:
        self.simulator.timing = Timing(**{**FAST, **seconds})

    def pull(self, pr: PRRef):
        return self.github.get_repo(pr.repo).get_pull(pr.number)

    def snapshot(self, pr: PRRef):
        """Everything about the PR, its checks included once merged (a check's `fetch_snapshot` stops there)."""
        repo = gh.github_client(get_settings(), pr.repo).get_repo(pr.repo)
        return gh.read_snapshot(repo, repo.get_pull(pr.number), pr)


def until(probe: Callable[[], T], ok: Callable[[T], bool], timeout: float = 15) -> T:
    deadline = time.monotonic() + patient(timeout)
    while True:
        value = probe()
        if ok(value):
            return value
        assert time.monotonic() < deadline, f"not reached; last: {value!r}"
        time.sleep(0.05)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    simulator = Simulator(SimulatorConfig())
    server = ServerThread(create_app(simulator))
    simulator.set_base_url(server.url)
    with server:
        simulator.timing = Timing(**FAST)
        settings = make_settings(tmp_path)
        settings.config = settings.config.model_copy(
            update={"github": settings.config.github.model_copy(update={"simulator_url": server.url})}
        )
        yield Sim(server.url, simulator)
    set_settings(None)


def test_rebuild_reruns_a_flaky_check_and_refuses_while_checks_run(sim: Sim) -> None:
    sim.timing(ci_seconds=patient(4.0))  # outlasts the mergeability computation, however loaded the machine
    pr = sim.open("flaky_checks")
    until(lambda: sim.snapshot(pr), lambda s: s.checks_pending and bool(s.check_runs))
    running = gh.rebuild(gh.StrategyArgs(pr=pr))
    assert not running.ok and "checks are running" in running.detail
    until(lambda: sim.snapshot(pr), lambda s: bool(s.failed_runs) and not s.checks_pending)
    failed = sim.snapshot(pr)
    [suite_id] = {r.suite_id for r in failed.failed_runs}
    [run] = sim.github.get_repo(REPO).get_workflow_runs(check_suite_id=suite_id)
    assert run.id != suite_id  # as on GitHub: re-running by the suite id would 404
    result = gh.rebuild(gh.StrategyArgs(pr=pr))
    assert result.ok and result.detail == f"re-ran failed jobs of run {run.id}"
    until(lambda: sim.snapshot(pr), lambda s: s.checks_passed)
    assert sim.github.get_repo(REPO).get_workflow_run(run.id).run_attempt == 2


def test_update_branch_brings_a_behind_pr_up_to_date_and_is_a_noop_otherwise(sim: Sim) -> None:
    healthy = sim.open()
    until(lambda: sim.snapshot(healthy), lambda s: s.checks_passed)
    assert gh.update_branch(gh.StrategyArgs(pr=healthy)).noop
    pr = sim.open("behind_base")
    snap = until(lambda: sim.snapshot(pr), lambda s: s.mergeable_state == "behind" and not s.checks_pending)
    result = gh.update_branch(gh.StrategyArgs(pr=pr, head_sha=snap.head_sha))
    assert result.ok and not result.noop
    assert sim.pull(pr).head.sha != snap.head_sha


def test_retriggered_bots_act_again(sim: Sim) -> None:
    policy = sim.open("policy_bot_missed")
    until(lambda: sim.snapshot(policy), lambda s: s.checks_passed)
    assert gh.retrigger_bot(gh.BotArgs(pr=policy, bot="policy")).ok
    until(lambda: sim.snapshot(policy), lambda s: (s.status_for("policy-bot") or s).state == "success")
    approver = sim.open("approver_bot_missed")
    until(lambda: sim.snapshot(approver), lambda s: (s.status_for("policy-bot") or s).state == "success")
    assert "label" in gh.retrigger_bot(gh.BotArgs(pr=approver, bot="approver")).detail
    until(lambda: sim.snapshot(approver), lambda s: s.approval() is not None)


def test_merge_exactly_once_and_only_green(sim: Sim) -> None:
    broken = sim.open("genuine_failure")
    until(lambda: sim.snapshot(broken), lambda s: bool(s.failed_runs))
    refused = gh.merge(gh.StrategyArgs(pr=broken))
    assert not refused.ok and not sim.pull(broken).merged
    pr = sim.open("automerge_missed")
    snap = until(
        lambda: sim.snapshot(pr), lambda s: s.approval() is not None and s.mergeable_state == "clean"
    )
    stale_head = gh.merge(gh.StrategyArgs(pr=pr, head_sha="0" * 40))
    assert not stale_head.ok and "head moved" in stale_head.detail
    assert gh.merge(gh.StrategyArgs(pr=pr, head_sha=snap.head_sha)).ok
    assert gh.merge(gh.StrategyArgs(pr=pr, head_sha=snap.head_sha)).noop  # never twice
    assert sim.pull(pr).merged
    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2)
    again = retry.run(gh.merge, gh.StrategyArgs(pr=pr, head_sha=snap.head_sha))  # after a crash
    assert again.ok and not again.noop and again.detail == "merged (found after a retry)"
    by_bot = sim.open()  # merged by its automerge bot: a retry does not claim it
    until(lambda: sim.pull(by_bot), lambda p: p.merged)
    assert retry.run(gh.merge, gh.StrategyArgs(pr=by_bot)).noop


def test_close_and_reopen_steps_replace_a_conflicting_pr(sim: Sim) -> None:
    pr = sim.open("merge_conflict")
    until(lambda: sim.snapshot(pr), lambda s: s.mergeable_state == "dirty")
    assert reopen.find_duplicate(reopen.ReopenArgs(pr=pr)) is None
    branch = reopen.create_branch(reopen.ReopenArgs(pr=pr))
    assert reopen.create_branch(reopen.ReopenArgs(pr=pr)) == branch  # idempotent
    assert reopen.copy_change(reopen.BranchArgs(pr=pr, branch=branch)) == 1
    opened = reopen.open_pr(reopen.BranchArgs(pr=pr, branch=branch))
    assert reopen.open_pr(reopen.BranchArgs(pr=pr, branch=branch)).number == opened.number  # idempotent
    new = PRRef(repo=REPO, number=opened.number)
    assert f"Replaces #{pr.number}" in sim.pull(new).body
    assert reopen.find_duplicate(reopen.ReopenArgs(pr=pr)) == opened.number  # the duplicate guard
    reopen.close_pr(reopen.CloseArgs(pr=pr, comment=f"Superseded by #{opened.number}"))
    assert sim.pull(pr).state == "closed"
    until(lambda: sim.snapshot(new), lambda s: s.mergeable_state != "dirty" and s.checks_passed)
    reopen.delete_branch(reopen.BranchArgs(pr=pr, branch="mender/never-created"))  # compensation is a no-op


def test_rebuild_hooks_and_api_mechanisms_reach_other_systems(sim: Sim) -> None:
    calls: list[dict] = []
    receiver = FastAPI()

    @receiver.post("/{name}")
    async def record(name: str, request: Request) -> dict:
        calls.append({"hook": name, **(await request.json())})
        return {"ok": True}

    with ServerThread(receiver) as hooks:
        settings = get_settings()
        remediation = settings.config.remediation.model_copy(
            update={
                "rebuild_hooks": [RebuildHook(context="test", url=f"{hooks.url}/jenkins")],
                "bots": {
                    **settings.config.remediation.bots,
                    "sod": BotMechanism(kind="api", url=f"{hooks.url}/sod"),
                },
            }
        )
        settings.config = settings.config.model_copy(update={"remediation": remediation})
        pr = sim.open("flaky_checks")
        until(lambda: sim.snapshot(pr), lambda s: bool(s.failed_runs) and not s.checks_pending)
        assert "rebuild hook for test" in gh.rebuild(gh.StrategyArgs(pr=pr)).detail
        assert gh.retrigger_bot(gh.BotArgs(pr=pr, bot="sod")).ok
    assert [c["hook"] for c in calls] == ["jenkins", "sod"]
    assert calls[0]["pull_request"] == pr.number and calls[0]["context"] == "test"


def test_a_nudge_retried_after_a_crash_finds_its_own_comment(sim: Sim) -> None:
    pr = sim.open("policy_bot_missed")
    until(lambda: sim.snapshot(pr), lambda s: s.checks_passed)
    since = datetime.now(UTC)
    first = gh.retrigger_bot(gh.BotArgs(pr=pr, bot="policy", since=since))
    retried = gh.retrigger_bot(gh.BotArgs(pr=pr, bot="policy", since=since))  # the same attempt again
    assert first.ok and retried.ok and "found after a retry" in retried.detail
    comment = get_settings().config.remediation.bots["policy"].comment
    posted = [c for c in sim.github.get_repo(REPO).get_issue(pr.number).get_comments() if c.body == comment]
    assert len(posted) == 1
    later = gh.retrigger_bot(gh.BotArgs(pr=pr, bot="policy", since=datetime.now(UTC) + timedelta(seconds=5)))
    assert later.ok and "found after a retry" not in later.detail  # a new attempt nudges again


def test_a_replacement_merged_before_the_retry_is_found_not_opened_twice(sim: Sim) -> None:
    pr = sim.open("merge_conflict")
    until(lambda: sim.snapshot(pr), lambda s: s.mergeable_state == "dirty")
    branch = reopen.create_branch(reopen.ReopenArgs(pr=pr))
    reopen.copy_change(reopen.BranchArgs(pr=pr, branch=branch))
    opened = reopen.open_pr(reopen.BranchArgs(pr=pr, branch=branch))
    new = PRRef(repo=REPO, number=opened.number)
    until(lambda: sim.pull(new).merged, bool, timeout=30)  # the bots merge it while the worker is down
    again = reopen.open_pr(reopen.BranchArgs(pr=pr, branch=branch))
    assert again.number == opened.number
    assert reopen.find_duplicate(reopen.ReopenArgs(pr=pr)) == opened.number
    pulls = list(sim.github.get_repo(REPO).get_pulls(state="all", head=f"acme:{branch}"))
    assert [p.number for p in pulls] == [opened.number]


def test_a_close_retried_after_a_crash_between_its_note_and_the_close_posts_the_note_once(sim: Sim) -> None:
    pr = sim.open("merge_conflict")
    note = "Superseded by #9: reopened from the latest base."
    sim.github.get_repo(REPO).get_issue(pr.number).create_comment(note)  # the killed attempt got this far
    reopen.close_pr(reopen.CloseArgs(pr=pr, comment=note))  # its retry
    assert sim.pull(pr).state == "closed"
    notes = [c.body for c in sim.github.get_repo(REPO).get_issue(pr.number).get_comments()]
    assert notes.count(note) == 1


def test_a_label_nudge_retried_after_a_crash_does_not_toggle_again(sim: Sim) -> None:
    pr = sim.open("approver_bot_missed")
    until(lambda: sim.snapshot(pr), lambda s: (s.status_for("policy-bot") or s).state == "success")
    first, retry = ActivityEnvironment(), ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2)
    args = gh.BotArgs(pr=pr, bot="approver")
    assert "toggled" in first.run(gh.retrigger_bot, args).detail
    assert "found after a retry" in retry.run(gh.retrigger_bot, args).detail  # the label is there
    assert "toggled" in first.run(gh.retrigger_bot, args).detail  # a new nudge toggles it again


def test_a_branch_update_retried_after_a_crash_is_journaled_as_done(sim: Sim) -> None:
    """The attempt the worker died in had updated the branch: the retry reports what GitHub shows (the
    base merged into the head it was asked to update), not "nothing to do"; a head moved by anything
    else, or seen by a first attempt, is still nothing to do."""
    pr = sim.open("behind_base")
    snap = until(lambda: sim.snapshot(pr), lambda s: s.mergeable_state == "behind" and not s.checks_pending)
    first, retry = ActivityEnvironment(), ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2)
    args = gh.StrategyArgs(pr=pr, head_sha=snap.head_sha)
    assert first.run(gh.update_branch, args).detail.startswith("updated")  # then the worker dies
    again = retry.run(gh.update_branch, args)
    assert again.ok and not again.noop and "found after a retry" in again.detail
    assert first.run(gh.update_branch, args).noop  # a first attempt did not do it: not claimed
    moved = gh.StrategyArgs(pr=pr, head_sha="0" * 40)  # a head the update was never asked about
    assert retry.run(gh.update_branch, moved).noop


def test_a_repository_github_refuses_fails_as_that_repository_alone(sim: Sim) -> None:
    """Archived, forbidden or gone: a failure only this repository causes (its own breaker isolates
    it, `domain/shared/breaker_isolation.py`), never retried; rate-limited: retried after Retry-After.
    An archived repository's update-branch 403 is one PyGithub does not raise: the activity says it."""
    from temporalio.exceptions import ApplicationError

    from domain.shared.breaker_isolation import repo_only

    pr = sim.open("behind_base")
    snap = until(lambda: sim.snapshot(pr), lambda s: s.mergeable_state == "behind" and not s.checks_pending)

    def refuse(kind: str | None, retry_after: int = 60) -> None:
        body = {"repo": REPO, "kind": kind, "retry_after": retry_after}
        httpx.post(f"{sim.url}/_sim/repos/refusal", json=body, timeout=10).raise_for_status()

    try:
        for kind, expected in (
            ("archived", "GitHubRepoUnavailable"),
            ("forbidden", "GitHubAccessDenied"),
            ("gone", "GitHubRepoUnavailable"),
        ):
            refuse(kind)
            with pytest.raises(ApplicationError) as failed:
                gh.update_branch(gh.StrategyArgs(pr=pr, head_sha=snap.head_sha))
            assert (failed.value.type, failed.value.non_retryable) == (expected, True), kind
            assert repo_only(expected)
        refuse("rate_limited", retry_after=7)
        with pytest.raises(ApplicationError) as limited:
            gh.fetch_snapshot(pr)
        assert limited.value.type == "GitHubRateLimited" and not limited.value.non_retryable
        assert limited.value.next_retry_delay == timedelta(seconds=7) and not repo_only(limited.value.type)
        GATE.clear()
        refuse(None)  # GitHub answers again (no longer archived): the same update goes through
        assert sim.github.get_repo(REPO).archived is False
        assert gh.update_branch(gh.StrategyArgs(pr=pr, head_sha=snap.head_sha)).ok
    finally:
        GATE.clear()
