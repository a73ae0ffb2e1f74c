"""Fix merge requests on GitLab: the fix activities against the GitLab simulator through python-gitlab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest

from activities import ci, fixpr
from contracts.ci import FixArgs, FixResult, FixVerdict
from contracts.fixpr import (
    ChecksSnapshot,
    CloseFixArgs,
    DefaultRunQuery,
    FixPRRef,
    PublishArgs,
    RevertArgs,
)
from domain.ci_healing.runs import CIRunRef, Conclusion, Provider
from domain.config import MenderConfig
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Tier
from runtime.serving import ServerThread
from runtime.settings import Environment, Settings, set_settings
from simulators.gitlab import GitLabSimConfig, GitLabSimulator, create_app
from tests.simulators.helpers import wait_for

LOG = "$ pytest\nModuleNotFoundError: No module named 'requests'\nERROR: Job failed: exit code 1\n"
PROJECT = "acme/api"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[GitLabSimulator]:
    sim = GitLabSimulator(GitLabSimConfig(ci_seconds=0.2))
    with ServerThread(create_app(sim)) as server:
        sim.set_base_url(server.url)
        config = MenderConfig(ci={"gitlab": {"simulator_url": server.url}})
        set_settings(Settings(config, Environment(mender_config=tmp_path / "absent.yaml")))
        yield sim
    set_settings(None)


def diagnosis() -> Diagnosis:
    return Diagnosis(
        category=Category.DEPENDENCY,
        action=FixAction.ADD_DEPENDENCY,
        risk_score=2,
        tier=Tier.LOW,
        confidence=90,
        key_line="ModuleNotFoundError: No module named 'requests'",
        params={"module": "requests"},
        explanation="requests is not installed",
    )


def open_fix(sim: GitLabSimulator, heals_on: str = "fix") -> tuple[CIRunRef, FixResult]:
    sim.add_files(PROJECT, {"requirements.txt": "flask\n"})
    failed = sim.add_pipeline(PROJECT, LOG, heals_on=heals_on, job="unit")
    sim.set_fix_jobs(PROJECT, {"lint": "success", "mypy": "success"})
    run = CIRunRef(provider=Provider.GITLAB, project=PROJECT, run_id=failed.id)
    fix = ci.open_fix(FixArgs(run=run, diagnosis=diagnosis(), attempt=1, run_url="http://ci/1"))
    return run, fix


def finished(pr: FixPRRef) -> ChecksSnapshot:
    return wait_for(lambda: (s := fixpr.checks(pr)).done and s, what="the MR pipeline's jobs")


def test_open_fix_commits_and_opens_a_merge_request_idempotently(sim: GitLabSimulator) -> None:
    run, fix = open_fix(sim)
    assert fix.opened and fix.branch == run.fix_branch(1) and fix.files == ["requirements.txt"]
    again = ci.open_fix(FixArgs(run=run, diagnosis=diagnosis(), attempt=1))
    assert again.pr_number == fix.pr_number
    project = sim.project(PROJECT)
    [mr] = project.merge_requests.values()
    assert mr.title.startswith("[mender] Add missing dependency requests") and "mender" in mr.labels
    assert len(mr.pipeline_ids) == 1  # the retried activity made no second commit
    assert project.branches[fix.branch].files["requirements.txt"] == "flask\nrequests\n"
    assert ci.open_fix(FixArgs(run=run, diagnosis=diagnosis(), attempt=2)).opened is False


@pytest.mark.parametrize("heals_on", ["fix", "never"])
def test_checks_are_the_mr_pipeline_jobs(sim: GitLabSimulator, heals_on: str) -> None:
    run, fix = open_fix(sim, heals_on)
    pr = FixPRRef(run=run, number=fix.pr_number or 0, branch=fix.branch or "")
    snapshot = finished(pr)
    unit = "success" if heals_on == "fix" else "failure"
    assert {c.name: c.conclusion for c in snapshot.checks} == {
        "build": "success",
        "unit": unit,
        "lint": "success",
        "mypy": "success",
    }
    assert snapshot.state == "open" and snapshot.base == "main" and snapshot.approvals == []
    fixpr.publish(PublishArgs(pr=pr, section="| signal | state |", label="mender:merge", comment="Scored."))
    mr = sim.repo.merge_request(PROJECT, pr.number)
    assert "| signal | state |" in mr.description and "mender:merge" in mr.labels and mr.notes == ["Scored."]
    result = fixpr.merge(pr)
    assert result.merged is (heals_on == "fix")
    if heals_on == "never":
        assert "refused" in result.detail and mr.state == "opened"


def test_merge_after_one_approval(sim: GitLabSimulator) -> None:
    run, fix = open_fix(sim)
    pr = FixPRRef(run=run, number=fix.pr_number or 0, branch=fix.branch or "")
    finished(pr)
    waiting = fixpr.merge_after_approval(pr)
    assert not waiting.merged and "after 1 approval" in waiting.detail
    assert fixpr.checks(pr).state == "open"
    gl = gitlab.Gitlab(sim.base_url, private_token="t")
    gl.projects.get(PROJECT).mergerequests.get(pr.number).approve(sudo="reviewer")
    snapshot = fixpr.checks(pr)
    assert snapshot.state == "merged" and snapshot.approvals == ["reviewer"] and snapshot.merge_sha
    assert fixpr.merge(pr).detail == "already merged"
    assert sim.project(PROJECT).branches["main"].files["requirements.txt"] == "flask\nrequests\n"


def test_close_and_rollback(sim: GitLabSimulator) -> None:
    run, fix = open_fix(sim, "never")
    pr = FixPRRef(run=run, number=fix.pr_number or 0, branch=fix.branch or "")
    fixpr.close(CloseFixArgs(pr=pr, reason="tests still fail"))
    fixpr.close(CloseFixArgs(pr=pr, reason="tests still fail"))  # idempotent
    mr = sim.repo.merge_request(PROJECT, pr.number)
    assert mr.state == "closed" and mr.notes == ["Closed by Mender: tests still fail"]
    assert fix.branch not in sim.project(PROJECT).branches
    ci.rollback(FixVerdict(run=run, fix=fix, passed=False, detail="unit failed"))  # already closed: no error


def test_a_red_default_branch_after_the_merge_is_reverted(sim: GitLabSimulator) -> None:
    """Saga compensation: the revert API on the merge commit, a revert MR merged when its pipeline
    succeeds; a retried activity makes no second revert; the default branch is green again."""
    sim.break_after_merge(PROJECT)
    run, fix = open_fix(sim)
    pr = FixPRRef(run=run, number=fix.pr_number or 0, branch=fix.branch or "")
    finished(pr)
    merged = fixpr.merge(pr)
    assert merged.merged and merged.sha
    red = fixpr.default_run(DefaultRunQuery(pr=pr, merge_sha=merged.sha))
    assert red is not None and red.conclusion is Conclusion.FAILURE
    args = RevertArgs(pr=pr, merge_sha=merged.sha, reason="the default branch failed", files=fix.files)
    first = fixpr.revert(args)
    assert first.opened and not first.merged and first.detail == "merge when pipeline succeeds"
    again = wait_for(lambda: (r := fixpr.revert(args)).merged and r, what="the revert MR merged")
    assert again.number == first.number and again.url and "/merge_requests/" in again.url
    project = sim.project(PROJECT)
    assert [m.title for m in project.merge_requests.values()].count(f"[mender] Revert !{pr.number}") == 1
    assert project.branches["main"].files["requirements.txt"] == "flask\n"
    head = project.branches["main"].commit.id
    assert [p.status for p in sim.pipelines.values() if p.sha == head] == ["success"]
    assert sim.pipeline(PROJECT, red.run.run_id).healed_by == "fix"


def test_a_revert_that_cannot_apply_is_a_result(sim: GitLabSimulator) -> None:
    """Nothing to undo (GitLab's 400 `empty`/`conflict`): not opened, with GitLab's reason."""
    sim.ensure_project(PROJECT)
    root = sim.repo.branch(PROJECT, "main").commit.id  # the initial commit changed nothing
    run = CIRunRef(provider=Provider.GITLAB, project=PROJECT, run_id=1)
    pr = FixPRRef(run=run, number=1, branch="mender/ci-fix/1-1")
    result = fixpr.revert(RevertArgs(pr=pr, merge_sha=root, reason="red"))
    assert not result.opened and "cannot revert" in result.detail
    assert "mender/ci-fix/revert-1" not in sim.project(PROJECT).branches


@pytest.mark.parametrize("signs", [False, True])
def test_commits_are_verified_only_when_gitlab_signed_them(sim: GitLabSimulator, signs: bool) -> None:
    sim.sign_commits(PROJECT, signs)
    run, fix = open_fix(sim)
    pr = FixPRRef(run=run, number=fix.pr_number or 0, branch=fix.branch or "")
    assert fixpr.checks(pr).verified is signs


def test_a_timeout_fix_edits_the_gitlab_ci_file(sim: GitLabSimulator) -> None:
    """Issue 17: GitLab fix MRs edit `.gitlab-ci.yml` (here the job timeout) like GitHub workflow files."""
    ci_file = "unit:\n  stage: test\n  timeout: 45m\n  script:\n    - pytest\n"
    sim.add_files(PROJECT, {".gitlab-ci.yml": ci_file})
    failed = sim.add_pipeline(PROJECT, "ERROR: Job failed: execution took longer than 45m0s", job="unit")
    run = CIRunRef(provider=Provider.GITLAB, project=PROJECT, run_id=failed.id)
    slow = diagnosis().model_copy(
        update={"action": FixAction.INCREASE_TIMEOUT, "category": Category.FLAKY_TEST, "params": {}}
    )
    fix = ci.open_fix(FixArgs(run=run, diagnosis=slow, attempt=1))
    assert fix.opened and fix.files == [".gitlab-ci.yml"]
    edited = sim.project(PROJECT).branches[fix.branch].files[".gitlab-ci.yml"]
    assert edited == ci_file.replace("45m", "1h 30m")
    assert "timeout" in sim.repo.merge_request(PROJECT, fix.pr_number or 0).title


def test_a_close_or_note_retried_after_a_crash_posts_it_once(sim: GitLabSimulator) -> None:
    """Issue 14 (3): the killed attempt posted its note; the retry finds it, and closes."""
    run, fix = open_fix(sim, "never")
    pr = FixPRRef(run=run, number=fix.pr_number or 0, branch=fix.branch or "")
    gl = gitlab.Gitlab(sim.base_url, private_token="t")
    gl.projects.get(PROJECT).mergerequests.get(pr.number).notes.create({"body": "Closed by Mender: red"})
    fixpr.close(CloseFixArgs(pr=pr, reason="red"))  # the retry
    why = "merge it yourself after review"
    fixpr.publish(PublishArgs(pr=pr, section="", comment=why))
    fixpr.publish(PublishArgs(pr=pr, section="", comment=why))  # retried
    mr = sim.repo.merge_request(PROJECT, pr.number)
    assert mr.state == "closed" and mr.notes == ["Closed by Mender: red", why]
