"""The fix PR decider's GitLab rows: a fix MR merged when its pipeline succeeds, merged by GitLab on one
approval, or queued for review (the decider and its table helpers in test_fixpr_decider.py)."""

from __future__ import annotations

from typing import Any

import pytest

from domain.ci_healing import fixpr_decider as decider
from domain.ci_healing.fixpr_effects import FixPRMemory, ReadChecks, ReadDefaultRun
from domain.ci_healing.fixpr_results import ChecksSnapshot, FixPRRef
from domain.ci_healing.runs import CIRunRef, Provider
from tests.unit.test_fixpr_decider import audited, carry, ctx, kinds, memory, settings, snap

MR = FixPRRef(
    run=CIRunRef(provider=Provider.GITLAB, project="acme/api", run_id=1001),
    number=3,
    branch="mender/ci-fix/1001-1",
)


def gitlab(m: FixPRMemory) -> FixPRMemory:
    return m.model_copy(
        update={
            "input": m.input.model_copy(update={"pr": MR}),
            "status": m.status.model_copy(update={"pr": MR}),
        }
    )


def routed(checks: ChecksSnapshot, **d: Any) -> tuple[FixPRMemory, list[str]]:
    m, _ = carry(decider.start(gitlab(memory(**d)), ctx()), settings())
    m, done = carry(decider.resume(m, ctx(), ReadChecks(), checks), None, None)
    return m, kinds(done)


@pytest.mark.parametrize(
    ("checks", "effects", "stage"),
    [
        pytest.param(snap(), ["MergeFix"], "merge", id="score>=0.95: merge when the pipeline succeeds"),
        pytest.param(
            snap(lint="failure"),
            ["EnableAutoMerge", "HoldRun", "ReadChecks"],  # its run waits for the merge
            "waiting for one approval",
            id="score>=0.80: GitLab merges after one approval",
        ),
        pytest.param(
            snap(tests="failure"),
            ["HoldRun", "EnqueueReview"],  # its run waits for the review, too
            "review",
            id="score<0.80: review queue",
        ),
    ],
)
def test_gitlab_routes(checks: ChecksSnapshot, effects: list[str], stage: str) -> None:
    m, done = routed(checks)
    told = [] if stage == "merge" else ["TellRun"]  # a merge route tells its run once merged (or refused)
    assert done[: done.index("AuditFixPR")] == ["LoadPrior", "PublishEvidence", *told]
    assert done[done.index("AuditFixPR") + 1 :] == effects
    assert m.status.stage == stage


def test_github_auto_merge_has_no_gitlab_effect() -> None:
    m, _ = carry(decider.start(memory(), ctx()), settings())
    m, done = carry(decider.resume(m, ctx(), ReadChecks(), snap(lint="failure")), None, None)
    assert "EnableAutoMerge" not in kinds(done)


def test_merged_by_gitlab_on_approval_is_watched() -> None:
    m, _ = routed(snap(lint="failure"))
    merged = snap(state="merged", approvals=("reviewer",)).model_copy(update={"merge_sha": "m1"})
    m, done = carry(decider.resume(m, ctx(), ReadChecks(), merged))
    assert audited(done) == ["merged"] and done[-1] == ReadDefaultRun("m1")
    assert m.merge_outcome == "merged on approval" and not m.awaiting_review
    closed = snap(state="closed")
    m, _ = routed(snap(lint="failure"))
    m, done = carry(decider.resume(m, ctx(), ReadChecks(), closed))
    assert m.done and m.status.outcome == "closed outside Mender"
