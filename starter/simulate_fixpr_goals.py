"""Goals about fix PRs and learning (issue 17) for a scenario's `goals:` (`simulate_goals.GOALS`):

- `fix_prs: {owner/name: state}`: each fix PR of that repository ended so, one of merged, proposed,
  queued, reviewed_merged, rejected, blocked, reverted (`fix_pr_state`);
- `high_severity_merged`: at most this many fix PRs with a high-severity finding were merged;
- `reverts_restore_green: true`: at least one revert, and each default branch ran green after it;
- `learned_fixes`: at least this many learned fixes were stored;
- `learned_replays: [owner/name, ...]`: each of these repositories' fix PRs replays a learned fix.

A fix PR's state, from its `ci.fix_prs.prs` row: `reverted` (reverted after its merge), `blocked` (a
high-severity finding), `reviewed_merged` (queued for review, approved, merged), `merged` (by its score,
or after the one approval a proposed fix waits for), `proposed` (merge after one approval, waiting),
`rejected` or `queued` (in the review queue).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.ci_healing.playbook_history import LEARNED_PREFIX

Goal = tuple[Callable[[dict[str, Any], Any], Any], Callable[[Any, Any], bool]]


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


def _fix_prs(report: dict[str, Any]) -> dict[str, Any]:
    return report.get("ci", {}).get("fix_prs", {})


def _states(report: dict[str, Any], target: Any) -> dict[str, list[str]]:
    rows = _fix_prs(report).get("prs", [])
    return {repo: [fix_pr_state(r) for r in rows if r.get("repo") == repo] for repo in target}


def _replays(report: dict[str, Any], target: Any) -> dict[str, list[str]]:
    rows = _fix_prs(report).get("prs", [])
    return {repo: [r.get("playbook") or "" for r in rows if r.get("repo") == repo] for repo in target}


def _reverts(report: dict[str, Any], _: Any) -> dict[str, int]:
    fix_prs = _fix_prs(report)
    return {
        "reverted": fix_prs.get("reverted", 0),
        "restored_green": fix_prs.get("reverts_restored_green", 0),
    }


FIX_PR_GOALS: dict[str, Goal] = {
    "fix_prs": (
        _states,
        lambda m, t: all(m[repo] and set(m[repo]) == {state} for repo, state in t.items()),
    ),
    "high_severity_merged": (
        lambda r, _: _fix_prs(r).get("high_severity_merged"),
        lambda m, t: m is not None and m <= int(t),
    ),
    "reverts_restore_green": (
        _reverts,
        lambda m, t: (m["reverted"] > 0 and m["restored_green"] == m["reverted"]) == bool(t),
    ),
    "learned_fixes": (
        lambda r, _: len(r.get("ci", {}).get("learning", {}).get("learned", [])),
        lambda m, t: m >= int(t),
    ),
    "learned_replays": (
        _replays,
        lambda m, _: bool(m) and all(p and all(x.startswith(LEARNED_PREFIX) for x in p) for p in m.values()),
    ),
}
