"""Acceptance on a scenario with every fault: `mender simulate`'s report, figure by figure."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from starter.cli import app
from starter.simulate import run_simulation
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
REPORT_KEYS = {
    "prs",
    "by_fault",
    "actions",
    "false_positive_actions",
    "mttm_seconds",
    "breaker_trips",
    "ci_runs_caused",
    "wall_seconds",
    "needless_updates",
    "stall_to_action_seconds",
    "stall_to_decision_seconds",
    "github_writes",
    "goals",
}
AUTOMATABLE = {
    "flaky_checks",
    "behind_base",
    "policy_bot_missed",
    "approver_bot_missed",
    "automerge_missed",
    "merge_conflict",
}


async def test_every_fault_is_healed_or_escalated_and_healthy_prs_are_never_touched() -> None:
    report = await run_simulation(
        FIXTURES / "scenarios" / "all_faults.yaml", ROOT / "mender.yaml", timeout=240
    )
    assert set(report) >= REPORT_KEYS
    assert set(report["prs"]) >= {"total", "merged", "merged_without_human", "needs_intervention", "open"}
    for fault in AUTOMATABLE:
        row = report["by_fault"][fault]
        assert row["healed"] == row["total"] and row["escalated"] == 0, (fault, report)
    genuine = report["by_fault"]["genuine_failure"]
    assert genuine["escalated"] == genuine["total"] and genuine["healed"] == 0, report
    assert report["prs"]["merged"] == report["prs"]["total"] - genuine["total"]
    assert report["prs"]["open"] == 0
    assert report["untracked"] == 0  # a PR merged before Mender saw it open is recorded by the reconciler
    assert report["prs"]["automatable_merged_without_human_share"] == 1.0, report["prs"]
    assert report["goals"] == {"met": True, "checks": []}  # this scenario states no goals
    assert report["false_positive_actions"] == 0, report
    assert report["budgets_exceeded"] == 0
    assert report["breaker_trips"] >= 1 and report["breaker_state"] == "closed", report  # opened, then closed
    assert report["actions"]["CLOSE_AND_REOPEN"] == 1
    assert report["ci_runs_caused"] >= report["actions"]["RETRY_CHECKS"]
    # Every action that acted wrote to GitHub, paced under its limit: none refused, decided before taken.
    writes = report["github_writes"]
    assert writes["taken"] >= sum(report["actions"].values()) and writes["refused_429"] == 0, writes
    decided, taken = report["stall_to_decision_seconds"], report["stall_to_action_seconds"]
    assert decided["median"] is not None and 0 < decided["median"] <= taken["median"], report


def test_simulate_refuses_a_bad_scenario_with_the_key_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("prs:\n  - count: 1\n    faults: [gremlins]\n")
    result = CliRunner().invoke(app, ["simulate", "--scenario", str(bad), "--report", "json"])
    assert result.exit_code == 2
    assert "gremlins" in result.output and "prs" in result.output
