"""Simulated CI and bots: asyncio tasks that react to world events, as webhook-driven apps do.

Each actor sees every world event (`on_event`), picks the ones it cares about (`wants`), and reacts
in its own task after the scenario's delays. Every step asks `Actor.decide` (hence `Faults.decide`)
for its outcome: the single place where an injected fault changes what happens.

Healthy life of a bot PR: CI runs `build` and `test` on each new head sha; policy-bot posts status
`policy-bot` pending then success once the suite passed; approver-bot approves once the policy passed;
automerge-bot merges once the PR is `clean` (required checks green and the head approved).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from simulators.github.model import PullRequest, SimEvent, User

if TYPE_CHECKING:
    from simulators.github.scenario import Timing
    from simulators.github.simulator import Simulator

POLICY_CONTEXT = "policy-bot"


class Actor:
    """Base class: event filtering, fault decisions, delays."""

    name = "actor"
    login = "github-actions[bot]"

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @property
    def user(self) -> User:
        return self.sim.world.user(self.login)

    @property
    def timing(self) -> Timing:
        return self.sim.timing

    def decide(self, pr: PullRequest, step: str, default: str) -> str:
        """Outcome of this actor's `step` for `pr`: the hook where faults apply."""
        return self.sim.faults.decide(pr, f"{self.name}.{step}", default)

    def on_event(self, ev: SimEvent) -> None:
        if ev.pr is None or not self.wants(ev):
            return
        if self.decide(ev.pr, f"receive.{ev.name}", "deliver") == "drop":
            return
        self.sim.spawn(self.react(ev), name=f"{self.name} {ev.pr.key} {ev.name}.{ev.action}")

    def wants(self, ev: SimEvent) -> bool:
        raise NotImplementedError

    async def react(self, ev: SimEvent) -> None:
        raise NotImplementedError

    @staticmethod
    def current(pr: PullRequest, sha: str | None) -> bool:
        """The PR is still open at the sha the actor reacted to."""
        return pr.state == "open" and pr.head_sha == sha


class CI(Actor):
    """Runs the check suite (check runs `build`, `test`) for each new head sha and on reruns."""

    name = "ci"

    def wants(self, ev: SimEvent) -> bool:
        if ev.name == "pull_request":
            return ev.action in ("opened", "synchronize", "reopened")
        return ev.name == "check_suite" and ev.action == "rerequested"

    async def react(self, ev: SimEvent) -> None:
        pr = ev.pr
        assert pr is not None and ev.head_sha is not None
        suite = ev.suite
        if suite is None:
            await asyncio.sleep(self.timing.ci_start_seconds)
            if pr.state != "open" or self.decide(pr, "start", "act") != "act":
                return
            suite = self.sim.ops.create_suite(pr, ev.head_sha)
        await asyncio.sleep(self.timing.ci_seconds)
        for run in suite.runs:
            if run.status != "completed":
                self.sim.ops.complete_run(pr, run, self.decide(pr, f"run.{run.name}", "success"))
        self.sim.ops.complete_suite(pr, suite)


class PolicyBot(Actor):
    """Posts commit status `policy-bot` (pending, then success) once the head's check suite passed."""

    name = "policy-bot"
    login = "policy-bot[bot]"

    def wants(self, ev: SimEvent) -> bool:
        suite = ev.suite
        return (
            ev.name == "check_suite"
            and ev.action == "completed"
            and suite is not None
            and suite.conclusion == "success"
        )

    async def react(self, ev: SimEvent) -> None:
        pr, suite = ev.pr, ev.suite
        assert pr is not None and suite is not None
        sha, repo = suite.head_sha, ev.repo
        await asyncio.sleep(self.timing.bot_delay_seconds)
        if not self.current(pr, sha):
            return
        if self.decide(pr, "status.pending", "act") == "act":
            self.sim.ops.add_status(repo, sha, "pending", POLICY_CONTEXT, self.user, "Evaluating policies")
        await asyncio.sleep(self.timing.bot_delay_seconds)
        if not self.current(pr, sha):
            return
        state = self.decide(pr, "status.final", "success")
        if state != "drop":
            description = "All policies passed" if state == "success" else "Policy check failed"
            self.sim.ops.add_status(repo, sha, state, POLICY_CONTEXT, self.user, description)


class ApproverBot(Actor):
    """Approves the head commit once the policy status on it is success."""

    name = "approver-bot"
    login = "approver-bot[bot]"

    def wants(self, ev: SimEvent) -> bool:
        status = ev.status
        return (
            ev.name == "status"
            and status is not None
            and status.context == POLICY_CONTEXT
            and status.state == "success"
        )

    async def react(self, ev: SimEvent) -> None:
        pr, status = ev.pr, ev.status
        assert pr is not None and status is not None
        await asyncio.sleep(self.timing.bot_delay_seconds)
        if not self.current(pr, status.sha):
            return
        verdict = self.decide(pr, "review", "APPROVE")
        if verdict != "drop":
            body = "Policy passed: approved." if verdict == "APPROVE" else "Changes requested by policy."
            self.sim.ops.add_review(pr, self.user, verdict, body, status.sha)


class AutomergeBot(Actor):
    """Merges a PR once it is `clean`: required checks and policy green, head approved."""

    name = "automerge-bot"
    login = "automerge-bot[bot]"

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self._merging: set[str] = set()

    def wants(self, ev: SimEvent) -> bool:
        if ev.name == "pull_request_review":
            return ev.action == "submitted" and ev.review is not None and ev.review.state == "APPROVED"
        if ev.name == "status":
            return ev.status is not None and ev.status.state == "success"
        return ev.name == "check_suite" and ev.action == "completed"

    async def react(self, ev: SimEvent) -> None:
        pr = ev.pr
        assert pr is not None
        world = self.sim.world
        if (
            pr.key in self._merging
            or not self.current(pr, ev.head_sha)
            or world.mergeable_state(pr) != "clean"
        ):
            return
        self._merging.add(pr.key)
        try:
            await asyncio.sleep(self.timing.bot_delay_seconds)
            if not self.current(pr, ev.head_sha) or world.mergeable_state(pr) != "clean":
                return
            if self.decide(pr, "merge", "act") == "act":
                self.sim.ops.merge(pr, self.user, "merge")
        finally:
            self._merging.discard(pr.key)


ACTOR_TYPES: dict[str, type[Actor]] = {cls.name: cls for cls in (CI, PolicyBot, ApproverBot, AutomergeBot)}
ALL_ACTORS: tuple[str, ...] = tuple(ACTOR_TYPES)


def make_actors(sim: Simulator, names: tuple[str, ...]) -> list[Actor]:
    unknown = sorted(set(names) - set(ACTOR_TYPES))
    if unknown:
        raise ValueError(f"unknown actors {unknown}; known: {list(ALL_ACTORS)}")
    return [ACTOR_TYPES[name](sim) for name in names]
