"""Helpers for the GitHub simulator tests: a recording webhook receiver, fast timings, polling."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from github import Auth, Github

from simulators.github import Simulator
from tests.support.patience import patient

TOKEN = "simulator-token"  # the simulator's default token (Mender's dev token)
AUTH = {"Authorization": f"token {TOKEN}"}
FAST = {"ci_start_seconds": 0.05, "ci_seconds": 0.1, "bot_delay_seconds": 0.05, "open_interval_seconds": 0.02}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def event(self) -> str:
        """`event.action` (or just `event` for statuses)."""
        action = json.loads(self.body).get("action")
        return f"{self.headers['x-github-event']}.{action}" if action else self.headers["x-github-event"]

    @property
    def repo(self) -> str:
        return json.loads(self.body)["repository"]["full_name"]


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
    """Poll `predicate` until truthy (returns its value) or fail after `timeout` seconds (stretched by PATIENCE)."""
    deadline = time.monotonic() + patient(timeout)
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def async_wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + patient(timeout)
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def github(url: str, per_page: int = 30) -> Github:
    """PyGithub against the simulator, without retries (a 502 raises at once)."""
    return Github(
        base_url=url,
        auth=Auth.Token(TOKEN),
        per_page=per_page,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def open_pr(served: Served, repo: str, *faults: str, author: str = "dependabot[bot]") -> int:
    """Open one bot PR carrying `faults` through the control API; returns its number."""
    response = httpx.post(
        f"{served.url}/_sim/prs", json={"repo": repo, "author": author, "faults": list(faults)}
    )
    assert response.status_code == 201, response.text
    return response.json()["number"]


def report_row(served: Served, repo: str, number: int) -> dict[str, Any]:
    return next(r for r in served.sim.report()["prs"] if (r["repo"], r["number"]) == (repo, number))


def missing_keys(fixture: Any, body: Any, path: str = "") -> list[str]:
    """Keys of the real payload `fixture` absent from `body`, recursively (app permissions vary)."""
    if isinstance(fixture, list) and isinstance(body, list) and fixture and body:
        return missing_keys(fixture[0], body[0], f"{path}[]")
    if not isinstance(fixture, dict) or not isinstance(body, dict) or path.endswith("permissions"):
        return []
    found = [f"{path}.{key}" for key in fixture if key not in body]
    return found + [
        m for key in fixture if key in body for m in missing_keys(fixture[key], body[key], f"{path}.{key}")
    ]


def run_of_suite(repo: Any, suite_id: int) -> Any:
    """The workflow run of a check suite, found as on GitHub (`GET .../actions/runs?check_suite_id=`)."""
    [run] = list(repo.get_workflow_runs(check_suite_id=suite_id))
    return run
