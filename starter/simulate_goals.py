"""A scenario's goals (its `goals:` key) judged against the report of its `mender simulate` run.

Each goal names a figure of the report and the bound it must meet; the report's `goals` field lists
every goal with its target, what was measured and whether it is met, and `met` for all of them:

- `automatable_merged_without_human`: at least this share of the stalled PRs Mender can heal (every PR
  with a fault but `genuine_failure`) merged without a human;
- `false_positive_actions`: at most this many actions on PRs that needed none;
- `ci_runs_per_healed_pr`: at most this many CI runs caused per PR Mender healed;
- `needless_updates`: at most this many branch updates of PRs that were never behind;
- `every_pr_tracked_and_ended: true`: every bot PR tracked by Mender, and merged or with a human;
- `genuine_failures_escalated: true`: every `genuine_failure` PR handed to a human, none merged;
- `missing_repos_reported: [owner/name, ...]`: the reconciler reported each of them (skipped, never fatal).
"""

from __future__ import annotations

from typing import Any

NOT_AUTOMATABLE = frozenset({"genuine_failure"})  # faults no remedy heals: a human's


def _at_least(measured: float | None, target: Any) -> bool:
    return measured is not None and measured >= float(target)


def _at_most(measured: float | None, target: Any) -> bool:
    return measured is not None and measured <= float(target)


def _tracked_and_ended(report: dict[str, Any]) -> dict[str, Any]:
    prs = report["prs"]
    return {
        "untracked": report["untracked"],
        "open": prs["open"],
        "ended": prs["merged"] + prs["needs_intervention"],
        "total": prs["total"],
        "expected": report["expected_prs"],
    }


def _genuine(report: dict[str, Any]) -> dict[str, int]:
    return dict(report["by_fault"].get("genuine_failure", {"total": 0, "healed": 0, "escalated": 0}))


def _missing_reported(report: dict[str, Any], target: Any) -> dict[str, bool]:
    failed = report.get("reconciler", {}).get("failed_repos", {})
    return {str(repo): bool(failed.get(repo)) for repo in target}


GOALS = {
    "automatable_merged_without_human": (
        lambda r, _: r["prs"].get("automatable_merged_without_human_share"),
        _at_least,
    ),
    "false_positive_actions": (lambda r, _: r["false_positive_actions"], _at_most),
    "ci_runs_per_healed_pr": (lambda r, _: r["ci_runs_per_healed_pr"], _at_most),
    "needless_updates": (lambda r, _: r.get("needless_updates"), _at_most),
    "every_pr_tracked_and_ended": (
        lambda r, _: _tracked_and_ended(r),
        lambda m, t: (
            (m["untracked"] == 0 and m["open"] == 0 and m["ended"] == m["total"] == m["expected"]) == bool(t)
        ),
    ),
    "genuine_failures_escalated": (
        lambda r, _: _genuine(r),
        lambda m, t: (m["escalated"] == m["total"] and m["healed"] == 0) == bool(t),
    ),
    "missing_repos_reported": (_missing_reported, lambda m, _: bool(m) and all(m.values())),
}


def unknown_goals(goals: dict[str, Any]) -> list[str]:
    return sorted(set(goals) - set(GOALS))


def judge(goals: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """`{"met": all met, "checks": [{"goal", "target", "measured", "met"}]}` (unknown goals: not met)."""
    checks = []
    for name, target in goals.items():
        if name not in GOALS:
            checks.append({"goal": name, "target": target, "measured": None, "met": False})
            continue
        measure, holds = GOALS[name]
        measured = measure(report, target)
        checks.append(
            {"goal": name, "target": target, "measured": measured, "met": bool(holds(measured, target))}
        )
    return {"met": all(c["met"] for c in checks), "checks": checks}
