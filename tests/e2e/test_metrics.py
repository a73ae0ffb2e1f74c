"""`/metrics` on the starter and the worker: valid Prometheus text, and the right counters move."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.worker import Worker

from runtime import metrics
from runtime.metrics_worker import ActivityErrorMetrics, sdk_runtime, serve_mender_metrics
from runtime.serving import free_port
from runtime.settings import Settings, set_settings
from runtime.temporal import make_client
from tests.support.boom_workflow import BOOM, BoomWorkflow, boom
from tests.support.events import eventually
from tests.support.stack import make_settings, quick_lifecycle, running_worker
from tests.support.world import mender_world

FAST_SIM = ("ci", "policy-bot", "approver-bot")  # no automerge bot: every PR stalls once approved


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition (the parser raises on anything malformed)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def act_settings(tmp_path: Path):
    yield make_settings(
        tmp_path, mode="act", lifecycle=quick_lifecycle(), remediation={"effect_deadline_seconds": 2.0}
    )
    set_settings(None)


async def test_starter_metrics_parse_and_count_webhooks_and_remediations(
    client: Client, act_settings: Settings
) -> None:
    async with mender_world(client, act_settings, actors=FAST_SIM) as world:
        before = samples((await world.http.get(f"{world.starter_url}/metrics")).text)
        number = await world.open_pr("acme/api")
        await eventually(
            lambda: world.status("acme/api", number),
            lambda s: str(s.state) == "MERGED",
            timeout=60,
        )
        bad = await world.http.post(
            f"{world.starter_url}/webhooks/github",
            content=b"{}",
            headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1"},
        )
        assert bad.status_code == 401

        def effect_counted(response: httpx.Response) -> bool:
            found = samples(response.text)
            latency = ("mender_action_to_effect_seconds_count", {"action": "RETRIGGER_MERGE"})
            audited = (
                "mender_remediation_actions_total",
                {"action": "RETRIGGER_MERGE", "outcome": "effective"},
            )
            return all(
                value(found, n, **labels) > value(before, n, **labels) for n, labels in (latency, audited)
            )

        response = await eventually(lambda: world.http.get(f"{world.starter_url}/metrics"), effect_counted)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    accepted = moved("mender_webhooks_received_total", provider="github", outcome="accepted", reason="ok")
    assert accepted >= 3  # opened, checks, approval, merge ... each accepted by the starter
    assert (
        moved(
            "mender_webhooks_received_total", provider="github", outcome="rejected", reason="unauthenticated"
        )
        == 1
    )
    assert moved("mender_remediation_actions_total", action="RETRIGGER_MERGE", outcome="acted") == 2
    assert moved("mender_remediation_actions_total", action="RETRIGGER_MERGE", outcome="not_effective") == 1
    assert moved("mender_remediation_actions_total", action="RETRIGGER_MERGE", outcome="effective") == 1
    assert moved("mender_stall_to_action_seconds_count", action="RETRIGGER_MERGE") == 2
    assert moved("mender_action_to_effect_seconds_count", action="RETRIGGER_MERGE") == 1
    labels = {dict(key[1]).get("action") for key in after if key[0].startswith("mender_remediation")}
    assert not any(str(number) == label for label in labels)  # never a PR number as a label


async def test_worker_exports_sdk_runtime_metrics_and_mender_metrics(client: Client, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    try:
        sdk_port, own_port = free_port(), free_port()
        target = client.service_client.config.target_host
        metered = await make_client(target, client.namespace, runtime=sdk_runtime(f"127.0.0.1:{sdk_port}"))
        server = serve_mender_metrics("127.0.0.1", own_port)
        try:
            async with running_worker(metered), httpx.AsyncClient() as http:

                async def scrape() -> str:
                    return (await http.get(f"http://127.0.0.1:{sdk_port}/metrics")).text

                sdk = await eventually(scrape, lambda text: "temporal_" in text, timeout=20)
                own = (await http.get(f"http://127.0.0.1:{own_port}/metrics")).text
        finally:
            server.shutdown()
    finally:
        set_settings(None)
    sdk_names = {f.name for f in text_string_to_metric_families(sdk)}
    assert any(name.startswith("temporal_") for name in sdk_names), sorted(sdk_names)[:20]
    own_names = {f.name for f in text_string_to_metric_families(own)}
    assert {"mender_webhooks_received", "mender_remediation_actions", "mender_breaker_trips"} <= own_names
    assert settings.config.metrics.worker_port == 9464  # documented default


async def test_activity_failures_are_counted_by_the_worker_interceptor(client: Client) -> None:
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    before = value(samples(metrics.exposition().decode()), "mender_activity_errors_total", activity=BOOM)
    async with Worker(
        client,
        task_queue=queue,
        workflows=[BoomWorkflow],
        activities=[boom],
        interceptors=[ActivityErrorMetrics()],
    ):
        result = await client.execute_workflow(BoomWorkflow.run, 2, id=f"boom-{queue}", task_queue=queue)
    assert result == "failed as expected"
    after = value(samples(metrics.exposition().decode()), "mender_activity_errors_total", activity=BOOM)
    assert after - before == 2  # both attempts


def test_a_busy_metrics_port_costs_the_metrics_not_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert serve_mender_metrics("127.0.0.1", port) is None
        assert sdk_runtime(f"127.0.0.1:{port}") is None
    assert sum("NOT" in r.message and str(port) in r.message for r in caplog.records) == 2
