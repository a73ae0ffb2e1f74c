"""Fixtures for the GitHub simulator tests: a served simulator and a webhook receiver, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from runtime.serving import ServerThread
from simulators.github import Simulator, SimulatorConfig, create_app
from tests.simulators.helpers import Receiver, Served


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server = ServerThread(rec.app()).start()
    rec.url = f"{server.url}/webhooks/github"
    yield rec
    server.stop()


@pytest.fixture
def serve() -> Iterator[Callable[[SimulatorConfig], Served]]:
    """Factory: serve a simulator for `config` in a ServerThread; stopped at teardown."""
    servers: list[ServerThread] = []

    def start(config: SimulatorConfig) -> Served:
        sim = Simulator(config)
        server = ServerThread(create_app(sim)).start()
        sim.set_base_url(server.url)
        servers.append(server)
        return Served(sim, server.url)

    yield start
    for server in servers:
        server.stop()
