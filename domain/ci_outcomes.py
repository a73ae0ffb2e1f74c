"""How a CI failure ends, and which plans Mender can carry out itself on each provider."""

from __future__ import annotations

from enum import StrEnum

from domain.ci_events import Provider
from domain.diagnosis import Action, Diagnosis


class CIOutcome(StrEnum):
    AUTO_FIXED = "auto_fixed"  # healed without a human
    APPROVED_FIXED = "approved_fixed"  # healed after a human approved the plan
    ESCALATED = "escalated"  # a human must act: code failure, rejected, no answer, no automated fix
    INCIDENT = "incident"  # every attempt failed: an incident issue holds the full diagnosis
    OBSERVED = "observed"  # observe mode: diagnosed and announced, nothing changed


# Plans Mender executes itself. A re-run is provider-neutral; a fix PR edits a GitHub repository.
RERUN_ACTIONS = frozenset({Action.RETRY, Action.FREE_DISK})  # a fresh runner has a clean disk
FIX_PR_ACTIONS = frozenset(
    {Action.ADD_DEPENDENCY, Action.SET_ENV_DEFAULT, Action.INCREASE_TIMEOUT, Action.INCREASE_MEMORY}
)


def executable(action: Action, provider: Provider) -> bool:
    """True when Mender can carry out `action` on `provider` (else a human gets the plan)."""
    if action in RERUN_ACTIONS:
        return True
    return action in FIX_PR_ACTIONS and provider is Provider.GITHUB


def plan_summary(diagnosis: Diagnosis) -> str:
    """One line saying what Mender will do."""
    params = diagnosis.params
    match diagnosis.action:
        case Action.RETRY:
            return "re-run the failed jobs (exponential backoff)"
        case Action.FREE_DISK:
            return "re-run the failed jobs on a fresh runner (clean disk)"
        case Action.ADD_DEPENDENCY:
            name = (
                params.get("distribution") or params.get("package") or params.get("module") or "the package"
            )
            return f"open a PR adding the dependency {name}"
        case Action.SET_ENV_DEFAULT:
            return f"open a PR setting a default for {params.get('name', 'the missing variable')} in the workflow"
        case Action.INCREASE_TIMEOUT:
            return "open a PR raising the job timeout"
        case Action.INCREASE_MEMORY:
            return "open a PR raising the memory limit"
    steps = "; ".join(diagnosis.steps) or "see the diagnosis"
    return f"{diagnosis.action.value.replace('_', ' ')} (by a human): {steps}"
