"""The CI failure workflow's decisions as tables (`domain/ci_healing/healing.py`), without Temporal."""

from __future__ import annotations

import pytest

from domain.ci_healing.config import CIConfig, Stage
from domain.ci_healing.healing import (
    AttemptStep,
    approval_outcome,
    decide_attempt,
    final_stage,
    healed_outcome,
    max_attempts,
    rerun_backoff_seconds,
)
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.risk import GateDecision, Verdict
from domain.ci_healing.runs import Provider
from domain.diagnosis.verdict import FixAction

GH, GL = Provider.GITHUB, Provider.GITLAB


def gate(verdict: Verdict, *reasons: str) -> GateDecision:
    return GateDecision(verdict=verdict, reasons=list(reasons))


@pytest.mark.parametrize(
    ("decision", "action", "provider", "approved", "step", "reason"),
    [
        pytest.param(
            gate(Verdict.AUTO), FixAction.RETRY, GH, False, AttemptStep.RUN, "", id="low-risk-rerun-runs"
        ),
        pytest.param(
            gate(Verdict.AUTO_NOTIFY),
            FixAction.RETRY,
            GL,
            False,
            AttemptStep.RUN_AND_NOTIFY,
            "",
            id="medium-notifies",
        ),
        pytest.param(
            gate(Verdict.APPROVAL, "risk 6 > 4"),
            FixAction.ADD_DEPENDENCY,
            GH,
            False,
            AttemptStep.ASK_APPROVAL,
            "",
            id="high-risk-asks",
        ),
        pytest.param(
            gate(Verdict.APPROVAL),
            FixAction.ADD_DEPENDENCY,
            GH,
            True,
            AttemptStep.RUN,
            "",
            id="asked-once-only",
        ),
        pytest.param(
            gate(Verdict.HUMAN, "code failure", "protected repository"),
            FixAction.HUMAN,
            GH,
            True,
            AttemptStep.ESCALATE,
            "code failure; protected repository",
            id="human-verdict-escalates",
        ),
        pytest.param(
            gate(Verdict.AUTO),
            FixAction.ADD_DEPENDENCY,
            GL,
            False,
            AttemptStep.RUN,
            "",
            id="gitlab-fix-mr-for-a-dependency",
        ),
        pytest.param(
            gate(Verdict.AUTO),
            FixAction.SET_ENV_DEFAULT,
            GL,
            False,
            AttemptStep.RUN,
            "",
            id="gitlab-ci-file-edit-is-a-fix-mr",
        ),
        pytest.param(
            gate(Verdict.AUTO),
            FixAction.QUARANTINE,
            GL,
            False,
            AttemptStep.ESCALATE,
            "no automated fix for quarantine on gitlab",
            id="gitlab-quarantine-goes-to-a-human",
        ),
        pytest.param(
            gate(Verdict.APPROVAL),
            FixAction.FIX_CONFIG,
            GH,
            False,
            AttemptStep.ESCALATE,
            "no automated fix for fix_config on github",
            id="unexecutable-before-asking",
        ),
    ],
)
def test_each_attempt_follows_the_gate_and_what_mender_can_execute(
    decision: GateDecision,
    action: FixAction,
    provider: Provider,
    approved: bool,
    step: AttemptStep,
    reason: str,
) -> None:
    answer = decide_attempt(decision, action, provider, approved)
    assert (answer.step, answer.reason) == (step, reason)


IN_REVIEW = GateDecision(verdict=Verdict.APPROVAL, reasons=["learned.1 in review"], review_only=True)


@pytest.mark.parametrize(
    ("decision", "action", "approved", "review_queue", "step"),
    [
        # a learned fix in review opens its fix PR into the review queue, no Slack question first
        (IN_REVIEW, FixAction.ADD_DEPENDENCY, False, True, AttemptStep.RUN_FOR_REVIEW),
        (IN_REVIEW, FixAction.SET_ENV_DEFAULT, False, True, AttemptStep.RUN_FOR_REVIEW),
        # no review queue (fix PR workflows off, or GitLab): Slack asks as before
        (IN_REVIEW, FixAction.ADD_DEPENDENCY, False, False, AttemptStep.ASK_APPROVAL),
        # a re-run has no PR to review: asked as before
        (IN_REVIEW, FixAction.RETRY, False, True, AttemptStep.ASK_APPROVAL),
        # approved already (an earlier attempt): runs
        (IN_REVIEW, FixAction.ADD_DEPENDENCY, True, True, AttemptStep.RUN),
        # an approval that is not review-only (a built-in playbook) still asks in Slack
        (gate(Verdict.APPROVAL, "risk"), FixAction.ADD_DEPENDENCY, False, True, AttemptStep.ASK_APPROVAL),
        (
            GateDecision(verdict=Verdict.HUMAN, reasons=["code"], review_only=True),
            FixAction.ADD_DEPENDENCY,
            False,
            True,
            AttemptStep.ESCALATE,
        ),
    ],
)
def test_a_learned_fix_in_review_goes_to_the_review_queue_instead_of_slack(
    decision: GateDecision, action: FixAction, approved: bool, review_queue: bool, step: AttemptStep
) -> None:
    assert decide_attempt(decision, action, GH, approved, review_queue).step is step


def test_budgets_backoff_and_endings() -> None:
    ci = CIConfig(rerun_attempts=4, fix_attempts=2, rerun_backoff_seconds=10)
    assert max_attempts(ci, FixAction.RETRY) == 4 and max_attempts(ci, FixAction.ADD_DEPENDENCY) == 2
    assert [rerun_backoff_seconds(ci, n) for n in (1, 2, 3, 4)] == [0.0, 10.0, 20.0, 40.0]
    assert healed_outcome(True) is CIOutcome.APPROVED_FIXED and healed_outcome(False) is CIOutcome.AUTO_FIXED
    assert (
        final_stage(CIOutcome.AUTO_FIXED) is Stage.FIXED and final_stage(CIOutcome.INCIDENT) is Stage.FAILED
    )
    assert final_stage(CIOutcome.OBSERVED) is None
    assert [approval_outcome(a) for a in (True, False, None)] == ["approved", "rejected", "timed_out"]
