"""Did the PR progress after a remediation? What the reports count as time saved (pure).

The PR workflow judges an attempt "effect seen" on the first sign that GitHub reacted: checks
*started* after a rebuild, a policy status *posted* (even pending or failed), the PR *closed* by
Mender's own close-and-reopen. That is right for its retry budget, not for the reports: a platform
team reads `hours_saved` and the POC's `successful` as "the PR moved on". So the reports count an
"effect seen" attempt only when its journal then shows progress, scanned from the attempt's
"acted" row until the next attempt, a push by someone else or the end of the journal:

- rebuild: checks passed (or merged) before checks failed again;
- policy-bot retrigger: policy passed (or merged) before it failed; pending alone is not progress;
- approver-bot retrigger: approved (or merged); merge nudge: merged;
- branch update: the branch was updated (the synchronize the update caused) or the PR merged;
- close-and-reopen: only after the PR was reopened, checks or policy passed, approved or merged,
  before checks or policy failed; Mender's own close is not progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

EFFECT_SEEN = "effect seen"
ACTED = "acted"
PASSED = frozenset({"checks_passed", "policy_passed", "approved", "merged"})
FAILED = frozenset({"checks_failed", "policy_failed"})

# action -> (progress events, setback events); an action not listed progresses only by a merge
PROGRESS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "RETRY_CHECKS": (frozenset({"checks_passed", "merged"}), frozenset({"checks_failed"})),
    "RETRIGGER_POLICY_BOT": (frozenset({"policy_passed", "merged"}), frozenset({"policy_failed"})),
    "RETRIGGER_APPROVER_BOT": (frozenset({"approved", "merged"}), frozenset()),
    "RETRIGGER_MERGE": (frozenset({"merged"}), frozenset()),
    "UPDATE_BRANCH": (frozenset({"synchronize", "merged"}), frozenset()),
    "CLOSE_AND_REOPEN": (PASSED, FAILED),  # counted only after the reopening
}
NEEDS_REOPENING = frozenset({"CLOSE_AND_REOPEN"})
NOT_CAUSED = frozenset({"synchronize", "closed"})  # someone else pushed or closed: later facts aren't ours


class Row(Protocol):
    type: str
    applied: bool
    noted: bool
    details: dict


def _acted(row: Row) -> bool:
    return row.type == "remediation" and row.details.get("outcome") == ACTED


def _counts(row: Row) -> bool:
    """The fact was taken by the lifecycle (not stale, late or invalid)."""
    return row.applied or row.noted


def progressed(rows: Sequence[Row], index: int) -> bool:
    """True when the "effect seen" remediation at `rows[index]` was followed by progress."""
    action = str(rows[index].details.get("action"))
    start = next(
        (i for i in range(index, -1, -1) if _acted(rows[i]) and rows[i].details.get("action") == action),
        index,
    )
    passed, failed = PROGRESS.get(action, (frozenset({"merged"}), frozenset()))
    reopened = action not in NEEDS_REOPENING
    for at, row in enumerate(rows[start + 1 :], start + 1):
        if _acted(row) and at > index:
            return False  # a new attempt: whatever follows is its progress
        if row.type == "remediation" or not _counts(row):
            continue
        if row.type == "reopened":
            reopened = True
        elif reopened and row.type in passed:
            return True
        elif reopened and row.type in failed:
            return False
        elif row.type in NOT_CAUSED and (reopened or row.type != "closed"):
            return False  # Mender's own close before the reopening is not someone else's
    return False
