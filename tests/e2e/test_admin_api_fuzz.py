"""Property-based fuzzing of the Admin API from its own OpenAPI document (schemathesis), over real HTTP.

Every operation gets generated valid and invalid input with an admin key; no answer may be a 5xx
(Temporal is up, and a worker runs), and every answer must match the status codes and schemas the
document declares.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from temporalio.testing import WorkflowEnvironment

from domain.config import MenderConfig
from runtime.settings import Environment, Settings, set_settings
from runtime.temporal import make_client
from starter.app import create_app
from tests.support.admin_api import ADMIN_KEY, admin_settings, bearer, served_starter
from worker import build_worker


@pytest.fixture(scope="module")
def worker_thread(temporal_env: WorkflowEnvironment) -> Iterator[str]:
    """A Mender worker on its own thread and event loop (the fuzzing itself is synchronous)."""
    address = temporal_env.client.service_client.config.target_host
    queue = f"mender-fuzz-{uuid.uuid4().hex[:8]}"
    stop, ready = threading.Event(), threading.Event()

    async def run() -> None:
        client = await make_client(address)
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
            async with build_worker(client, queue, executor, max_concurrent_activities=4):
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.05)

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(30), "worker did not start"
    yield queue
    stop.set()
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def api(
    worker_thread: str, temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The starter on a real port, with the admin key configured; yields its URL."""
    settings = admin_settings(Path(tmp_path_factory.mktemp("fuzz")))
    try:
        with served_starter(settings, temporal_env.client, worker_thread) as url:
            yield url
    finally:
        set_settings(None)


def _document() -> dict:
    """The starter's OpenAPI document, as `/openapi.json` serves it (checked below)."""
    env = Environment(mender_config=Path("absent.yaml"), mender_webhook_secret="fuzz")
    return create_app(Settings(MenderConfig(), env)).openapi()


DOCUMENT = _document()
# Built at import (schemathesis' lazy fixture loader does not support pytest 9): the document is the
# app's own, and the first test checks it is exactly the served one.
schema = schemathesis.openapi.from_dict(DOCUMENT).include(path_regex="^/api/")


def test_the_fuzzed_document_is_the_served_one(api: str) -> None:
    assert httpx.get(f"{api}/openapi.json").json() == DOCUMENT
    assert httpx.get(f"{api}/docs").status_code == 200
    operations = {
        (m.upper(), p) for p, ops in DOCUMENT["paths"].items() for m in ops if p.startswith("/api/")
    }
    assert (
        len(operations) == 20
    )  # 8 on PRs, reconciler, breaker, audit; 4 operator views; 4 on keys; config reload; 3 on the review queue
    assert all(op["summary"] and op["description"] for p in DOCUMENT["paths"].values() for op in p.values())


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_admin_api_never_fails_and_matches_its_schema(case: schemathesis.Case, api: str) -> None:
    case.call_and_validate(
        base_url=api,
        headers=bearer(ADMIN_KEY),
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        timeout=30,
    )
