"""Helpers for the GitHub Actions tests: a realistic failing log, starting pipelines, waiting for runs."""

from __future__ import annotations

import json
from typing import Any

import httpx
from github.Repository import Repository
from github.WorkflowRun import WorkflowRun

from tests.simulators.helpers import Receiver, Served, wait_for

LOG = (
    "2024-05-02T10:14:03.1234567Z ##[group]Run pip install -r requirements.txt\n"
    "2024-05-02T10:14:03.2234567Z Collecting requests==2.32.3\n"
    "2024-05-02T10:16:03.9234567Z WARNING: Retrying (Retry(total=0, connect=None, read=None)) after connection"
    " broken by 'ConnectTimeoutError(\"Connection to pypi.org timed out. (connect timeout=15)\")': /simple/requests/\n"
    "2024-05-02T10:17:05.0000000Z ERROR: Could not find a version that satisfies the requirement requests==2.32.3"
    " (from versions: none)\n"
    "2024-05-02T10:17:05.1000000Z ##[error]Process completed with exit code 1.\n"
)


def start(served: Served, heals_on: str, **extra: Any) -> int:
    body = {"repo": "acme/api", "log_text": LOG, "heals_on": heals_on, **extra}
    response = httpx.post(f"{served.url}/_sim/pipelines", json=body)
    assert response.status_code == 201, response.text
    return response.json()["run_id"]


def finished(repo: Repository, run_id: int, attempt: int = 1) -> WorkflowRun:
    def done() -> WorkflowRun | None:
        run = repo.get_workflow_run(run_id)
        return run if run.run_attempt == attempt and run.status == "completed" else None

    return wait_for(done, what=f"run {run_id} attempt {attempt} to complete")


def row(served: Served, run_id: int) -> dict[str, Any]:
    return next(r for r in served.sim.report()["pipelines"] if r["run_id"] == run_id)


def hooks(receiver: Receiver, run_id: int) -> list[tuple[str, dict[str, Any]]]:
    """(event.action, body) of the Actions webhooks received for `run_id`, in order."""
    found = []
    for request in list(receiver.requests):
        body = json.loads(request.body)
        run = body.get("workflow_run") or body.get("workflow_job") or {}
        if run.get("run_id", run.get("id")) == run_id and request.event.startswith("workflow_"):
            found.append((request.event, body))
    return found


def log_of(job: Any) -> httpx.Response:
    location = job.logs_url()
    response = httpx.get(location)
    assert response.status_code == 200
    return response
