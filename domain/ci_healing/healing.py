"""The CI attempt rules, pure: what each attempt does, when to stop, how the run ends.

The decider (`domain/ci_healing/decider.py`, `steps.py`) applies them; each rule here is table-tested
in `tests/unit/test_ci_healing_decisions.py`, the decider in `tests/unit/test_ci_decider.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.ci_healing.config import CIConfig, Stage
from domain.ci_healing.outcomes import RERUN_ACTIONS, CIOutcome, executable
from domain.ci_healing.risk import GateDecision, Verdict
from domain.ci_healing.runs import Provider
from domain.diagnosis.verdict import FixAction


class AttemptStep(StrEnum):
    """What an attempt does next, once the gate has spoken."""

    ESCALATE = "escalate"  # a human gets the plan (gate says human, or Mender cannot execute it)
    ASK_APPROVAL = "ask_approval"  # Slack buttons first
    RUN = "run"  # carry out the plan now
    RUN_AND_NOTIFY = "run_and_notify"  # medium risk: carry it out and say so
    RUN_FOR_REVIEW = "run_for_review"  # a learned fix in review: open its fix PR into the review queue


@dataclass(frozen=True)
class AttemptDecision:
    step: AttemptStep
    reason: str = ""


def decide_attempt(
    decision: GateDecision,
    action: FixAction,
    provider: Provider,
    approved: bool,
    review_queue: bool = False,
    gitlab_ci_edits: bool = True,
) -> AttemptDecision:
    """The gate's verdict for this attempt, with what Mender can execute on `provider`.

    Fails closed: a human verdict, or a plan Mender cannot carry out itself, escalates; an approval
    asked once (and given) is not asked again for a later attempt of the same plan. A `review_only`
    approval (a learned fix in review) opens the fix PR into the review queue instead of asking in Slack,
    when there is one (`review_queue`: fix PR workflows on); else it asks as usual.
    """
    if decision.verdict is Verdict.HUMAN:
        return AttemptDecision(AttemptStep.ESCALATE, "; ".join(decision.reasons))
    if not executable(action, provider, gitlab_ci_edits):
        return AttemptDecision(
            AttemptStep.ESCALATE, f"no automated fix for {action.value} on {provider.value}"
        )
    if decision.verdict is Verdict.APPROVAL and not approved:
        if decision.review_only and review_queue and action not in RERUN_ACTIONS:
            return AttemptDecision(AttemptStep.RUN_FOR_REVIEW, "; ".join(decision.reasons))
        return AttemptDecision(AttemptStep.ASK_APPROVAL)
    if decision.verdict is Verdict.AUTO_NOTIFY:
        return AttemptDecision(AttemptStep.RUN_AND_NOTIFY)
    return AttemptDecision(AttemptStep.RUN)


def max_attempts(ci: CIConfig, action: FixAction) -> int:
    """Re-runs have their own budget (`ci.rerun_attempts`); fix PRs `ci.fix_attempts`."""
    return ci.rerun_attempts if action is FixAction.RETRY else ci.fix_attempts


def is_rerun(action: FixAction) -> bool:
    return action in RERUN_ACTIONS


def rerun_backoff_seconds(ci: CIConfig, attempt: int) -> float:
    """Exponential backoff before re-run `attempt` (none before the first)."""
    return 0.0 if attempt <= 1 else ci.rerun_backoff_seconds * 2 ** (attempt - 2)


def healed_outcome(approved: bool) -> CIOutcome:
    return CIOutcome.APPROVED_FIXED if approved else CIOutcome.AUTO_FIXED


def final_stage(outcome: CIOutcome) -> Stage | None:
    """The notice a finished run sends (None: observe mode announces nothing more)."""
    if outcome is CIOutcome.OBSERVED:
        return None
    if outcome is CIOutcome.AWAITING_REVIEW:
        return Stage.ANALYSED  # not fixed until a reviewer merges it
    return Stage.FIXED if outcome in (CIOutcome.AUTO_FIXED, CIOutcome.APPROVED_FIXED) else Stage.FAILED


def approval_outcome(approved: bool | None) -> str:
    """The audit outcome of an approval wait: approved, rejected, or timed out (None)."""
    if approved is None:
        return "timed_out"
    return "approved" if approved else "rejected"
