"""Scenario goals of `mender simulate`: fleet goals and fix PR goals, met or missed, and refused when wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.ci_healing.approval import APPROVE_ACTION_ID, REJECT_ACTION_ID
from simulators.github import load_scenario
from starter.simulate_ci import approver_for, review_answer
from starter.simulate_goals import check, fix_pr_state, parse_goals
from starter.simulate_learning import _review_status
from store.ci_failures import CIFailureRecord

SCENARIOS = Path(__file__).parents[2] / "scenarios"


@pytest.mark.parametrize(
    ("row", "state"),
    [
        ({"route": "merge", "outcome": "merged", "merged": True}, "merged"),
        ({"route": "auto_merge", "outcome": "merged on approval", "merged": True}, "merged"),
        ({"route": "auto_merge", "outcome": None, "merged": False}, "proposed"),
        ({"route": "review", "outcome": "queued", "merged": False}, "queued"),
        ({"route": "review", "outcome": "merged after review", "merged": True}, "reviewed_merged"),
        ({"route": "review", "outcome": "rejected", "merged": False}, "rejected"),
        ({"route": "blocked", "outcome": "blocked", "merged": False}, "blocked"),
        ({"route": "merge", "outcome": "reverted", "merged": True}, "reverted"),
        ({"route": "merge", "outcome": "revert opened", "merged": True}, "reverted"),
        ({"route": None, "outcome": "closed", "merged": False}, "closed"),
    ],
)
def test_each_fix_pr_state_follows_its_route_and_outcome(row: dict[str, Any], state: str) -> None:
    assert fix_pr_state(row) == state


def _report(*rows: dict[str, Any], learned: int = 0, **fix_prs: Any) -> dict[str, Any]:
    return {
        "ci": {
            "fix_prs": {"prs": list(rows), **fix_prs},
            "learning": {"learned": [{"playbook": f"learned.{n}"} for n in range(learned)]},
        }
    }


def test_goals_hold_only_when_the_run_matches_them() -> None:
    goals = parse_goals(
        {
            "fix_prs": {"acme/a": "merged", "acme/b": "queued"},
            "high_severity_merged": 0,
            "reverts_restore_green": True,
            "learned_fixes": 1,
            "learned_replays": ["acme/b"],
        }
    )
    merged = {"repo": "acme/a", "route": "merge", "outcome": "merged", "merged": True}
    queued = {
        "repo": "acme/b",
        "route": "review",
        "outcome": "queued",
        "merged": False,
        "playbook": "learned.1",
    }
    good = _report(merged, queued, learned=1, high_severity_merged=0, reverted=1, reverts_restored_green=1)
    result = check(goals, good)
    assert result["met"] and len(result["checks"]) == 6, result
    bad = _report(
        merged,
        {**queued, "merged": True, "playbook": "dep.python-missing-module"},
        learned=0,
        high_severity_merged=1,
        reverted=1,
        reverts_restored_green=0,
    )
    failed = check(goals, bad)
    assert not failed["met"]
    assert [c["met"] for c in failed["checks"]] == [True, False, False, False, False, False]
    assert failed["checks"][1]["measured"] == ["reviewed_merged"]
    assert not check(parse_goals({"fix_prs": {"acme/none": "merged"}}), _report())["met"]  # no fix PR
    assert check(parse_goals({}), _report()) == {"met": True, "checks": []}


def test_bad_goals_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"fix_prs\.acme/a"):
        parse_goals({"fix_prs": {"acme/a": "perfect"}})
    with pytest.raises(ValueError, match="unknown_goal"):
        parse_goals({"unknown_goal": 1})


@pytest.mark.parametrize("name", ["fix_prs.yaml", "learning.yaml"])
def test_the_issue_scenarios_state_their_goals(name: str) -> None:
    goals = parse_goals(load_scenario(SCENARIOS / name).goals)
    assert goals.fix_prs, "each fix PR's expected end"


def test_the_scenario_approver_answers_queued_fix_prs_as_their_review_says() -> None:
    scenario = load_scenario(SCENARIOS / "learning.yaml")
    rows = [
        {"workflow_id": "ci/github/acme/search/5", "repo": "acme/search", "group": 1, "approve": False,
         "fix_prs": [{"number": 3}]},
        {"workflow_id": "ci/github/acme/auth/6", "repo": "acme/auth", "group": 3, "approve": False,
         "fix_prs": [{"number": 4}]},
    ]  # fmt: skip
    decide = approver_for(lambda: rows, review_answer(scenario))

    def message(value: str) -> dict[str, Any]:
        return {"blocks": [{"type": "actions", "elements": [{"value": value}]}]}

    assert decide(message("fixpr/acme/search/3")) == (APPROVE_ACTION_ID, "U0SCENARIO", "alice")
    assert decide(message("fixpr/acme/auth/4")) is None  # nobody answers its review
    assert decide(message("ci/github/acme/auth/6"))[0] == REJECT_ACTION_ID  # its plan approval: `false`
    assert decide(message("fixpr/acme/other/1")) is None


def test_a_replay_is_in_review_when_its_fix_pr_was_queued() -> None:
    now = datetime.now(UTC)
    record = CIFailureRecord(
        workflow_id="ci/github/acme/search/7",
        provider="github",
        project="acme/search",
        run_id=7,
        stage="auto_fixed",
        attempts=["1: add_dependency: fix PR https://github.example/acme/search/pull/12 verified"],
        created_at=now,
        updated_at=now,
    )
    assert _review_status(record, {"fixpr/acme/search/12": "approved"}) == "approved"
    assert _review_status(record, {"fixpr/acme/search/13": "approved"}) is None  # another PR
    assert _review_status(record, {"fixpr/acme/mail/12": "pending"}) is None  # another repository


def judge(raw: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    return check(parse_goals(raw), report)


def report(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "prs": {
            "total": 10,
            "merged": 8,
            "needs_intervention": 2,
            "open": 0,
            "automatable_merged_without_human_share": 1.0,
        },
        "by_fault": {"genuine_failure": {"total": 2, "healed": 0, "escalated": 2}},
        "false_positive_actions": 0,
        "ci_runs_per_healed_pr": 0.8,
        "needless_updates": 0,
        "untracked": 0,
        "expected_prs": 10,
        "reconciler": {"failed_repos": {"acme/gone": 3}},
    }
    return {**base, **over}


GOALS = {
    "automatable_merged_without_human": 1.0,
    "false_positive_actions": 0,
    "ci_runs_per_healed_pr": 1.2,
    "needless_updates": 0,
    "every_pr_tracked_and_ended": True,
    "genuine_failures_escalated": True,
    "missing_repos_reported": ["acme/gone"],
}


def test_every_goal_met_is_said_with_what_was_measured() -> None:
    judged = judge(GOALS, report())
    assert judged["met"] and [c["goal"] for c in judged["checks"]] == list(GOALS)
    assert judged["checks"][2] == {
        "goal": "ci_runs_per_healed_pr",
        "target": 1.2,
        "measured": 0.8,
        "met": True,
    }


def test_each_goal_can_be_missed() -> None:
    prs = report()["prs"]
    missed = {
        "automatable_merged_without_human": report(
            prs={**prs, "automatable_merged_without_human_share": 0.9}
        ),
        "false_positive_actions": report(false_positive_actions=1),
        "ci_runs_per_healed_pr": report(ci_runs_per_healed_pr=1.3),
        "needless_updates": report(needless_updates=1),
        "every_pr_tracked_and_ended": report(untracked=1),
        "genuine_failures_escalated": report(
            by_fault={"genuine_failure": {"total": 2, "healed": 1, "escalated": 1}}
        ),
        "missing_repos_reported": report(reconciler={"failed_repos": {}}),
    }
    for goal, bad in missed.items():
        judged = judge({goal: GOALS[goal]}, bad)
        assert not judged["met"] and not judged["checks"][0]["met"], goal


def test_an_open_pr_or_a_missing_figure_misses_its_goal() -> None:
    prs = report()["prs"]
    assert not judge(GOALS, report(prs={**prs, "open": 1, "merged": 7}))["met"]
    assert not judge({"ci_runs_per_healed_pr": 1.2}, report(ci_runs_per_healed_pr=None))["met"]


def test_unknown_or_malformed_fleet_goals_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="merged_fast"):
        parse_goals({"merged_fast": 1, "false_positive_actions": 0})
    with pytest.raises(ValueError, match="automatable_merged_without_human"):
        parse_goals({"automatable_merged_without_human": 1.5})
