"""The two scenarios issue 14 asks for state the fleets and goals it names, so `mender simulate` judges
them by the issue's bar (the runs themselves: `mender simulate --scenario scenarios/<name>.yaml --report
json`; a small contended fleet runs in `tests/e2e/test_contended_fleet.py`)."""

from __future__ import annotations

from pathlib import Path

from simulators.github import load_scenario
from simulators.github.world_faults import GitHubOutage, WebhookLoss
from starter.simulate_goals import parse_goals

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_the_contended_fleet_is_big_enough_and_judged_by_the_issues_goals() -> None:
    scenario = load_scenario(SCENARIOS / "contended_fleet.yaml")
    assert scenario.total_prs >= 40 and len(scenario.repos) <= 3
    behind = sum(g.count for g in scenario.prs if "behind_base" in g.faults)
    assert behind >= 7  # the stalls whose bases keep moving
    goals = parse_goals(scenario.goals)
    assert goals.automatable_merged_without_human == 1.0  # 100 % of automatable stalls, no human
    assert goals.false_positive_actions == 0
    assert goals.ci_runs_per_healed_pr == 1.2  # at most
    assert goals.needless_updates == 0  # no update of a PR that was not behind when its turn came


def test_lost_webhooks_with_an_outage_and_a_missing_repository_are_judged_by_the_issues_goals() -> None:
    scenario = load_scenario(SCENARIOS / "lost-webhooks.yaml")
    losses = [f for f in scenario.world_faults if isinstance(f, WebhookLoss)]
    outages = [f for f in scenario.world_faults if isinstance(f, GitHubOutage)]
    assert [f.rate for f in losses] == [0.25] and outages and outages[0].duration_seconds >= 40
    configured = {r["name"] for r in scenario.config["repositories"]}
    goals = parse_goals(scenario.goals)
    assert goals.every_pr_tracked_and_ended is True
    missing = set(goals.missing_repos_reported)
    assert (
        missing and missing <= configured and not missing & set(scenario.repos)
    )  # configured, not on GitHub
