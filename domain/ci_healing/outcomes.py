"""How a CI failure ends, and which plans Mender can carry out itself on each provider."""

from __future__ import annotations

from enum import StrEnum

from domain.ci_healing.runs import Provider
from domain.diagnosis.verdict import Diagnosis, FixAction


class CIOutcome(StrEnum):
    AUTO_FIXED = "auto_fixed"  # healed without a human
    APPROVED_FIXED = "approved_fixed"  # healed after a human approved the plan
    ESCALATED = "escalated"  # a human must act: code failure, rejected, no answer, no automated fix
    INCIDENT = "incident"  # every attempt failed: an incident issue holds the full diagnosis
    OBSERVED = "observed"  # observe mode: diagnosed and announced, nothing changed
    AWAITING_REVIEW = "awaiting_review"  # the fix passed, its fix PR waits in the review queue or for
    # its one approval (not healed yet: the fix PR workflow settles it as approved_fixed once merged,
    # escalated once rejected)


# Plans Mender executes itself. A re-run is provider-neutral; a fix PR edits a GitHub repository.
RERUN_ACTIONS = frozenset({FixAction.RETRY, FixAction.FREE_DISK})  # a fresh runner has a clean disk
FIX_PR_ACTIONS = frozenset(
    {
        FixAction.ADD_DEPENDENCY,
        FixAction.SET_ENV_DEFAULT,
        FixAction.INCREASE_TIMEOUT,
        FixAction.INCREASE_MEMORY,
    }
)


# GitLab fix merge requests edit the manifest or `.gitlab-ci.yml` (`gitlab_ci_fixes.py`); CI failure
# workflows begun before those CI file edits (`workflow.patched`) keep to manifests.
GITLAB_FIX_ACTIONS = FIX_PR_ACTIONS
GITLAB_MANIFEST_ACTIONS = frozenset({FixAction.ADD_DEPENDENCY})


def executable(action: FixAction, provider: Provider, gitlab_ci_edits: bool = True) -> bool:
    """True when Mender can carry out `action` on `provider` (else a human gets the plan)."""
    if action in RERUN_ACTIONS:
        return True
    if provider is Provider.GITLAB:
        return action in (GITLAB_FIX_ACTIONS if gitlab_ci_edits else GITLAB_MANIFEST_ACTIONS)
    return action in FIX_PR_ACTIONS


def plan_summary(diagnosis: Diagnosis) -> str:
    """One line saying what Mender will do."""
    params = diagnosis.params
    match diagnosis.action:
        case FixAction.RETRY:
            return "re-run the failed jobs (exponential backoff)"
        case FixAction.FREE_DISK:
            return "re-run the failed jobs on a fresh runner (clean disk)"
        case FixAction.ADD_DEPENDENCY:
            name = (
                params.get("distribution") or params.get("package") or params.get("module") or "the package"
            )
            return f"open a PR adding the dependency {name}"
        case FixAction.SET_ENV_DEFAULT:
            return f"open a PR setting a default for {params.get('name', 'the missing variable')} in the workflow"
        case FixAction.INCREASE_TIMEOUT:
            return "open a PR raising the job timeout"
        case FixAction.INCREASE_MEMORY:
            return "open a PR raising the memory limit"
        case FixAction.QUARANTINE if params.get("test"):
            return f"open a PR quarantining the flaky test {params['test']}"
    steps = "; ".join(diagnosis.steps) or "see the diagnosis"
    return f"{diagnosis.action.value.replace('_', ' ')} (by a human): {steps}"
