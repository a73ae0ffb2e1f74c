"""The running stack tests share: one Temporal dev server, and a pool of HTTP hosts (uvicorn servers on
real ports) for the simulators and the starter, started once per session.

A test still builds its own simulators, starter app and worker (its own settings, store, task queue
and activity replacements). It borrows hosts (`borrowed_hosts`) and lends them its apps for its
duration (`Host.serving`): the app's lifespan runs on the host's loop as if uvicorn had started it, and
requests go to it until the block ends. So no two tests share state, and none pays for starting and
stopping uvicorn servers. `tests/conftest.py` exposes the fixtures; `tests/support/world.py` builds a
whole Mender world on them; `tests/support/admin_api.served_starter` serves a starter on one host.
A host's URL outlives the app it serves: tests whose client caches by URL what the previous app
issued (GitHub App installation tokens, `runtime/github_auth.py`) serve on their own `ServerThread`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts.visibility import SEARCH_ATTRIBUTES
from runtime.serving import ServerThread
from runtime.settings import Settings, set_settings
from runtime.temporal import temporal_binary
from simulators.slack import SlackSimulator
from simulators.slack import create_app as create_slack
from tests.support.stack import make_settings


class Host:
    """A uvicorn server that lives for the session and serves whichever app a test lends it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._app: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = ServerThread(self)

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> Host:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the host's own; each lent app gets its lifespan in `serving`
            self._loop = asyncio.get_running_loop()
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        app = self._app
        if app is None:
            if scope["type"] == "http":
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": f"no app on the {self.name} host".encode()})
            return
        await app(scope, receive, send)

    @asynccontextmanager
    async def serving(self, app: Any) -> AsyncIterator[Host]:
        """Serve `app` (with its lifespan, run on the host's loop) for the duration of the block."""
        assert self._app is None, f"the {self.name} host already serves an app"
        lifespan = app.router.lifespan_context(app)
        await self._on_host_loop(lifespan.__aenter__())
        self._app = app
        try:
            yield self
        finally:
            self._app = None
            await self._on_host_loop(lifespan.__aexit__(None, None, None))

    @contextmanager
    def serving_blocking(self, app: Any) -> Iterator[Host]:
        """`serving` for synchronous callers (the caller's thread waits for the app's lifespan)."""
        assert self._app is None, f"the {self.name} host already serves an app"
        lifespan = app.router.lifespan_context(app)
        self._blocking(lifespan.__aenter__())
        self._app = app
        try:
            yield self
        finally:
            self._app = None
            self._blocking(lifespan.__aexit__(None, None, None))

    async def _on_host_loop(self, coro: Any) -> Any:
        assert self._loop is not None, f"the {self.name} host is not started"
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def _blocking(self, coro: Any) -> Any:
        assert self._loop is not None, f"the {self.name} host is not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)


_free: list[Host] = []  # started hosts no test is using
_started: list[Host] = []


@contextmanager
def borrowed_hosts(count: int) -> Iterator[list[Host]]:
    """`count` hosts for the block (the pool grows when all are in use; they are never stopped early)."""
    while len(_free) < count:
        host = Host(f"host-{len(_started) + 1}").start()
        _started.append(host)
        _free.append(host)
    hosts = [_free.pop() for _ in range(count)]
    try:
        yield hosts
    finally:
        _free.extend(hosts)


def stop_hosts() -> None:
    while _started:
        _started.pop().stop()
    _free.clear()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server with Mender's search attributes registered."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=pydantic_data_converter,
        dev_server_startup_timeout=timedelta(seconds=60),  # a loaded machine needs more than the SDK's 5 s
    )
    try:
        yield env
    finally:
        stop_hosts()
        await env.shutdown()


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Per-test settings (fresh store, short timers), installed process-wide for activities."""
    yield make_settings(tmp_path)
    set_settings(None)


@pytest.fixture(scope="module")
def slack_served() -> Iterator[tuple[SlackSimulator, str]]:
    """A Slack simulator on a real port, shared by a test module (reset it per test)."""
    sim = SlackSimulator()
    with ServerThread(create_slack(sim)) as server:
        yield sim, server.url
