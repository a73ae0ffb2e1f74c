"""A merged fix reverted because the default branch went red did not heal its run: a run healed by the
confirmed merge goes back to `awaiting_review` and is settled `escalated` (the reports stop counting
it fixed); a run held for review is settled `escalated` by the fix PR's end as before. Fix PR workflows
begun before `fixpr-revert-unheals` keep the run healed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.ci_healing import fixpr_decider as decider
from domain.ci_healing.fixpr_effects import HoldRun, RevertFix, SettleRun
from domain.ci_healing.fixpr_results import RevertResult
from domain.ci_healing.outcomes import CIOutcome
from tests.unit.test_fixpr_decider import PIPELINE, REVERT_REASON, carry, ctx, kinds, reverting

REVERT = RevertFix("m1", REVERT_REASON)
MERGED = RevertResult(opened=True, url="https://pr/10", merged=True)
OPEN = RevertResult(opened=True, url="https://pr/10")


@pytest.mark.parametrize(
    ("result", "at", "outcome"),
    [(MERGED, 0, "reverted"), (OPEN, PIPELINE, "revert opened")],
    ids=["reverted", "revert-still-open"],
)
def test_a_reverted_fix_takes_back_its_healed_run(result: RevertResult, at: float, outcome: str) -> None:
    m, done = carry(decider.resume(reverting(), ctx(at), REVERT, result))
    assert m.done and m.status.outcome == outcome
    assert done[-2:] == [HoldRun(), SettleRun(CIOutcome.ESCALATED)]


def test_a_run_held_for_review_is_settled_once_by_the_end() -> None:
    held = reverting().model_copy(update={"holds_run": True})
    m, done = carry(decider.resume(held, ctx(), REVERT, MERGED))
    assert m.done and kinds(done).count("SettleRun") == 1 and HoldRun() not in done
    assert done[-1] == SettleRun(CIOutcome.ESCALATED)


def test_an_open_revert_still_in_time_settles_nothing_yet() -> None:
    m, done = carry(decider.resume(reverting(), ctx(), REVERT, OPEN))
    assert not m.done and "HoldRun" not in kinds(done) and "SettleRun" not in kinds(done)


def test_older_workflows_keep_the_run_healed() -> None:
    old = replace(ctx(), unheal_reverted=False)
    m, done = carry(decider.resume(reverting(), old, REVERT, MERGED), old=old)
    assert m.done and "HoldRun" not in kinds(done) and "SettleRun" not in kinds(done)
