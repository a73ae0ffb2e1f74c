"""The simulator's one state object: config, world, faults, timing, webhook delivery, background tasks.

Operations (`ops*.py`, `pipelines.py`), actors and the report take a `SimState`; nothing here knows
them. A world event goes out through `emit` (webhook queued, then every listener called), so the
modules that react to events register as listeners instead of being imported.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from simulators.github.access import Access, AccessConfig
from simulators.github.delivery import Deliverer, DeliveryConfig
from simulators.github.faults import Faults
from simulators.github.model import SimEvent, User
from simulators.github.payloads import Payloads
from simulators.github.render_actions import RenderActions
from simulators.github.scenario import Scenario, Timing
from simulators.github.world import World

log = logging.getLogger(__name__)
FALLBACK_BASE_URL = "http://127.0.0.1"
REQUEST_LOG_SIZE = 50_000

Listener = Callable[[SimEvent], None]
# The events Mender's GitHub App subscribes to (a hook gets only its subscribed events, as on GitHub).
MENDER_EVENTS = frozenset(
    {"pull_request", "pull_request_review", "check_suite", "check_run", "status", "issue_comment"}
    | {"workflow_run", "workflow_job"}
)


@dataclass
class SimulatorConfig:
    """How the simulator reaches Mender and how it presents itself.

    `base_url` is the simulator's own URL (every `url` in its JSON is built from it); when None it is
    taken from the first request, or set with `Simulator.set_base_url` once the port is known.
    """

    webhook_url: str | None = None
    webhook_secret: str = "dev-webhook-secret"
    base_url: str | None = None
    seed: int = 7
    actors: tuple[str, ...] | None = None  # None: every actor of `actors.ALL_ACTORS`
    api_login: str = "mender-app[bot]"  # the user behind the API token (GET /user, sender of API writes)
    hook_id: int = 421_337
    app_id: int = 901_234
    installation_id: int = 4_242
    webhook_timeout_seconds: float = 10.0
    first_pr_number: int = 1  # a restarted simulator must not reuse numbers Mender already tracks
    foreign_suite_requests: bool = False  # deliver check_suite requested/rerequested of CI's suites too
    access: AccessConfig = field(default_factory=AccessConfig)  # tokens, permissions, rate limits
    mergeability_seconds: float = 1.0  # mergeable null / state unknown this long after a push
    hook_events: frozenset[str] | None = MENDER_EVENTS  # what the webhook subscribes to (None: all)


class SimState:
    """All mutable simulator state; use it from the simulator's event loop only."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.deliverer = Deliverer(
            DeliveryConfig(
                url=config.webhook_url,
                secret=config.webhook_secret,
                hook_id=config.hook_id,
                app_id=config.app_id,
                timeout_seconds=config.webhook_timeout_seconds,
            ),
            Faults(),
        )
        self.access = Access(config.access)
        # Every REST call answered (`GET /_sim/requests`): what a chaos test counts writes and retries on.
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.listeners: list[Listener] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.fresh_world()

    def fresh_world(self) -> None:
        self.world = World(self.config.seed, self.config.first_pr_number)
        self.world.mergeability_seconds = self.config.mergeability_seconds
        self.faults = Faults()
        self.deliverer.faults = self.faults
        self.timing = Timing()
        self.scenario: Scenario | None = None  # the last scenario started (its `config` is Mender's)

    # --- identity and rendering ---

    @property
    def base_url(self) -> str:
        return (self.config.base_url or FALLBACK_BASE_URL).rstrip("/")

    @property
    def render(self) -> RenderActions:
        return RenderActions(self.world, self.base_url)

    @property
    def payloads(self) -> Payloads:
        return Payloads(self.render, self.config.installation_id)

    @property
    def api_user(self) -> User:
        return self.world.user(self.config.api_login)

    # --- tasks and events ---

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run a background task on the simulator's loop; failures are logged, never raised."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("simulator task %s failed", task.get_name(), exc_info=task.exception())

    def cancel_tasks(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        self.tasks.clear()

    async def pause(self, seconds: float) -> None:
        """Sleep `seconds`, then wait out any GitHub outage: nothing in the world moves during one."""
        if seconds > 0:
            await asyncio.sleep(seconds)
        await self.faults.world.until_up()

    def emit(self, ev: SimEvent, body: dict[str, Any]) -> None:
        """A world event happened: queue its webhook (if the hook subscribes to it), then let every listener react."""
        events = self.config.hook_events
        if events is None or ev.name in events:
            self.deliverer.enqueue(ev.name, ev.action, body, ev.pr)
        self.notify(ev)

    def notify(self, ev: SimEvent) -> None:
        """Tell the listeners (actors, the Actions engine) about an event without a webhook."""
        for listener in list(self.listeners):
            listener(ev)
