"""A small fleet on one repository, and the three questions every chaos test asks of it afterwards:
did every PR (and CI failure) reach an end state, was any event lost, was any action done twice."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.processes import ProcessStack, wait_until

TIMING = {"ci_start_seconds": 0.2, "ci_seconds": 0.5, "bot_delay_seconds": 0.3, "open_interval_seconds": 0.2}
WRITES = ("POST", "PUT", "PATCH", "DELETE")
# A PR that merged on its own while Mender heard nothing of it (its webhooks lost, merged before the
# next sweep) needed nothing from Mender: untracked (None) is an end too, as in `mender simulate`.
MENDER_END = {"merged": {"MERGED", None}, "closed": {"CLOSED"}, "open": {"NEEDS_INTERVENTION"}}


def start_fleet(
    stack: ProcessStack,
    repo: str,
    faults: list[list[str]],
    groups: list[dict[str, Any]] = (),
    **scenario: Any,
) -> float:
    """Open one PR per entry of `faults` on `repo` (and the PR `groups` of a scenario); returns the start
    time (for `requests(since)`)."""
    since = time.time()
    prs = [{"count": 1, "faults": f} for f in faults] + list(groups)
    body = {"seed": 14, "repos": [repo], "timing": TIMING, "prs": prs, **scenario}
    stack.sim("scenario", body)
    count = sum(group["count"] for group in prs)
    wait_until(f"{count} PRs opened on {repo}", lambda: len(stack.prs(repo)) >= count)
    return since


@dataclass
class Verdict:
    ended: int = 0  # original PRs whose lineage ended (merged, closed, or with a human)
    total: int = 0
    lost: list[str] = field(default_factory=list)  # GitHub and Mender disagree once settled
    doubled: dict[str, int] = field(default_factory=dict)  # a write GitHub applied more than once
    replacements: dict[int, int] = field(default_factory=dict)  # original PR -> replacement PRs
    seconds: float = 0.0  # from the fleet's start until it settled
    task_failures: list[str] = field(default_factory=list)  # workflow tasks that failed (nondeterminism)

    def row(self, fault: str, injected: str) -> dict[str, Any]:
        return {
            "fault": fault,
            "injected": injected,
            "ended": f"{self.ended}/{self.total}",
            "doubled": len(self.doubled),
            "lost": len(self.lost),
            "seconds": round(self.seconds, 1),
        }


def _unsettled(stack: ProcessStack, repo: str) -> list[str]:
    states = stack.mender_states(repo)
    waiting = []
    for pr in stack.prs(repo):
        mender = states.get(pr["number"])
        if mender not in MENDER_END[pr["state"]]:
            waiting.append(f"#{pr['number']} GitHub {pr['state']}, Mender {mender}")
    return waiting


def settle(stack: ProcessStack, repo: str, since: float, timeout: float = 300.0) -> Verdict:
    """Wait until every PR of `repo` is ended on GitHub and Mender agrees; then judge the run."""
    with contextlib.suppress(TimeoutError):  # judged below: what is still unsettled counts as lost
        wait_until(f"the fleet of {repo} settled", lambda: not _unsettled(stack, repo), timeout, every=0.5)
    prs, states = stack.prs(repo), stack.mender_states(repo)
    verdict = Verdict(lost=_unsettled(stack, repo), seconds=time.time() - since)
    by_number = {pr["number"]: pr for pr in prs}
    for pr in prs:
        if pr.get("replaces") is not None:
            verdict.replacements[pr["replaces"]] = verdict.replacements.get(pr["replaces"], 0) + 1
            continue
        verdict.total += 1
        end = pr
        while end.get("replaced_by") in by_number:
            end = by_number[end["replaced_by"]]
        human = end["state"] == "open" and states.get(end["number"]) == "NEEDS_INTERVENTION"
        verdict.ended += end["state"] in ("merged", "closed") or human
    verdict.task_failures = workflow_task_failures(stack, repo)
    verdict.doubled = doubled_writes(stack.requests(since), repo)
    verdict.doubled.update({f"replacements of #{n}": k for n, k in verdict.replacements.items() if k > 1})
    return verdict


TASK_FAILURE = re.compile(
    r"TMPRL1100|[Nn]ondeterminism|Failed activation on workflow|Failed handling activation"
)


def workflow_task_failures(stack: ProcessStack, repo: str) -> list[str]:
    """Lines of the worker's log (every run of it) where a workflow task of `repo` failed: a
    nondeterministic replay after a restart, or an exception in workflow code (the workflow is stuck
    until a fixed worker runs it)."""
    return [
        line[:500]
        for line in stack.log("worker").splitlines()
        if TASK_FAILURE.search(line) and (repo in line or "run ID" in line)
    ]


def doubled_writes(requests: list[dict[str, Any]], repo: str) -> dict[str, int]:
    """Writes GitHub applied (2xx) more than once with the same path and body: the same comment, label,
    branch update (same expected head), re-run, replacement PR or fix file, made twice."""
    applied = Counter(
        f"{r['method']} {r['path']} {r['body_sha']}"
        for r in requests
        if r["method"] in WRITES and 200 <= r["status"] < 300 and r["path"].startswith(f"/repos/{repo}/")
    )
    return {write: n for write, n in applied.items() if n > 1}


class Killer:
    """Kill -9 the worker right after GitHub applied a matching write, then start it again at once (as
    `mender up` does). Each pattern fires once, in the order the writes happen."""

    def __init__(self, stack: ProcessStack, repo: str, patterns: list[str], since: float) -> None:
        self.stack, self.repo, self.since = stack, repo, since
        self.pending = [re.compile(p) for p in patterns]
        self.kills: list[str] = []
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Killer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=150)
        assert not self.errors, self.errors

    def _run(self) -> None:
        try:
            seen = 0
            while self.pending and not self.stopping.is_set():
                writes = [
                    f"{r['method']} {r['path']}"
                    for r in self.stack.requests(self.since)
                    if r["method"] in WRITES
                    and 200 <= r["status"] < 300
                    and f"/repos/{self.repo}/" in r["path"]
                ]
                for line in writes[seen:]:
                    seen += 1
                    hit = next((p for p in self.pending if p.search(line)), None)
                    if hit is not None:
                        self.pending.remove(hit)
                        self.stack.kill("worker")
                        self.kills.append(line)
                        self.stack.restart("worker")
                        self.stack.wait_worker()
                        break
                time.sleep(0.05)
        except BaseException as exc:  # reported by __exit__
            self.errors.append(exc)


def during(seconds: float, start: Callable[[], None], stop: Callable[[], None]) -> None:
    """Hold a fault for `seconds` (the length is the point of the test, not a wait for a result)."""
    start()
    try:
        time.sleep(seconds)
    finally:
        stop()
