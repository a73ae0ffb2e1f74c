"""Hook delivery (Pipeline Hooks, Merge Request Hooks): POSTs with `X-Gitlab-Token`, in queue order, from one background task.

Records are queued from any thread (`enqueue`); the task started by `start()` on the app's event loop
sends them one at a time. Like GitLab, a failed delivery is not retried. With `loss_rate` > 0 a seeded
RNG drops deliveries, which are logged as `dropped`. A failing receiver never raises into the simulator.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from simulators.gitlab.model import iso, now

log = logging.getLogger(__name__)

USER_AGENT = "GitLab/17.1.0-sim"
PIPELINE_HOOK = "Pipeline Hook"


@dataclass
class DeliveryRecord:
    id: str  # X-Gitlab-Event-UUID
    event: str
    project: str
    pipeline_id: int
    pipeline_status: str
    body: bytes
    status: str = "queued"  # queued, delivered, failed, dropped
    status_code: int | None = None
    error: str | None = None
    attempts: int = 0
    queued_at: datetime = field(default_factory=now)
    delivered_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "project": self.project,
            "pipeline_id": self.pipeline_id,
            "pipeline_status": self.pipeline_status,
            "status": self.status,
            "status_code": self.status_code,
            "error": self.error,
            "attempts": self.attempts,
            "queued_at": iso(self.queued_at),
            "delivered_at": iso(self.delivered_at),
        }


@dataclass
class HookConfig:
    url: str | None = None
    token: str = ""
    instance: str = "https://gitlab.example.com"
    loss_rate: float = 0.0
    seed: int = 7
    timeout_seconds: float = 10.0


class Deliverer:
    """The delivery log and the task that drains it."""

    def __init__(self, config: HookConfig) -> None:
        self.config = config
        self.log: list[DeliveryRecord] = []
        self.rng = random.Random(f"gitlab_loss:{config.seed}")
        self._next = 0  # index in `log` of the next record to send
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def reseed(self, seed: int) -> None:
        self.config.seed = seed
        self.rng = random.Random(f"gitlab_loss:{seed}")

    def enqueue(
        self,
        project: str,
        pipeline_id: int,
        pipeline_status: str,
        body: dict[str, Any],
        event: str = PIPELINE_HOOK,
    ) -> None:
        """Queue a hook (a Pipeline Hook unless `event` says otherwise; no-op without a webhook URL);
        callable from any thread."""
        if not self.config.url:
            return
        raw = json.dumps(body, separators=(",", ":")).encode()
        record = DeliveryRecord(str(uuid.uuid4()), event, project, pipeline_id, pipeline_status, raw)
        with self._lock:
            self.log.append(record)
        self._poke()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    async def start(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self._task = self._loop.create_task(self._run())
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = self._loop = self._wake = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while (record := self._take()) is not None:
                if self.rng.random() < self.config.loss_rate:
                    record.status, record.error = "dropped", "dropped by loss_rate"
                    continue
                await self._post(record)

    def _take(self) -> DeliveryRecord | None:
        with self._lock:
            if self._next >= len(self.log):
                return None
            self._next += 1
            return self.log[self._next - 1]

    async def _post(self, record: DeliveryRecord) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": str(uuid.uuid5(uuid.NAMESPACE_URL, record.id)),
            "X-Gitlab-Event": record.event,
            "X-Gitlab-Webhook-UUID": str(uuid.uuid5(uuid.NAMESPACE_URL, self.config.url or "")),
            "X-Gitlab-Instance": self.config.instance,
            "X-Gitlab-Event-UUID": record.id,
            "X-Gitlab-Token": self.config.token,
        }
        record.attempts += 1
        try:
            if self.config.url is None:
                raise RuntimeError("no webhook URL configured")
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=self.config.timeout_seconds)
            response = await self._client.post(self.config.url, content=record.body, headers=headers)
        except Exception as exc:  # logged, never raised into the simulator
            record.status, record.error = "failed", f"{type(exc).__name__}: {exc}"
            log.warning("gitlab hook %s to %s failed: %s", record.id, self.config.url, record.error)
            return
        record.status_code, record.delivered_at = response.status_code, now()
        if response.is_success:
            record.status, record.error = "delivered", None
        else:
            record.status, record.error = "failed", response.text[:200]

    def pending(self) -> int:
        """Records not yet attempted."""
        with self._lock:
            return len(self.log) - self._next

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self._next = 0
        self.reseed(self.config.seed)
