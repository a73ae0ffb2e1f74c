"""Helpers for the GitHub simulator tests: a recording webhook receiver, fast timings, polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from simulators.github import Simulator

FAST = {"ci_start_seconds": 0.05, "ci_seconds": 0.1, "bot_delay_seconds": 0.05, "open_interval_seconds": 0.02}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook endpoint that records every request; the first `fail_first` get `fail_status`."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    fail_first: int = 0
    fail_status: int = 503

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhooks/github")
        async def hook(request: Request) -> Response:
            self.requests.append(Received(dict(request.headers), await request.body()))
            if len(self.requests) <= self.fail_first:
                return Response(status_code=self.fail_status)
            return Response(status_code=200)

        return app


@dataclass
class Served:
    sim: Simulator
    url: str


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll `predicate` until truthy (returns its value) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def async_wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
