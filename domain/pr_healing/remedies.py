"""The remediation registry: one row per PR remediation, and everything derived from it.

To add a remediation: a `PRAction`, its row here (budget, expected effect, strategy, CI cost), its
classifier rule (`domain/pr_healing/classifier.py`), a budget field in `RetryBudgets`, and the activity
that carries out its strategy (`contracts.activities`, mapped in `workflows/pr_effects.py`). Budgets,
effect checks, commands, simulation costs and the decider read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.pr_healing.events import EventType


class PRAction(StrEnum):
    """What the classifier (or a command) decides to do about a stale PR."""

    UPDATE_BRANCH = "UPDATE_BRANCH"
    RETRY_CHECKS = "RETRY_CHECKS"
    RETRIGGER_POLICY_BOT = "RETRIGGER_POLICY_BOT"
    RETRIGGER_APPROVER_BOT = "RETRIGGER_APPROVER_BOT"
    RETRIGGER_SOD_BOT = "RETRIGGER_SOD_BOT"  # only on command (/recheck-sod): no SoD facts to classify
    RETRIGGER_MERGE = "RETRIGGER_MERGE"
    CLOSE_AND_REOPEN = "CLOSE_AND_REOPEN"
    NEEDS_INTERVENTION = "NEEDS_INTERVENTION"
    NO_ACTION = "NO_ACTION"


class Strategy(StrEnum):
    """How a remediation is carried out on GitHub: each is one activity (or the reopen saga)."""

    UPDATE_BRANCH = "update_branch"
    REBUILD = "rebuild"
    NUDGE_BOT = "nudge_bot"
    MERGE = "merge"
    CLOSE_AND_REOPEN = "close_and_reopen"


@dataclass(frozen=True)
class Remedy:
    """One remediation: its budget (a `RetryBudgets` field), what shows it worked, how it runs."""

    action: PRAction
    budget: str
    effect: frozenset[EventType]  # any of these events after the action: it worked (empty: none known)
    strategy: Strategy
    bot: str | None = None  # the bot nudged by NUDGE_BOT
    causes_ci_run: bool = False  # it makes GitHub run the PR's checks again
    charged_when_effective: bool = True  # False: only attempts without effect count against the budget

    def strategy_for(self, attempt: int, direct: bool) -> tuple[Strategy, str | None]:
        """The strategy of this attempt: a green PR's automerge bot is nudged once, then Mender merges."""
        if self.action is PRAction.RETRIGGER_MERGE and (attempt > 1 or direct):
            return Strategy.MERGE, None
        return self.strategy, self.bot


_POLICY_EVENTS = frozenset({EventType.POLICY_PENDING, EventType.POLICY_PASSED, EventType.POLICY_FAILED})
REMEDIES: dict[PRAction, Remedy] = {
    r.action: r
    for r in (
        Remedy(
            PRAction.UPDATE_BRANCH,
            "update_branch",
            frozenset({EventType.SYNCHRONIZE}),
            Strategy.UPDATE_BRANCH,
            causes_ci_run=True,
            charged_when_effective=False,  # it made the PR current, even if the base moves again later
        ),
        Remedy(
            PRAction.RETRY_CHECKS,
            "rebuild",
            frozenset({EventType.CHECKS_STARTED, EventType.CHECKS_PASSED}),
            Strategy.REBUILD,
            causes_ci_run=True,
        ),
        Remedy(PRAction.RETRIGGER_POLICY_BOT, "policy_bot", _POLICY_EVENTS, Strategy.NUDGE_BOT, bot="policy"),
        Remedy(
            PRAction.RETRIGGER_APPROVER_BOT,
            "approver_bot",
            frozenset({EventType.APPROVED}),
            Strategy.NUDGE_BOT,
            bot="approver",
        ),
        Remedy(PRAction.RETRIGGER_SOD_BOT, "sod_bot", frozenset(), Strategy.NUDGE_BOT, bot="sod"),
        Remedy(
            PRAction.RETRIGGER_MERGE,
            "merge",
            frozenset({EventType.MERGED}),
            Strategy.NUDGE_BOT,
            bot="automerge",
        ),
        Remedy(
            PRAction.CLOSE_AND_REOPEN,
            "close_and_reopen",
            frozenset({EventType.CLOSED}),
            Strategy.CLOSE_AND_REOPEN,
            causes_ci_run=True,
        ),
    )
}
BUDGET_OF: dict[PRAction, str] = {a: r.budget for a, r in REMEDIES.items()}
EFFECT_OF: dict[PRAction, frozenset[EventType]] = {a: r.effect for a, r in REMEDIES.items() if r.effect}
CI_CAUSING: tuple[str, ...] = tuple(a.value for a, r in REMEDIES.items() if r.causes_ci_run)
