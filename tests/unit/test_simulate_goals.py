"""A scenario's goals judged against a `mender simulate` report: met, missed, unknown."""

from __future__ import annotations

from typing import Any

from starter import simulate_goals


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
    judged = simulate_goals.judge(GOALS, report())
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
        judged = simulate_goals.judge({goal: GOALS[goal]}, bad)
        assert not judged["met"] and not judged["checks"][0]["met"], goal


def test_an_open_pr_or_a_missing_figure_misses_its_goal() -> None:
    prs = report()["prs"]
    assert not simulate_goals.judge(GOALS, report(prs={**prs, "open": 1, "merged": 7}))["met"]
    assert not simulate_goals.judge({"ci_runs_per_healed_pr": 1.2}, report(ci_runs_per_healed_pr=None))["met"]


def test_unknown_goals_are_named_and_never_met() -> None:
    assert simulate_goals.unknown_goals({"merged_fast": 1, "false_positive_actions": 0}) == ["merged_fast"]
    assert not simulate_goals.judge({"merged_fast": 1}, report())["met"]
