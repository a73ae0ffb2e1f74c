"""The simulator: one `SimState` (state.py) and the operations, Actions engine and actors that take it,
bound to one asyncio event loop. The REST routers read it through this facade.

All state lives on the loop that runs the app (uvicorn's). Coroutine entry points (`run_scenario`,
`reset`, `wait_deliveries`) hop to that loop when awaited from another one, and `report()` does the
same from another thread, so tests may drive a simulator served by `ServerThread`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

from simulators.github.actors import Actor, make_actors
from simulators.github.contents import change_for_title
from simulators.github.delivery import Deliverer
from simulators.github.faults import Faults
from simulators.github.model import PullRequest, SimEvent, User
from simulators.github.ops import Ops
from simulators.github.osv import osv_entry
from simulators.github.payloads import Payloads
from simulators.github.pipelines import Pipelines
from simulators.github.render_actions import RenderActions
from simulators.github.repo_refusals import RepoRefusals
from simulators.github.report import build_report
from simulators.github.scenario import (
    DEFAULT_AUTHORS,
    PRGroup,
    Scenario,
    ScheduledComment,
    Timing,
    bump_pr,
    slug_branch,
)
from simulators.github.state import SimState, SimulatorConfig
from simulators.github.world import World

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["Simulator", "SimulatorConfig"]


class Simulator:
    """Wires the state, the operations, the Actions engine and the actors; see the module docstring."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.state = SimState(config or SimulatorConfig())
        self.ops = Ops(self.state)
        self.pipelines = Pipelines(self.state, self.ops)  # failing Actions pipelines (`World.pipelines`)
        self.refusals = RepoRefusals()  # repositories answered 404/403/429 (`repo_refusals.py`)
        self.slow: dict[re.Pattern[str], float] = {}  # REST calls answered late (`POST /_sim/slow`)
        self._fresh_world()

    def _fresh_world(self) -> None:
        self.state.fresh_world()
        self.refusals.kinds.clear()
        self.actors: list[Actor] = make_actors(self.state, self.ops, self.config.actors)
        self.state.listeners = [*(actor.on_event for actor in self.actors), self.pipelines.on_event]

    # --- the state, as the REST routers and tests read it ---

    @property
    def config(self) -> SimulatorConfig:
        return self.state.config

    @property
    def world(self) -> World:
        return self.state.world

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def deliverer(self) -> Deliverer:
        return self.state.deliverer

    @property
    def timing(self) -> Timing:
        return self.state.timing

    @timing.setter
    def timing(self, timing: Timing) -> None:
        self.state.timing = timing

    @property
    def scenario(self) -> Scenario | None:
        return self.state.scenario

    @scenario.setter
    def scenario(self, scenario: Scenario | None) -> None:
        self.state.scenario = scenario

    @property
    def base_url(self) -> str:
        return self.state.base_url

    def set_base_url(self, url: str) -> None:
        self.config.base_url = url.rstrip("/")

    def set_webhook_url(self, url: str | None) -> None:
        self.config.webhook_url = url
        self.deliverer.config.url = url

    @property
    def render(self) -> RenderActions:
        return self.state.render

    @property
    def payloads(self) -> Payloads:
        return self.state.payloads

    @property
    def api_user(self) -> User:
        return self.state.api_user

    # --- loop, tasks, events ---

    async def start(self) -> None:
        """Bind to the running loop (the app lifespan calls this on uvicorn's loop)."""
        self.state.loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self.state.cancel_tasks()
        await self.deliverer.close()

    async def _on_loop(self, factory: Callable[[], Awaitable[T]]) -> T:
        running = asyncio.get_running_loop()
        loop = self.state.loop
        if loop is None or loop is running or not loop.is_running():
            self.state.loop = running
            return await factory()

        async def call() -> T:
            return await factory()

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(), loop))

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run a background task on the simulator's loop; failures are logged, never raised."""
        return self.state.spawn(coro, name)

    def settled(self) -> bool:
        """Has every reaction to what happened so far (bots, CI, scheduled work) finished, or does it wait
        for an outage to end? Tests wait on this to show that something did not happen."""
        return len(self.state.tasks) <= self.faults.world.parked

    async def pause(self, seconds: float) -> None:
        """Sleep `seconds`, then wait out any GitHub outage: nothing in the world moves during one."""
        await self.state.pause(seconds)

    def emit(self, ev: SimEvent, body: dict[str, Any]) -> None:
        """A world event happened: queue its webhook, then let every actor react."""
        self.state.emit(ev, body)

    # --- scenarios and PRs ---

    def open_bot_pr(
        self, repo: str, author: str, title: str | None = None, faults: Iterable[str] = ()
    ) -> PullRequest:
        """Open one PR from a fresh branch (call on the loop); a dependency-bump title if none given."""
        faults = PRGroup(count=1, faults=list(faults), author=author).faults
        taken = set(self.world.ensure_repo(repo).branches)
        if title:
            branch, change = slug_branch(author, title, taken), change_for_title(title)
            body = f"{title}\n\nThis PR was opened by the Mender GitHub simulator."
        else:
            title, branch, body, change = bump_pr(self.world.rng, author, taken)
        return self.ops.open_pr(repo, author, title, body, branch, faults, change)

    async def open_pr(
        self, repo: str, author: str = "dependabot[bot]", title: str | None = None, faults: Iterable[str] = ()
    ) -> PullRequest:
        """`open_bot_pr` from any event loop."""

        async def call() -> PullRequest:
            return self.open_bot_pr(repo, author, title, faults)

        return await self._on_loop(call)

    async def run_scenario(self, scenario: Scenario) -> list[PullRequest]:
        """Create the scenario's repos, schedule its pipelines, open its PRs; returns once all are opened."""
        return await self._on_loop(lambda: self._run_scenario(scenario))

    async def _run_scenario(self, scenario: Scenario) -> list[PullRequest]:
        self.scenario = scenario
        self.world.reseed(scenario.seed)
        self.timing = scenario.timing
        self.faults.world.start(scenario.world_faults, scenario.seed)
        if scenario.github_rate_limit is not None:
            rules = self.state.access.config
            self.state.access.configure(dataclasses.replace(rules, limit=scenario.github_rate_limit))
        if scenario.github_points_per_minute is not None:
            rules = self.state.access.config
            points = scenario.github_points_per_minute
            self.state.access.configure(dataclasses.replace(rules, points_per_minute=points))
        for name in scenario.repos:
            self.world.ensure_repo(name)
        self.world.vulnerabilities = [osv_entry(v.model_dump()) for v in scenario.vulnerabilities]
        self.pipelines.schedule(scenario)
        opened: list[PullRequest] = []
        for group in scenario.prs:
            for _ in range(group.count):
                if opened and scenario.timing.open_interval_seconds:
                    await self.pause(scenario.timing.open_interval_seconds)
                await self.faults.world.until_up()
                i = len(opened)
                repo = scenario.repos[i % len(scenario.repos)]
                author = group.author or DEFAULT_AUTHORS[(i // len(scenario.repos)) % len(DEFAULT_AUTHORS)]
                pr = self.open_bot_pr(repo, author, faults=group.faults)
                opened.append(pr)
                for comment in group.comments:
                    self.spawn(self._comment_later(pr, comment), name=f"comment {pr.key}")
        return opened

    async def _comment_later(self, pr: PullRequest, comment: ScheduledComment) -> None:
        await self.pause(comment.after_seconds)
        self.ops.add_comment(pr, self.world.user(comment.author), comment.body)

    def start_scenario(self, scenario: Scenario) -> asyncio.Task[list[PullRequest]]:
        """Run a scenario in the background (call on the loop)."""
        return self.spawn(self._run_scenario(scenario), name="scenario")

    async def reset(self) -> None:
        """Forget everything: world, deliveries, running actor tasks, timing."""

        async def _reset() -> None:
            self.reset_now()

        await self._on_loop(_reset)

    def reset_now(self) -> None:
        """`reset` for callers already on the loop."""
        self.state.cancel_tasks()
        self.deliverer.reset()
        self._fresh_world()

    async def wait_deliveries(self) -> None:
        """Wait until every queued webhook delivery has been attempted."""
        await self._on_loop(self.deliverer.idle)

    # --- reporting ---

    def report(self) -> dict[str, Any]:
        """Per-PR outcomes, totals, outages and delivery counts (see `report.py`), from any thread."""
        loop = self.state.loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and loop is not running and loop.is_running():

            async def build() -> dict[str, Any]:
                return build_report(self.state)

            return asyncio.run_coroutine_threadsafe(build(), loop).result(timeout=10)
        return build_report(self.state)
