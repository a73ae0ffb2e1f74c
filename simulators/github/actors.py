"""Simulated CI and bots: asyncio tasks that react to world events, as webhook-driven apps do.

Each actor sees every world event (`on_event`), picks the ones it cares about (`wants`), and reacts
in its own task after the scenario's delays. Every step asks `Actor.decide` (hence `Faults.decide`)
for its outcome: the single place where an injected fault changes what happens. Actors wait out a
GitHub outage before acting (`SimState.pause`).

Healthy life of a bot PR: CI runs `build` and `test` on each new head sha; policy-bot posts status
`policy-bot` pending then success once the suite passed; approver-bot approves once the policy passed;
automerge-bot merges once the PR is `clean` (required checks green and the head approved).
`upstream` (teammates landing commits on main) only acts for `behind_base` and `merge_conflict`.

Re-triggers (each bot reacts to its own only): a PR comment `/policy-bot recheck` makes policy-bot
evaluate the head again; adding label `approver-bot:recheck` does it for approver-bot, adding label
`automerge` for automerge-bot (remove and re-add a label to trigger again). Nobody acts on `/sod recheck`.

No actor touches a PR from a `mender/ci-fix/` branch (Mender's fix for a failing pipeline): its CI is
the pipeline's workflow (pipelines.py), and no bot reviews or merges it.
"""

from __future__ import annotations

from simulators.github.faults import CHECK_LOGS
from simulators.github.model import PullRequest, SimEvent, User, is_fix_branch
from simulators.github.ops import Ops
from simulators.github.scenario import Timing
from simulators.github.state import SimState

POLICY_CONTEXT = "policy-bot"
POLICY_RECHECK = "/policy-bot recheck"
APPROVER_LABEL = "approver-bot:recheck"
AUTOMERGE_LABEL = "automerge"


def commented(ev: SimEvent, command: str) -> bool:
    """A new PR comment whose body is `command`."""
    return (
        ev.name == "issue_comment"
        and ev.action == "created"
        and ev.comment is not None
        and ev.comment.body.strip() == command
    )


def labeled(ev: SimEvent, label: str) -> bool:
    return ev.name == "pull_request" and ev.action == "labeled" and ev.data.get("label") == label


class Actor:
    """Base class: event filtering, fault decisions, delays."""

    name = "actor"
    login = "github-actions[bot]"

    def __init__(self, state: SimState, ops: Ops) -> None:
        self.state = state
        self.ops = ops

    @property
    def user(self) -> User:
        return self.state.world.user(self.login)

    @property
    def timing(self) -> Timing:
        return self.state.timing

    async def pause(self, seconds: float) -> None:
        await self.state.pause(seconds)

    def decide(self, pr: PullRequest, step: str, default: str) -> str:
        """Outcome of this actor's `step` for `pr`: the hook where faults apply."""
        return self.state.faults.decide(pr, f"{self.name}.{step}", default)

    def on_event(self, ev: SimEvent) -> None:
        if ev.pr is None or is_fix_branch(ev.pr.head_ref) or not self.wants(ev):
            return  # PRs from `mender/ci-fix/` branches are not bot PRs: pipelines.py runs their CI
        if self.decide(ev.pr, f"receive.{ev.name}", "deliver") == "drop":
            return
        self.state.spawn(self.react(ev), name=f"{self.name} {ev.pr.key} {ev.name}.{ev.action}")

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
            await self.pause(self.timing.ci_start_seconds)
            if pr.state != "open" or self.decide(pr, "start", "act") != "act":
                return
            suite = self.ops.create_suite(pr, ev.head_sha)
        await self.pause(self.timing.ci_seconds)
        for run in suite.runs:
            if run.status != "completed":
                conclusion, _, log = self.decide(pr, f"run.{run.name}", "success").partition("/")
                self.ops.complete_run(pr, run, conclusion, CHECK_LOGS.get(log))
        self.ops.complete_suite(pr, suite)


class Upstream(Actor):
    """Teammates landing commits on the base branch soon after a PR opened (faults only)."""

    name = "upstream"
    login = "octocat"

    def wants(self, ev: SimEvent) -> bool:
        return ev.name == "pull_request" and ev.action == "opened"

    async def react(self, ev: SimEvent) -> None:
        pr = ev.pr
        assert pr is not None
        await self.pause(self.timing.bot_delay_seconds)
        if pr.state != "open":
            return
        move = self.decide(pr, "move_base", "none")
        if move in ("advance", "conflict"):
            self.ops.land_on_base(pr, self.user, conflict=move == "conflict")


class PolicyBot(Actor):
    """Posts commit status `policy-bot` (pending, then success) once the head's check suite passed."""

    name = "policy-bot"
    login = "policy-bot[bot]"

    def wants(self, ev: SimEvent) -> bool:
        suite = ev.suite
        return commented(ev, POLICY_RECHECK) or (
            ev.name == "check_suite"
            and ev.action == "completed"
            and suite is not None
            and suite.conclusion == "success"
        )

    def checks_passed(self, pr: PullRequest, sha: str) -> bool:
        suites = self.state.world.suites_for(self.state.world.repos[pr.repo], sha)
        return bool(suites) and all(s.status == "completed" and s.conclusion == "success" for s in suites)

    async def react(self, ev: SimEvent) -> None:
        pr, repo = ev.pr, ev.repo
        assert pr is not None
        sha = ev.suite.head_sha if ev.suite else pr.head_sha
        await self.pause(self.timing.bot_delay_seconds)
        if not self.current(pr, sha) or (ev.suite is None and not self.checks_passed(pr, sha)):
            return  # a recheck before CI passed: the suite's completion will trigger the bot
        if self.decide(pr, "status.pending", "act") == "act":
            self.ops.add_status(repo, sha, "pending", POLICY_CONTEXT, self.user, "Evaluating policies")
        await self.pause(self.timing.bot_delay_seconds)
        if not self.current(pr, sha):
            return
        state = self.decide(pr, "status.final", "success")
        if state != "drop":
            description = "All policies passed" if state == "success" else "Policy check failed"
            self.ops.add_status(repo, sha, state, POLICY_CONTEXT, self.user, description)


class ApproverBot(Actor):
    """Approves the head commit once the policy status on it is success."""

    name = "approver-bot"
    login = "approver-bot[bot]"

    def wants(self, ev: SimEvent) -> bool:
        status = ev.status
        return labeled(ev, APPROVER_LABEL) or (
            ev.name == "status"
            and status is not None
            and status.context == POLICY_CONTEXT
            and status.state == "success"
        )

    def policy_passed(self, pr: PullRequest, sha: str) -> bool:
        states = self.state.world.context_states(self.state.world.repos[pr.repo], sha)
        return states.get(POLICY_CONTEXT) == "success"

    async def react(self, ev: SimEvent) -> None:
        pr = ev.pr
        assert pr is not None
        sha = ev.status.sha if ev.status else pr.head_sha
        await self.pause(self.timing.bot_delay_seconds)
        if not self.current(pr, sha) or not self.policy_passed(pr, sha):
            return
        verdict = self.decide(pr, "review", "APPROVE")
        if verdict != "drop":
            body = "Policy passed: approved." if verdict == "APPROVE" else "Changes requested by policy."
            self.ops.add_review(pr, self.user, verdict, body, sha)


class AutomergeBot(Actor):
    """Merges a PR once it is `clean`: required checks and policy green, head approved."""

    name = "automerge-bot"
    login = "automerge-bot[bot]"

    def __init__(self, state: SimState, ops: Ops) -> None:
        super().__init__(state, ops)
        self._merging: set[str] = set()

    def wants(self, ev: SimEvent) -> bool:
        if labeled(ev, AUTOMERGE_LABEL):
            return True
        if ev.name == "pull_request_review":
            return ev.action == "submitted" and ev.review is not None and ev.review.state == "APPROVED"
        if ev.name == "status":
            return ev.status is not None and ev.status.state == "success"
        return ev.name == "check_suite" and ev.action == "completed"

    async def react(self, ev: SimEvent) -> None:
        pr = ev.pr
        assert pr is not None
        world = self.state.world
        if (
            pr.key in self._merging
            or not self.current(pr, ev.head_sha)
            or world.mergeable_state(pr) != "clean"
        ):
            return
        self._merging.add(pr.key)
        try:
            await self.pause(self.timing.bot_delay_seconds)
            if not self.current(pr, ev.head_sha) or world.mergeable_state(pr) != "clean":
                return
            if self.decide(pr, "merge", "act") == "act":
                self.ops.merge(pr, self.user, "merge")
        finally:
            self._merging.discard(pr.key)


ACTOR_TYPES: dict[str, type[Actor]] = {
    cls.name: cls for cls in (CI, Upstream, PolicyBot, ApproverBot, AutomergeBot)
}
ALL_ACTORS: tuple[str, ...] = tuple(ACTOR_TYPES)


def make_actors(state: SimState, ops: Ops, names: tuple[str, ...] | None) -> list[Actor]:
    """The actors called `names` (None: all of them)."""
    names = ALL_ACTORS if names is None else names
    unknown = sorted(set(names) - set(ACTOR_TYPES))
    if unknown:
        raise ValueError(f"unknown actors {unknown}; known: {list(ALL_ACTORS)}")
    return [ACTOR_TYPES[name](state, ops) for name in names]
