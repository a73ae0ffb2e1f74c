"""The goals a scenario states (`goals:` in its file) and whether its `mender simulate` run met them.

`goals` in `--report json` is `{met, checks: [{goal, target, measured, met}]}`, one check per goal in
the order below (one per repository for `fix_prs` and `learned_replays`: `fix_prs:owner/name`).
Every goal is optional; an unknown or malformed one is refused before the run, with the reason.

Fleet goals:

- `automatable_merged_without_human`: at least this share of the stalled PRs Mender can heal (every PR
  with a fault but `genuine_failure`) merged without a human;
- `false_positive_actions`: at most this many actions on PRs that needed none;
- `ci_runs_per_healed_pr`: at most this many CI runs caused per PR Mender healed;
- `needless_updates`: at most this many branch updates of a PR that was never behind its base;
- `needless_updates`: at most this many branch updates of PRs that were never behind;
- `every_pr_tracked_and_ended: true`: every bot PR tracked by Mender, and merged or with a human;
- `genuine_failures_escalated: true`: every `genuine_failure` PR handed to a human, none merged;
- `missing_repos_reported: [owner/name, ...]`: the reconciler reported each of them (skipped, never fatal).

Fix PR goals:

- `fix_prs: {owner/name: state}`: how each fix PR of that repository ended, one of `merged`,
  `proposed`, `queued`, `reviewed_merged`, `rejected`, `blocked`, `reverted` (see `fix_pr_state`);
- `high_severity_merged`: at most this many merged fix PRs with a high-severity finding;
- `reverts_restore_green: true`: at least one revert, and each default branch ran green after it;
- `learned_fixes`: at least this many learned fixes stored;
- `learned_replays: [owner/name, ...]`: the fix PRs of these repositories replay a learned fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.ci_healing.playbook_history import LEARNED_PREFIX

NOT_AUTOMATABLE = frozenset({"genuine_failure"})  # faults no remedy heals: a human's

FixPRState = Literal["merged", "proposed", "queued", "reviewed_merged", "rejected", "blocked", "reverted"]


class Goals(BaseModel):
    """What a scenario promises; only the goals it sets are judged."""

    model_config = ConfigDict(extra="forbid")

    automatable_merged_without_human: float | None = Field(None, ge=0, le=1)
    false_positive_actions: int | None = Field(None, ge=0)
    ci_runs_per_healed_pr: float | None = Field(None, ge=0)
    needless_updates: int | None = Field(None, ge=0)
    every_pr_tracked_and_ended: bool | None = None
    genuine_failures_escalated: bool | None = None
    missing_repos_reported: list[str] = Field(default_factory=list)
    fix_prs: dict[str, FixPRState] = Field(default_factory=dict)
    high_severity_merged: int | None = Field(None, ge=0)
    reverts_restore_green: bool | None = None
    learned_fixes: int | None = Field(None, ge=0)
    learned_replays: list[str] = Field(default_factory=list)


def parse_goals(raw: dict[str, Any] | None) -> Goals:
    """The scenario's goals; a `ValueError` naming each wrong one."""
    try:
        return Goals.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(
            f"scenario goals are invalid: {problems} (known: {sorted(Goals.model_fields)})"
        ) from None


def fix_pr_state(row: dict[str, Any]) -> str:
    """What became of one fix PR (a row of `ci.fix_prs.prs`)."""
    outcome, route = row.get("outcome") or "", row.get("route")
    if outcome.startswith("revert"):
        return "reverted"
    if route == "blocked":
        return "blocked"
    if row.get("merged"):
        return "reviewed_merged" if route == "review" else "merged"
    if route == "auto_merge":
        return "proposed"
    if route == "review":
        return "rejected" if outcome == "rejected" else "queued"
    return outcome or "none"


def _at_least(measured: float | None, target: float) -> bool:
    return measured is not None and measured >= target


def _at_most(measured: float | None, target: float) -> bool:
    return measured is not None and measured <= target


def _tracked_and_ended(report: dict[str, Any]) -> dict[str, Any]:
    prs = report["prs"]
    return {
        "untracked": report["untracked"],
        "open": prs["open"],
        "ended": prs["merged"] + prs["needs_intervention"],
        "total": prs["total"],
        "expected": report["expected_prs"],
    }


def _all_ended(m: dict[str, Any]) -> bool:
    return m["untracked"] == 0 and m["open"] == 0 and m["ended"] == m["total"] == m["expected"]


def _genuine(report: dict[str, Any]) -> dict[str, int]:
    return dict(report["by_fault"].get("genuine_failure", {"total": 0, "healed": 0, "escalated": 0}))


Check = tuple[str, Any, Any, bool]  # goal, target, measured, met


def _fleet_checks(goals: Goals, report: dict[str, Any]) -> Iterator[Check]:
    prs = report.get("prs", {})
    bounded: list[tuple[str, Any, Callable[[Any, Any], bool]]] = [
        ("automatable_merged_without_human", prs.get("automatable_merged_without_human_share"), _at_least),
        ("false_positive_actions", report.get("false_positive_actions"), _at_most),
        ("ci_runs_per_healed_pr", report.get("ci_runs_per_healed_pr"), _at_most),
        ("needless_updates", report.get("needless_updates"), _at_most),
    ]
    for name, measured, holds in bounded:
        if (target := getattr(goals, name)) is not None:
            yield name, target, measured, holds(measured, target)
    if goals.every_pr_tracked_and_ended is not None:
        m = _tracked_and_ended(report)
        yield (
            "every_pr_tracked_and_ended",
            goals.every_pr_tracked_and_ended,
            m,
            _all_ended(m) == goals.every_pr_tracked_and_ended,
        )
    if goals.genuine_failures_escalated is not None:
        g = _genuine(report)
        escalated = g["escalated"] == g["total"] and g["healed"] == 0
        yield (
            "genuine_failures_escalated",
            goals.genuine_failures_escalated,
            g,
            escalated == goals.genuine_failures_escalated,
        )
    if goals.missing_repos_reported:
        failed = report.get("reconciler", {}).get("failed_repos", {})
        m = {repo: bool(failed.get(repo)) for repo in goals.missing_repos_reported}
        yield "missing_repos_reported", goals.missing_repos_reported, m, all(m.values())


def _fix_pr_checks(goals: Goals, report: dict[str, Any]) -> Iterator[Check]:
    ci = report.get("ci", {})
    fix_prs = ci.get("fix_prs", {})
    rows = fix_prs.get("prs", [])
    for repo, expected in goals.fix_prs.items():
        states = [fix_pr_state(r) for r in rows if r.get("repo") == repo]
        yield f"fix_prs:{repo}", expected, states, bool(states) and set(states) == {expected}
    if goals.high_severity_merged is not None:
        merged = fix_prs.get("high_severity_merged", 0)
        yield "high_severity_merged", goals.high_severity_merged, merged, merged <= goals.high_severity_merged
    if goals.reverts_restore_green is not None:
        reverted, green = fix_prs.get("reverted", 0), fix_prs.get("reverts_restored_green", 0)
        restored = reverted > 0 and green == reverted
        yield (
            "reverts_restore_green",
            goals.reverts_restore_green,
            f"{green} of {reverted}",
            restored == goals.reverts_restore_green,
        )
    if goals.learned_fixes is not None:
        learned = len(ci.get("learning", {}).get("learned", []))
        yield "learned_fixes", goals.learned_fixes, learned, learned >= goals.learned_fixes
    for repo in goals.learned_replays:
        playbooks = [r.get("playbook") or "" for r in rows if r.get("repo") == repo]
        replayed = bool(playbooks) and all(p.startswith(LEARNED_PREFIX) for p in playbooks)
        yield f"learned_replays:{repo}", True, playbooks, replayed


def check(goals: Goals, report: dict[str, Any]) -> dict[str, Any]:
    """Each goal the scenario sets, with what was measured and whether it is met; `met` for all."""
    checks = [
        {"goal": goal, "target": target, "measured": measured, "met": bool(met)}
        for goal, target, measured, met in (*_fleet_checks(goals, report), *_fix_pr_checks(goals, report))
    ]
    return {"met": all(c["met"] for c in checks), "checks": checks}
