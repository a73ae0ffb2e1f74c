"""When `mender simulate` may stop waiting for a fix PR's workflow (`simulate_fixprs.settled`)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.fixpr import FixPRRef, FixPRStatus
from domain.ci_healing.runs import CIRunRef, Provider
from starter.simulate_fixprs import settled

PR = FixPRRef(run=CIRunRef(provider=Provider.GITHUB, project="acme/api", run_id=7), number=3, branch="b")


def status(stage: str, outcome: str | None = None) -> FixPRStatus:
    return FixPRStatus(pr=PR, stage=stage, outcome=outcome)


def row(*runs: str | None) -> dict[str, Any]:
    return {"state": "merged", "pipeline": {"after_merge_runs": list(runs)}}


@pytest.mark.parametrize(
    ("state", "pr", "answered", "done"),
    [
        (status("done", "merged"), row("success"), False, True),
        (status("done", "reverted"), row("failure", "success"), False, True),
        (status("done", "reverted"), row("failure", None), False, False),  # the revert's run still going
        (status("waiting for one approval"), row(), False, True),  # only a human moves it on
        (status("review", "queued"), row(), False, True),  # nobody will answer
        (status("review", "queued"), row(), True, False),  # a scripted review answer will come
        (status("review", "blocked"), row(), True, True),
        (status("watching the default branch"), row(None), False, False),
    ],
)
def test_a_fix_pr_is_settled_once_only_a_human_could_move_it(
    state: FixPRStatus, pr: dict[str, Any], answered: bool, done: bool
) -> None:
    assert settled(state, pr, answered) is done
