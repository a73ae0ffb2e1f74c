"""Webhook delivery: signed POSTs to Mender's starter, in order per PR, every attempt logged.

Like GitHub, a failed delivery is not retried on its own; `redeliver` resends the same body with the
same delivery id. A failed or refused delivery never raises into the simulator. During a GitHub
outage deliveries are held and go out once it ends; `webhook_loss` drops some (logged as `dropped`);
`webhook_delay`, `webhook_reorder` and `webhook_duplicate` (world_faults.py) delay, hold back (so
later deliveries of the PR overtake) and send twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from simulators.github.faults import Faults
from simulators.github.model import PullRequest, now
from simulators.github.render import ts

log = logging.getLogger(__name__)

USER_AGENT = "GitHub-Hookshot/sim"


def signature_256(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` header value: `sha256=` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_1(secret: str, body: bytes) -> str:
    """The legacy `X-Hub-Signature` header value (HMAC-SHA1)."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


@dataclass
class DeliveryRecord:
    id: str
    event: str
    action: str | None
    repo: str | None
    pr: int | None
    packed_body: bytes  # zlib-compressed: a busy run logs tens of thousands of ~10 KB bodies
    status: str = "queued"  # queued, delivered, failed, dropped
    status_code: int | None = None
    error: str | None = None
    attempts: int = 0
    queued_at: Any = field(default_factory=now)
    delivered_at: Any = None
    sent_order: int | None = None  # when its first attempt went out, relative to the others
    pr_ref: PullRequest | None = None

    @property
    def body(self) -> bytes:
        """The exact bytes sent (and signed)."""
        return zlib.decompress(self.packed_body)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "action": self.action,
            "repo": self.repo,
            "pr": self.pr,
            "status": self.status,
            "status_code": self.status_code,
            "error": self.error,
            "attempts": self.attempts,
            "queued_at": ts(self.queued_at),
            "delivered_at": ts(self.delivered_at),
        }


@dataclass
class DeliveryConfig:
    url: str | None
    secret: str
    hook_id: int
    app_id: int
    timeout_seconds: float = 10.0


class Deliverer:
    """Queues webhook bodies per PR and sends them one at a time, in order, from the event loop."""

    def __init__(self, config: DeliveryConfig, faults: Faults) -> None:
        self.config = config
        self.faults = faults
        self.log: list[DeliveryRecord] = []
        self._by_id: dict[str, DeliveryRecord] = {}
        self._queues: dict[str, asyncio.Queue[DeliveryRecord]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._held: set[asyncio.Task[None]] = set()  # deliveries held back by `webhook_reorder`
        self._sent = itertools.count()
        self._client: httpx.AsyncClient | None = None

    def enqueue(self, event: str, action: str | None, body: dict[str, Any], pr: PullRequest | None) -> None:
        """Queue a delivery (no-op without a webhook URL); must be called on the event loop."""
        if not self.config.url:
            return
        raw = zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 1)
        repo = body.get("repository", {}).get("full_name")
        record = DeliveryRecord(
            str(uuid.uuid4()), event, action, repo, pr.number if pr else None, raw, pr_ref=pr
        )
        self.log.append(record)
        self._by_id[record.id] = record
        key = pr.key if pr else (repo or "-")
        queue = self._queues.setdefault(key, asyncio.Queue())
        queue.put_nowait(record)
        if key not in self._workers:
            self._workers[key] = asyncio.get_running_loop().create_task(self._drain(key, queue))

    async def _drain(self, key: str, queue: asyncio.Queue[DeliveryRecord]) -> None:
        try:
            while not queue.empty():
                record = queue.get_nowait()
                await self.faults.world.until_up()
                name = (
                    f"webhook.{record.event}.{record.action}" if record.action else f"webhook.{record.event}"
                )
                if self.faults.decide(record.pr_ref, name, "deliver") == "drop":
                    record.status, record.error = "dropped", "dropped by fault injection"
                    continue
                world = self.faults.world
                if world.delay_seconds:
                    await asyncio.sleep(world.delay_seconds)
                if held := world.hold_back():
                    task = asyncio.get_running_loop().create_task(self._post_later(record, held))
                    self._held.add(task)
                    task.add_done_callback(self._held.discard)
                    continue
                await self._post_maybe_twice(record)
        finally:
            # No await between the empty check and this removal: enqueue cannot slip in between.
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
            if self._queues.get(key) is queue and queue.empty():
                del self._queues[key]

    async def _post_later(self, record: DeliveryRecord, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._post_maybe_twice(record)

    async def _post_maybe_twice(self, record: DeliveryRecord) -> None:
        await self._post(record)
        if self.faults.world.duplicate():
            await self._post(record)  # the same delivery id again, as GitHub may

    async def _post(self, record: DeliveryRecord) -> None:
        body = record.body
        headers = {
            "X-GitHub-Event": record.event,
            "X-GitHub-Delivery": record.id,
            "X-GitHub-Hook-ID": str(self.config.hook_id),
            "X-GitHub-Hook-Installation-Target-ID": str(self.config.app_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-Hub-Signature": signature_1(self.config.secret, body),
            "X-Hub-Signature-256": signature_256(self.config.secret, body),
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
        }
        record.attempts += 1
        if record.sent_order is None:
            record.sent_order = next(self._sent)
        url = self.config.url
        try:
            if url is None:
                raise RuntimeError("no webhook URL configured")
            if self._client is None:
                # No pool timeout: with thousands of PR queues, waiting for a connection is not a failure.
                timeout = httpx.Timeout(self.config.timeout_seconds, pool=None)
                limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
                self._client = httpx.AsyncClient(timeout=timeout, limits=limits)
            response = await self._client.post(url, content=body, headers=headers)
        except Exception as exc:  # any failure is logged, never raised into the simulator
            record.status, record.status_code = "failed", None
            record.error = f"{type(exc).__name__}: {exc}"
            log.warning("webhook %s %s to %s failed: %s", record.event, record.id, url, record.error)
            return
        record.status_code = response.status_code
        record.delivered_at = now()
        if response.is_success:
            record.status, record.error = "delivered", None
        else:
            record.status, record.error = "failed", response.text[:200]

    async def redeliver(self, delivery_id: str) -> DeliveryRecord | None:
        """Resend a logged delivery with the same body and delivery id; None if the id is unknown."""
        record = self._by_id.get(delivery_id)
        if record is not None:
            await self._post(record)
        return record

    @property
    def busy(self) -> bool:
        """True while a delivery is queued or held back."""
        return bool(self._workers or self._held)

    async def idle(self) -> None:
        """Wait until every queued delivery has been attempted."""
        while self._workers or self._held:
            await asyncio.gather(*self._workers.values(), *self._held, return_exceptions=True)

    def reset(self) -> None:
        for task in [*self._workers.values(), *self._held]:
            task.cancel()
        self._workers.clear()
        self._held.clear()
        self._queues.clear()
        self.log.clear()
        self._by_id.clear()

    async def close(self) -> None:
        self.reset()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
