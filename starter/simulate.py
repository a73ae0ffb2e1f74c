"""`mender simulate`: run a scenario to completion on the embedded stack and report what happened.

The report is a stable contract (`--report json`): prs, by_fault, actions, false_positive_actions,
needless_updates, mttm_seconds, stall_to_action_seconds (from a PR's last external event before the
decision to the answer of the remediation that acted), stall_to_decision_seconds (to its activity
scheduled; `simulate_stalls`), github_writes
(`simulate_writes`), breaker_trips, ci_runs_caused, ci_runs_per_healed_pr (CI runs Mender caused per PR it
healed: merged without a human after at least one of its actions), wall_seconds, commands, untracked
(bot PRs Mender never tracked), reconciler (sweeps, failed_repos, commands_recovered), ci (see
`simulate_ci`; its `fix_prs`: `simulate_fixprs`), and goals (the scenario's goals, met or not:
`simulate_goals`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from activities.breaker import BreakerActivities
from domain.ci_healing.runs import FIX_BRANCH_PREFIX
from domain.config import MenderConfig
from domain.pr_healing.commands import automatic_runs
from domain.pr_healing.events import PRRef
from domain.pr_healing.remedies import CI_CAUSING
from domain.shared.audit import AuditFilter
from domain.shared.breaker import BreakerState
from runtime.settings import ConfigError, describe_errors
from simulators.github import Scenario, load_scenario
from simulators.github.state import REQUEST_LOG_SIZE
from starter import simulate_ci, simulate_fixprs, simulate_goals
from starter.local_stack import Embedded, embedded
from starter.simulate_goals import check as check_goals
from starter.simulate_goals import parse_goals
from starter.simulate_stalls import stall_seconds
from starter.simulate_sweeps import reconciler_report
from starter.simulate_writes import writes_report
from store import audit as audit_store
from store import repository
from store.db import engine_for

log = logging.getLogger("mender.simulate")


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`, mappings merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = (
            deep_merge(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged


def scenario_config(config_path: Path, scenario: Scenario) -> MenderConfig:
    """mender.yaml with the scenario's `config:` overrides, tracking the scenario's repositories."""
    from pydantic import ValidationError

    raw = yaml.safe_load(config_path.read_text()) if config_path.exists() else {}
    raw = deep_merge(raw or {}, scenario.config)
    names = {r.get("name") for r in raw.get("repositories", []) if isinstance(r, dict)}
    raw["repositories"] = [
        *raw.get("repositories", []),
        *({"name": n} for n in scenario.repos if n not in names),
    ]
    try:
        return MenderConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            f"scenario config (over {config_path}) is invalid\n{describe_errors(exc)}"
        ) from None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


async def run_simulation(
    scenario_path: Path,
    config_path: Path,
    timeout: float = 900,
    data_dir: Path | None = None,
    worker_process: bool = False,
    github_process: bool = False,
) -> dict[str, Any]:
    """Run the scenario until every PR is merged, closed or waiting for a human; return the report.

    `data_dir` keeps the run's store there (to open it in the dashboard or reports); default: deleted.
    `worker_process`: the worker in its own process (`starter/worker_process.py`); `github_process`: the
    GitHub simulator too (`starter/github_process.py`).
    """
    scenario = load_scenario(scenario_path)
    config = scenario_config(config_path, scenario)
    try:
        goals = parse_goals(scenario.goals)
    except ValueError as exc:
        raise ConfigError(f"{scenario_path}: {exc}") from None
    review = simulate_ci.review_answer(scenario)
    started = time.monotonic()
    kept = contextlib.nullcontext(str(data_dir)) if data_dir else None
    with kept or tempfile.TemporaryDirectory(prefix="mender-simulate-") as tmp:
        async with embedded(
            config,
            Path(tmp),
            github_seed=scenario.seed,
            worker_process=worker_process,
            github_process=github_process,
        ) as stack:
            stack.slack.approver = simulate_ci.scenario_approver(stack.github, stack.gitlab, scenario)
            gitlab_task = asyncio.create_task(simulate_ci.start_gitlab_pipelines(scenario, stack.gitlab))
            await stack.github.run_scenario(scenario)
            await gitlab_task
            expected = sum(group.count for group in scenario.prs)
            pipelines = simulate_ci.expected_pipelines(scenario)
            engine = engine_for(stack.settings.database_url)
            deadline = time.monotonic() + timeout
            last_log = 0.0
            while (
                waiting := _unsettled(stack, expected)
                + simulate_ci.unsettled(stack.github, stack.gitlab, engine, pipelines)
                + await simulate_fixprs.unsettled(stack.client, stack.github, review)
            ) and time.monotonic() < deadline:
                if time.monotonic() - last_log > 10:
                    log.warning(
                        "simulate: %.0f s, waiting on %s", time.monotonic() - started, ", ".join(waiting[:12])
                    )
                    last_log = time.monotonic()
                await asyncio.sleep(1.0)
            report = await _report(stack, expected, time.monotonic() - started)
            return {**report, "goals": check_goals(goals, report)}


def _mender_states(stack: Embedded) -> dict[str, str | None]:
    engine = engine_for(stack.settings.database_url)
    return {r.key: r.state for r in repository.list_prs(engine, limit=100_000)}


def _bot_prs(stack: Embedded) -> list[dict[str, Any]]:
    """The simulator's PRs Mender's PR workflows own (CI fix PRs belong to their CI workflow)."""
    return [
        p for p in stack.github.report()["prs"] if not (p.get("head_ref") or "").startswith(FIX_BRANCH_PREFIX)
    ]


def _unsettled(stack: Embedded, expected: int) -> list[str]:
    return unsettled_prs(_bot_prs(stack), _mender_states(stack), expected, stack.settings.config.bots.tracks)


def unsettled_prs(
    prs: list[dict[str, Any]],
    states: dict[str, str | None],
    expected: int,
    tracks: Callable[[str, str | None], bool] = lambda author, head_ref: True,
) -> list[str]:
    """PRs still moving: open and not waiting for a human, or ended on GitHub (merged, closed) but not
    yet so in Mender, untracked ones by a bot Mender `tracks` included (the reconciler records them)."""
    if len(prs) < expected:
        return [f"{expected - len(prs)} PRs not opened yet"]
    ends = {"merged": "MERGED", "closed": "CLOSED"}
    waiting = []
    for pr in prs:
        key = f"{pr['repo']}#{pr['number']}"
        state = states.get(key)
        followed = state is not None or tracks(pr.get("author") or "", pr.get("head_ref"))
        if pr["state"] == "open" and state != "NEEDS_INTERVENTION":
            waiting.append(f"{key} (open, Mender {state})")
        elif pr["state"] in ends and state != ends[pr["state"]] and followed:
            waiting.append(f"{key} ({pr['state']}, Mender {state})")
    return waiting


async def _report(stack: Embedded, expected: int, wall: float) -> dict[str, Any]:
    sim = {"prs": _bot_prs(stack)}
    engine = engine_for(stack.settings.database_url)
    states = _mender_states(stack)
    by_key = {f"{p['repo']}#{p['number']}": p for p in sim["prs"]}
    acted: Counter[str] = Counter()
    acted_on: set[str] = set()
    false_positives = needless_updates = 0
    escalated: set[str] = set()
    stall_to_action: list[float] = []  # to the write GitHub took (the remediation's answer back)
    stall_to_decision: list[float] = []  # to the remediation's activity scheduled (the timer's part)
    for key, pr in by_key.items():
        _, events = repository.get_pr(engine, PRRef.parse(key))
        for event in events:
            details = event.payload.get("details", {})
            if event.type == "remediation" and details.get("outcome") == "acted":
                acted[details["action"]] += 1
                acted_on.add(key)
                false_positives += not pr.get("faults")
                needless_updates += details["action"] == "UPDATE_BRANCH" and "behind_base" not in pr.get(
                    "faults", []
                )
            elif event.type == "escalated":
                escalated.add(key)
        to_action, to_decision = stall_seconds(events)
        stall_to_action += to_action
        stall_to_decision += to_decision
    originals = [p for p in sim["prs"] if not p.get("replaces")]

    def lineage(pr: dict[str, Any]) -> list[dict[str, Any]]:
        """The PR and its replacements (close-and-reopen), in order."""
        chain = [pr]
        while pr.get("replaced_by"):
            nxt = by_key.get(f"{pr['repo']}#{pr['replaced_by']}")
            if nxt is None or any(nxt is p for p in chain):
                break
            chain.append(nxt)
            pr = nxt
        return chain

    def final(pr: dict[str, Any]) -> dict[str, Any]:
        return lineage(pr)[-1]

    by_fault: dict[str, dict[str, int]] = {}
    merge_times: list[float] = []
    merged = needs_human = still_open = healed_by_mender = automatable = automatable_healed = 0
    for pr in originals:
        chain = lineage(pr)
        end = chain[-1]
        key = f"{end['repo']}#{end['number']}"
        healed = end["state"] == "merged"
        human = states.get(key) == "NEEDS_INTERVENTION"
        keys = {f"{p['repo']}#{p['number']}" for p in chain}
        healed_by_mender += healed and bool(keys & acted_on) and not (keys & escalated)
        if pr.get("faults") and not simulate_goals.NOT_AUTOMATABLE & set(pr["faults"]):
            automatable += 1
            automatable_healed += healed and not (keys & escalated)
        merged += healed
        needs_human += human
        still_open += end["state"] == "open" and not human
        if healed and pr.get("opened_at") and end.get("merged_at"):
            merge_times.append((_time(end["merged_at"]) - _time(pr["opened_at"])).total_seconds())
        for fault in pr.get("faults", []):
            row = by_fault.setdefault(fault, {"total": 0, "healed": 0, "escalated": 0})
            row["total"] += 1
            row["healed"] += healed
            row["escalated"] += human
    breaker = await BreakerActivities(
        stack.client, stack.task_queue, lambda: stack.settings.config.breaker
    ).status(stack.settings.config.breaker.scope)
    trips = sum(1 for c in (breaker.changes if breaker else []) if c.new is BreakerState.OPEN)
    ci_runs = sum(acted[a] for a in CI_CAUSING)
    budgets = stack.settings.config.retry_budgets
    over_budget = [
        r.key
        for r in repository.list_prs(engine, limit=100_000)
        if any(count > getattr(budgets, name, 0) for name, count in automatic_runs(r.retry_counts).items())
    ]
    return {
        "prs": {
            "total": len(originals),
            "merged": merged,
            "merged_without_human": sum(
                1
                for p in originals
                if final(p)["state"] == "merged" and f"{p['repo']}#{p['number']}" not in escalated
            ),
            "needs_intervention": needs_human,
            "open": still_open,
            "automatable": automatable,  # stalled with a fault Mender can heal (not genuine_failure)
            "automatable_merged_without_human": automatable_healed,
            "automatable_merged_without_human_share": (
                round(automatable_healed / automatable, 3) if automatable else None
            ),
        },
        "by_fault": by_fault,
        "actions": dict(sorted(acted.items())),
        "false_positive_actions": false_positives,
        "needless_updates": needless_updates,  # branch updates of a PR the scenario never put behind
        "mttm_seconds": {"median": percentile(merge_times, 0.5), "p95": percentile(merge_times, 0.95)},
        "stall_to_action_seconds": {
            "median": percentile(stall_to_action, 0.5),
            "p95": percentile(stall_to_action, 0.95),
        },
        "stall_to_decision_seconds": {
            "median": percentile(stall_to_decision, 0.5),
            "p95": percentile(stall_to_decision, 0.95),
        },
        "github_writes": writes_report(stack.github.state.requests, REQUEST_LOG_SIZE),
        "breaker_trips": trips,
        "ci_runs_caused": ci_runs,
        "healed_by_mender": healed_by_mender,
        "ci_runs_per_healed_pr": round(ci_runs / healed_by_mender, 2) if healed_by_mender else None,
        "wall_seconds": round(wall, 1),
        "breaker_state": breaker.state.value if breaker else "closed",
        "budgets_exceeded": len(over_budget),
        "expected_prs": expected,
        "commands": _commands_report(engine),
        "untracked": sum(1 for p in sim["prs"] if states.get(f"{p['repo']}#{p['number']}") is None),
        "reconciler": await reconciler_report(stack.client),
        "ci": {
            **simulate_ci.ci_report(stack.github, stack.gitlab, engine),
            "fix_prs": await simulate_fixprs.report(stack.client, stack.github, engine),
        },
    }


def _commands_report(engine: Any) -> dict[str, Any]:
    """PR commands answered, from the audit trail (`pr.command` rows; duplicates are not counted)."""
    rows: list[Any] = []
    while len(
        batch := audit_store.query(engine, AuditFilter(action="pr.command", limit=1000, offset=len(rows)))
    ):
        rows += batch
        if len(batch) < 1000:
            break
    by_command: dict[str, dict[str, int]] = {}
    for row in rows:
        if row.outcome not in ("accepted", "refused"):
            continue
        counts = by_command.setdefault(str(row.details.get("command", "?")), {"accepted": 0, "refused": 0})
        counts[row.outcome] += 1
    return {
        "accepted": sum(c["accepted"] for c in by_command.values()),
        "refused": sum(c["refused"] for c in by_command.values()),
        "by_command": dict(sorted(by_command.items())),
    }


def _time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
