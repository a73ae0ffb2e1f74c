"""Risk scoring and the safety gate for CI remediations. Pure rules; every rule fails closed.

Score (0-10): the action's base risk (or the playbook's stated level), raised when the diagnosis is
unsure, 10 for `code` failures and `human` plans. Tier: low <= 3 < medium <= 6 < high.

The gate asks a human (APPROVAL) when any rule fails; each rule says what a missing fact means:
- the plan is `human`, or the category is `code`/`unknown` -> HUMAN (never automated, not even on approval)
- the repository is protected                               -> APPROVAL
- the score is above the repository's threshold             -> APPROVAL
- the confidence is below the floor                         -> APPROVAL
  (capped by the playbook's measured success rate when known: a playbook that healed 50% of its runs
  is never more than 50% sure, `domain.ci_healing.playbook_history`)
- the plan changes application code                         -> APPROVAL
- the playbook does not enable auto-fix                     -> APPROVAL
- the diagnosis came from the LLM and the plan is not a plain re-run -> APPROVAL
  (a model's word never unlocks a protected decision: log text is data, not instructions)
Otherwise low-tier plans run (AUTO), medium-tier plans run and notify (AUTO_NOTIFY).
A learned fix not promoted yet (`domain.ci_healing.learned`) gets APPROVAL marked `review_only`: its fix
PR may be opened without asking first, but only into the review queue (a human approves the PR itself).
The gate is evaluated when the decision is taken, with the configuration current at that moment, so a
changed threshold applies to decisions still pending.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.ci_healing.config import RiskConfig
from domain.ci_healing.playbook_history import LEARNED_PREFIX, capped_confidence
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Source, Tier

BASE_RISK: dict[FixAction, float] = {
    FixAction.RETRY: 1.0,
    FixAction.FREE_DISK: 2.0,
    FixAction.INCREASE_TIMEOUT: 3.0,
    FixAction.INCREASE_MEMORY: 3.0,
    FixAction.SET_ENV_DEFAULT: 4.0,
    FixAction.ADD_DEPENDENCY: 4.0,
    FixAction.QUARANTINE: 5.0,
    FixAction.PIN_OR_BUMP_DEPENDENCY: 6.0,
    FixAction.FIX_CONFIG: 6.0,
    FixAction.HUMAN: 10.0,
}
LEVEL_RISK = {"low": 2.0, "medium": 5.0, "high": 8.0}


def score(action: FixAction, category: Category, confidence: int, level: str | float | None = None) -> float:
    """The risk score of running `action`: its base (or the playbook's `level`) plus an unsureness term."""
    if action is FixAction.HUMAN or category in (Category.CODE, Category.UNKNOWN):
        return 10.0
    if isinstance(level, int | float):
        base = float(level)
    elif isinstance(level, str) and level in LEVEL_RISK:
        base = LEVEL_RISK[level]
    else:
        base = BASE_RISK[action]
    unsure = max(0, 100 - confidence) / 25.0  # 0 at full confidence, 4 at none
    return round(min(10.0, base + unsure), 1)


def tier(risk_score: float) -> Tier:
    """The tier of a score."""
    if risk_score <= 3:
        return Tier.LOW
    if risk_score <= 6:
        return Tier.MEDIUM
    return Tier.HIGH


class Verdict(StrEnum):
    AUTO = "auto"  # run now
    AUTO_NOTIFY = "auto_notify"  # run now and tell the channel
    APPROVAL = "approval"  # a human approves or rejects in Slack
    HUMAN = "human"  # nothing to run: a human fixes it


class GateDecision(BaseModel):
    """The gate's verdict and every reason that led to it."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    reasons: list[str]
    review_only: bool = False  # APPROVAL of a learned fix in review: its fix PR goes to the review queue


def learned_in_review(diagnosis: Diagnosis) -> bool:
    """True for a learned fix's plan not promoted yet (auto-fix off until merged successfully N times)."""
    playbook = diagnosis.playbook or ""
    return playbook.startswith(LEARNED_PREFIX) and not diagnosis.auto_fix


def gate(
    diagnosis: Diagnosis, project: str, risk: RiskConfig, success_rate: float | None = None
) -> GateDecision:
    """Decide whether `diagnosis`'s plan for `project` may run without a human; `success_rate` is the
    playbook's measured one (None: too few attempts yet)."""
    if diagnosis.action is FixAction.HUMAN or diagnosis.category in (Category.CODE, Category.UNKNOWN):
        return GateDecision(verdict=Verdict.HUMAN, reasons=["the failure needs a code change by a human"])
    reasons: list[str] = []
    if project in risk.protected_repositories:
        reasons.append(f"{project} is a protected repository")
    threshold = risk.threshold_for(project)
    if diagnosis.risk_score > threshold:
        reasons.append(f"risk {diagnosis.risk_score} is above the threshold {threshold}")
    confidence = capped_confidence(diagnosis.confidence, success_rate)
    if confidence < risk.confidence_floor:
        measured = (
            "" if confidence == diagnosis.confidence else f" (playbook success rate {success_rate:.0%})"
        )
        reasons.append(f"confidence {confidence}{measured} is below the floor {risk.confidence_floor}")
    if diagnosis.changes_code:
        reasons.append("the fix changes application code")
    in_review = learned_in_review(diagnosis)
    if in_review:
        reasons.append(f"{diagnosis.playbook} is a learned fix still in review: a human approves its fix PR")
    elif not diagnosis.auto_fix:
        reasons.append("the playbook does not enable auto-fix")
    if diagnosis.source is not Source.PLAYBOOK and diagnosis.action is not FixAction.RETRY:
        reasons.append("the plan comes from the model, which cannot authorise a change on its own")
    if diagnosis.tier is Tier.HIGH:
        reasons.append("the risk tier is high")
    if reasons:
        return GateDecision(verdict=Verdict.APPROVAL, reasons=reasons, review_only=in_review)
    if diagnosis.tier is Tier.MEDIUM:
        return GateDecision(verdict=Verdict.AUTO_NOTIFY, reasons=["medium risk: run and notify"])
    return GateDecision(verdict=Verdict.AUTO, reasons=["low risk"])
