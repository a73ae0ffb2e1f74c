"""The stale-PR classifier: from (state, history, live snapshot, retry counts, config) to one action.

Pure, deterministic and order-independent: history is read as a multiset, never as a sequence.
Rules are checked in order; each says why it fires. Missing facts fail closed (wait or ask a human).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel

from domain.pr_healing.events import EventType
from domain.pr_healing.lifecycle import TERMINAL_STATES, PRState
from domain.pr_healing.remediation_config import RemediationConfig, RetryBudgets
from domain.pr_healing.remedies import BUDGET_OF, EFFECT_OF, PRAction
from domain.pr_healing.snapshot import CheckRunFact, PRSnapshot

__all__ = ["BUDGET_OF", "EFFECT_OF", "Decision", "PRAction", "classify", "is_transient"]


class Decision(BaseModel):
    """The classifier's answer: what to do and why."""

    action: PRAction
    reason: str

    @property
    def budget(self) -> str | None:
        return BUDGET_OF.get(self.action)


def is_transient(run: CheckRunFact, patterns: Iterable[str]) -> bool:
    """True when the run's output matches one of the configured transient-failure patterns."""
    return any(re.search(pattern, run.output) for pattern in patterns)


def classify(
    state: PRState | None,
    history: Iterable[tuple[EventType, str | None]],
    snap: PRSnapshot,
    retry_counts: dict[str, int],
    budgets: RetryBudgets,
    remediation: RemediationConfig,
    policy_context: str,
) -> Decision:
    """The one action for a PR that is still stale after a refresh.

    `history` is (event type, remediation action or None) per event; it is read as a multiset. Attempts
    are counted from both the retry counters and the history, whichever is higher (fail closed).
    """
    attempts = Counter(action for type, action in history if type is EventType.REMEDIATION and action)
    decision = _choose(state, snap, remediation, policy_context)
    budget = decision.budget
    if budget is not None:
        used = max(retry_counts.get(budget, 0), attempts[decision.action.value])
        allowed = getattr(budgets, budget)
        if used >= allowed:
            return Decision(
                action=PRAction.NEEDS_INTERVENTION,
                reason=f"{decision.action} needed ({decision.reason}) but its budget is spent ({used}/{allowed})",
            )
    return decision


def _choose(
    state: PRState | None,
    snap: PRSnapshot,
    cfg: RemediationConfig,
    policy_context: str,
) -> Decision:
    def wait(reason: str) -> Decision:
        return Decision(action=PRAction.NO_ACTION, reason=reason)

    if state is None or state in TERMINAL_STATES or not snap.open:
        return wait("the PR is not open")
    if state is PRState.NEEDS_INTERVENTION:
        return wait("already waiting for a human")
    if snap.draft:
        return wait("the PR is a draft")
    if snap.mergeable_state == "dirty" or snap.mergeable is False:
        if cfg.close_and_reopen:
            return Decision(action=PRAction.CLOSE_AND_REOPEN, reason="merge conflict with the base branch")
        return Decision(
            action=PRAction.NEEDS_INTERVENTION, reason="merge conflict; close-and-reopen is disabled"
        )
    if snap.checks_pending:
        return wait("checks are running")
    if not snap.check_runs:
        return wait("no checks reported on the head yet")
    failed = snap.failed_runs
    if failed:
        hard = [r for r in failed if not is_transient(r, cfg.transient_patterns)]
        if hard:
            first = hard[0]
            line = next((ln.strip() for ln in first.output.splitlines() if ln.strip()), "no output")
            return Decision(
                action=PRAction.NEEDS_INTERVENTION,
                reason=f"check {first.name!r} failed for a non-transient reason: {line[:200]}",
            )
        names = ", ".join(sorted(r.name for r in failed))
        if snap.mergeable_state == "behind" and cfg.merge_queue.enabled:  # no re-run on a head about to go
            return Decision(
                action=PRAction.UPDATE_BRANCH,
                reason=f"transient failure in {names} on a branch behind its base: the update runs them again",
            )
        return Decision(action=PRAction.RETRY_CHECKS, reason=f"transient failure in {names}")
    if snap.mergeable_state == "behind":
        return Decision(
            action=PRAction.UPDATE_BRANCH, reason="branch protection requires an up-to-date branch"
        )
    policy = snap.status_for(policy_context)
    if policy is None or policy.state == "pending":
        return Decision(
            action=PRAction.RETRIGGER_POLICY_BOT, reason="checks passed but the policy bot has not decided"
        )
    if policy.state != "success":
        return Decision(
            action=PRAction.NEEDS_INTERVENTION,
            reason=f"policy bot reports {policy.state}: {policy.description or 'no description'}",
        )
    if snap.approval() is None:
        return Decision(
            action=PRAction.RETRIGGER_APPROVER_BOT, reason="policy passed but nobody approved the head"
        )
    if snap.mergeable_state not in ("clean", "unstable", "has_hooks", "unknown"):
        return wait(f"mergeable state is {snap.mergeable_state}")
    return Decision(action=PRAction.RETRIGGER_MERGE, reason="green and approved but not merged")
