"""The webhook receiver over real HTTP, with a real Temporal dev server and worker behind it."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from contracts.pr import STATUS_QUERY, PRStatus
from domain.pr_healing.events import PRRef
from domain.pr_healing.lifecycle import PRState
from runtime.dispatch import EventDispatcher
from runtime.serving import ServerThread, free_port
from runtime.settings import Settings
from starter.app import create_app
from starter.signatures import github_signature
from store import repository
from store.db import engine_for
from tests.conftest import FIXTURES
from tests.support.events import eventually
from tests.support.running_stack import borrowed_hosts
from tests.support.stack import running_worker

WEBHOOKS = FIXTURES / "github" / "webhooks"
PAYLOADS = sorted(WEBHOOKS.glob("*/*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / name).read_text())


@dataclass
class Receiver:
    url: str
    secret: str
    http: httpx.AsyncClient

    async def post(
        self,
        event: str,
        payload: dict | bytes,
        *,
        delivery: str | None = None,
        signature: str | None = "good",
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4())}
        if signature == "good":
            headers["X-Hub-Signature-256"] = github_signature(self.secret, body)
        elif signature:
            headers["X-Hub-Signature-256"] = signature
        return await self.http.post(f"{self.url}/webhooks/github", content=body, headers=headers)


def _starter(settings: Settings, address: str, namespace: str, queue: str) -> ServerThread:
    return ServerThread(create_app(settings, EventDispatcher(address, namespace, queue)))


@pytest.fixture
async def receiver(client: Client, settings: Settings) -> AsyncIterator[Receiver]:
    address = client.service_client.config.target_host
    with borrowed_hosts(1) as (starter,):
        async with (
            running_worker(client) as queue,
            httpx.AsyncClient(timeout=10) as http,
            starter.serving(create_app(settings, EventDispatcher(address, client.namespace, queue))),
        ):
            yield Receiver(starter.url, settings.webhook_secret, http)


def bot_pr(number: int, login: str = "dependabot[bot]") -> dict[str, Any]:
    payload = load("pull_request/opened.payload.json")
    payload["pull_request"]["user"]["login"] = login
    payload["pull_request"]["number"] = payload["number"] = number
    return payload


async def status(client: Client, pr: PRRef) -> PRStatus:
    return await client.get_workflow_handle(pr.workflow_id).query(STATUS_QUERY, result_type=PRStatus)


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: f"{p.parent.name}/{p.name}")
async def test_every_real_payload_is_accepted_or_deliberately_ignored(receiver: Receiver, path) -> None:
    response = await receiver.post(path.parent.name, json.loads(path.read_text()))
    assert response.status_code in (200, 202), response.text
    assert response.json()["outcome"] in ("accepted", "ignored")
    if response.json()["outcome"] == "ignored":
        assert response.json()["reason"]


async def test_bot_pr_starts_a_workflow_and_checks_move_it(receiver: Receiver, client: Client) -> None:
    opened = bot_pr(4101)
    response = await receiver.post("pull_request", opened)
    assert response.status_code == 202, response.text
    pr = PRRef(repo=opened["repository"]["full_name"], number=4101)
    assert (
        await eventually(lambda: status(client, pr), lambda s: s.state is not None)
    ).state is PRState.CREATED

    suite = load("check_suite/completed.payload.json")
    suite["check_suite"]["head_sha"] = opened["pull_request"]["head"]["sha"]
    suite["check_suite"]["pull_requests"][0]["number"] = 4101
    assert (await receiver.post("check_suite", suite)).status_code == 202
    await eventually(lambda: status(client, pr), lambda s: s.state is PRState.CHECKS_PASSED)


async def test_human_pr_is_ignored_with_a_reason(receiver: Receiver) -> None:
    response = await receiver.post("pull_request", load("pull_request/opened.payload.json"))
    assert response.status_code == 200
    assert response.json()["reason"] == "author Codertocat is not a configured bot"


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "garbage"])
async def test_missing_or_bad_signature_is_401(receiver: Receiver, signature: str | None) -> None:
    response = await receiver.post("pull_request", bot_pr(4102), signature=signature)
    assert response.status_code == 401


async def test_malformed_payloads_are_400_with_the_reason(receiver: Receiver) -> None:
    not_json = await receiver.post("pull_request", b"{not json")
    assert not_json.status_code == 400 and "JSON" in not_json.json()["reason"]
    broken = bot_pr(4103)
    del broken["pull_request"]["head"]
    response = await receiver.post("pull_request", broken)
    assert response.status_code == 400
    assert response.json()["reason"] == "pull_request payload: pull_request.head: Field required"
    assert (await receiver.post("status", {"id": 1})).status_code == 400


async def test_duplicate_delivery_gives_one_event(
    receiver: Receiver, client: Client, settings: Settings
) -> None:
    opened, delivery = bot_pr(4104), str(uuid.uuid4())
    first = await receiver.post("pull_request", opened, delivery=delivery)
    second = await receiver.post("pull_request", copy.deepcopy(opened), delivery=delivery)
    assert (first.status_code, second.json()["outcome"]) == (202, "duplicate")
    pr = PRRef(repo=opened["repository"]["full_name"], number=4104)

    async def stored() -> int:
        return len(repository.get_pr(engine_for(settings.database_url), pr)[1])

    assert await eventually(stored, lambda n: n >= 1) == 1
    # a redelivery under a new id is recognised by the event's own key
    assert (await receiver.post("pull_request", opened)).status_code == 202
    assert [e.transition.outcome for e in (await status(client, pr)).recent_events] == ["applied"]


async def test_temporal_down_answers_503_and_keeps_the_delivery_retryable(
    receiver: Receiver, settings: Settings
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    opened, delivery = bot_pr(4105), str(uuid.uuid4())
    with _starter(settings, dead, "default", "nowhere") as down:
        outage = Receiver(down.url, receiver.secret, receiver.http)
        response = await outage.post("pull_request", opened, delivery=delivery)
    assert response.status_code == 503 and response.json()["outcome"] == "retry"
    assert not repository.delivery_seen(engine_for(settings.database_url), delivery)
    redelivered = await receiver.post("pull_request", opened, delivery=delivery)
    assert redelivered.status_code == 202


async def test_bounds_on_what_comes_from_outside_are_400_with_the_reason(receiver: Receiver) -> None:
    deep: Any = {}
    for _ in range(200):
        deep = {"a": deep}
    too_deep = await receiver.post("pull_request", {"action": "opened", "x": deep})
    assert too_deep.status_code == 400 and "deeper than 64 levels" in too_deep.json()["reason"]
    recursion = await receiver.post("pull_request", b'{"a":' * 5000 + b"1" + b"}" * 5000)
    assert recursion.status_code == 400
    long_id = await receiver.post("pull_request", bot_pr(4106), delivery="d" * 10_000)
    assert long_id.status_code == 400 and "delivery id longer than 100" in long_id.json()["reason"]
    assert long_id.json()["delivery"] is None  # a 10 kB id is not echoed back


async def test_the_delivery_is_recorded_after_the_answer(receiver: Receiver, settings: Settings) -> None:
    delivery = str(uuid.uuid4())
    assert (await receiver.post("pull_request", bot_pr(4107), delivery=delivery)).status_code == 202
    engine = engine_for(settings.database_url)
    assert await eventually(lambda: _seen(engine, delivery), bool)


async def _seen(engine: Any, delivery: str) -> bool:
    return repository.delivery_seen(engine, delivery)


@pytest.mark.parametrize("number", [10**30, 2**31])
async def test_a_pr_number_beyond_32_bits_is_400_never_stored(receiver: Receiver, number: int) -> None:
    response = await receiver.post("pull_request", bot_pr(number))
    assert response.status_code == 400
    assert (
        "pull_request.number: Input should be less than or equal to 2147483647" in response.json()["reason"]
    )
