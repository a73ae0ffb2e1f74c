"""Load and observation for `bench/ingest.py`: signed PR openings over HTTP, and the watchers that see
when every PR is in the store and answers a workflow query. Figures only; nothing is asserted."""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from starter.signatures import github_signature

OPENED = (
    Path(__file__).resolve().parents[1] / "tests/fixtures/github/webhooks/pull_request/opened.payload.json"
)
BOT = "dependabot[bot]"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def signed_openings(n: int, secret: str, first_number: int = 1) -> list[tuple[int, bytes, dict[str, str]]]:
    """`n` distinct bot PR openings (numbers, head shas, delivery ids), each body with its headers."""
    template = json.loads(OPENED.read_text())
    out = []
    for number in range(first_number, first_number + n):
        payload = copy.deepcopy(template)
        payload["number"] = payload["pull_request"]["number"] = number
        payload["pull_request"]["user"]["login"] = BOT
        payload["pull_request"]["head"]["sha"] = f"{number:040x}"
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": github_signature(secret, body),
        }
        out.append((number, body, headers))
    return out


def repo_name() -> str:
    return json.loads(OPENED.read_text())["repository"]["full_name"]


@dataclass
class LoadResult:
    started: float  # monotonic time of the first request
    finished: float  # monotonic time of the last answer
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    accepted_numbers: list[int] = field(default_factory=list)  # PR numbers answered 202, in answer order
    redelivered: int = 0  # requests sent again after a 503 or a failed connection (`redeliver`)

    @property
    def accepted(self) -> int:
        return self.statuses.get(202, 0)

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / (self.finished - self.started)


async def send(
    url: str, requests: list[tuple[int, bytes, dict[str, str]]], concurrency: int, redeliver: int = 0
) -> LoadResult:
    """POST every request with `concurrency` senders sharing one httpx.AsyncClient. With `redeliver`, a
    request answered 503 (or whose connection failed) is sent again, after a second, up to that many
    times, as GitHub's redelivery would (the starter remembers nothing of a delivery it answered 503)."""
    pending = [(request, 0) for request in reversed(requests)]
    result = LoadResult(started=time.monotonic(), finished=0.0)

    async def sender(http: httpx.AsyncClient) -> None:
        while pending:
            (number, body, headers), attempt = request = pending.pop()
            start = time.monotonic()
            try:
                response = await http.post(url, content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            result.latencies.append(time.monotonic() - start)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == 202:
                result.accepted_numbers.append(number)
            elif status in (0, 503) and attempt < redeliver:
                result.redelivered += 1
                await asyncio.sleep(1)
                pending.insert(0, (request[0], attempt + 1))

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        result.started = time.monotonic()
        await asyncio.gather(*(sender(http) for _ in range(concurrency)))
    result.finished = time.monotonic()
    return result


async def wait_until(
    count: Callable[[], int], expected: Callable[[], int], timeout: float, every: float = 0.1
) -> float | None:
    """Monotonic time at which `count()` first reached `expected()`; None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(count) >= expected():
            return time.monotonic()
        await asyncio.sleep(every)
    return None


async def wait_queryable(
    client: Client,
    workflow_ids: list[str],
    visible: Callable[[Any], bool],
    timeout: float,
    concurrency: int = 8,
) -> float | None:
    """Monotonic time at which every workflow answered its `status` query with `visible(answer)`."""
    deadline = time.monotonic() + timeout
    pending = list(reversed(workflow_ids))

    async def checker() -> bool:
        while pending:
            workflow_id = pending.pop()
            while True:
                if time.monotonic() > deadline:
                    return False
                try:
                    answer = await client.get_workflow_handle(workflow_id).query("status")
                    if visible(answer):
                        break
                except Exception:  # not started or first task not run yet: ask again
                    pass
                await asyncio.sleep(0.05)
        return True

    done = await asyncio.gather(*(checker() for _ in range(concurrency)))
    return time.monotonic() if all(done) else None


async def history_events(client: Client, workflow_id: str) -> list[str]:
    """The workflow's history as `TYPE[(activity)] bytes` lines (empty when it cannot be read): what one
    opening costs the server to store, event by event."""
    from temporalio.api.enums.v1 import EventType

    try:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
    except Exception:
        return []
    out = []
    for e in history.events:
        name = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
        if e.HasField("activity_task_scheduled_event_attributes"):
            name += f"({e.activity_task_scheduled_event_attributes.activity_type.name})"
        out.append(f"{name} {e.ByteSize()}")
    return out


def history_bytes(history: list[str]) -> int | None:
    """The serialized size of the events `history_events` listed."""
    return sum(int(line.rsplit(" ", 1)[1]) for line in history) if history else None
