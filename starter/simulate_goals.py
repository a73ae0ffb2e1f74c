"""The goals a scenario states (`goals:` in its file) and whether the run met them: `goals` in
`mender simulate --report json` is `{met, checks: [{goal, holds, expected, actual}]}`.

Goals (each optional)::

    goals:
      fix_prs:                       # per repository: how each of its fix PRs ended
        acme/clean-1: merged         # merged | proposed | queued | reviewed_merged | rejected | blocked | reverted
      high_severity_merged: 0        # fix PRs with a high-severity finding that were merged (at most)
      reverts_restore_green: true    # at least one revert, and each default branch ran green after it
      learned_fixes: 1               # learned fixes stored (at least)
      learned_replays: [acme/search] # repositories whose fix PRs replay a learned fix

A fix PR's state, from its `ci.fix_prs.prs` row: `reverted` (reverted after its merge), `blocked` (a
high-severity finding), `reviewed_merged` (queued for review, then approved and merged), `merged`
(merged by its score, or after the one approval a proposed fix waits for), `proposed` (merge after one
approval, waiting), `rejected` or `queued` (in the review queue).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.ci_healing.playbook_history import LEARNED_PREFIX

FixPRState = Literal["merged", "proposed", "queued", "reviewed_merged", "rejected", "blocked", "reverted"]


class Goals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fix_prs: dict[str, FixPRState] = Field(default_factory=dict)
    high_severity_merged: int | None = Field(None, ge=0)
    reverts_restore_green: bool = False
    learned_fixes: int | None = Field(None, ge=0)
    learned_replays: list[str] = Field(default_factory=list)


def parse_goals(raw: dict[str, Any]) -> Goals:
    """The scenario's goals; a clear `ValueError` for a wrong one."""
    try:
        return Goals.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"scenario goals are invalid: {problems}") from None


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


def check(goals: Goals, report: dict[str, Any]) -> dict[str, Any]:
    """Each goal with whether it holds in `report` (the simulate report, `ci` included)."""
    fix_prs = report.get("ci", {}).get("fix_prs", {})
    rows = fix_prs.get("prs", [])
    checks: list[dict[str, Any]] = []

    def add(goal: str, expected: Any, actual: Any, holds: bool) -> None:
        checks.append({"goal": goal, "holds": holds, "expected": expected, "actual": actual})

    for repo, expected in goals.fix_prs.items():
        states = [fix_pr_state(r) for r in rows if r.get("repo") == repo]
        add(f"fix PRs of {repo}: {expected}", expected, states, bool(states) and set(states) == {expected})
    if goals.high_severity_merged is not None:
        merged = fix_prs.get("high_severity_merged", 0)
        add(
            "no fix PR with a high-severity finding merged",
            goals.high_severity_merged,
            merged,
            merged <= goals.high_severity_merged,
        )
    if goals.reverts_restore_green:
        reverted, green = fix_prs.get("reverted", 0), fix_prs.get("reverts_restored_green", 0)
        add(
            "each revert restores a green default branch",
            True,
            f"{green} of {reverted}",
            reverted > 0 and green == reverted,
        )
    learning = report.get("ci", {}).get("learning", {})
    if goals.learned_fixes is not None:
        learned = len(learning.get("learned", []))
        add("learned fixes stored", goals.learned_fixes, learned, learned >= goals.learned_fixes)
    for repo in goals.learned_replays:
        playbooks = [r.get("playbook") or "" for r in rows if r.get("repo") == repo]
        add(
            f"the fix PR of {repo} replays a learned fix",
            True,
            playbooks,
            bool(playbooks) and all(p.startswith(LEARNED_PREFIX) for p in playbooks),
        )
    return {"met": all(c["holds"] for c in checks), "checks": checks}
