"""The GitLab simulator over real HTTP, driven by python-gitlab (and httpx for the control endpoints)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gitlab
import httpx
import pytest
from fastapi import FastAPI, Request, Response
from gitlab.v4.objects import Project as GlProject

from runtime.serving import ServerThread, free_port
from runtime.settings import DEV_GITLAB_WEBHOOK_TOKEN
from simulators.gitlab import GitLabSimConfig, GitLabSimulator, create_app
from simulators.gitlab.config import DEV_WEBHOOK_TOKEN
from tests.simulators.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
HOOKS = ROOT / "tests" / "fixtures" / "gitlab" / "webhooks"
LOG = "$ pytest\nE   AssertionError: expected 200, got 500\nERROR: Job failed: exit code 1\n"
HOOK_TS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")


@dataclass
class Receiver:
    """A webhook endpoint that records every request."""

    url: str = ""
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhooks/gitlab")
        async def hook(request: Request) -> Response:
            self.requests.append((dict(request.headers), json.loads(await request.body())))
            return Response(status_code=200)

        return app

    def statuses(self) -> list[str]:
        return [body["object_attributes"]["status"] for _, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    with ServerThread(rec.app()) as server:
        rec.url = f"{server.url}/webhooks/gitlab"
        yield rec


@pytest.fixture
def served(receiver: Receiver) -> Iterator[tuple[GitLabSimulator, str]]:
    sim = GitLabSimulator(GitLabSimConfig(webhook_url=receiver.url, ci_seconds=0.2))
    with ServerThread(create_app(sim)) as server:
        sim.set_base_url(server.url)
        yield sim, server.url


@pytest.fixture
def sim(served: tuple[GitLabSimulator, str]) -> GitLabSimulator:
    return served[0]


@pytest.fixture
def url(served: tuple[GitLabSimulator, str]) -> str:
    return served[1]


@pytest.fixture
def gl(url: str) -> gitlab.Gitlab:
    return gitlab.Gitlab(url, private_token="simulator-token")


def report_row(sim: GitLabSimulator, pipeline_id: int) -> dict[str, Any]:
    return next(row for row in sim.report()["pipelines"] if row["pipeline_id"] == pipeline_id)


def failed_job(project: GlProject, pipeline_id: int) -> Any:
    jobs = project.pipelines.get(pipeline_id).jobs.list(scope=["failed"], get_all=True)
    assert len(jobs) == 1
    return project.jobs.get(jobs[0].id)


def test_project_by_path_and_by_id(sim: GitLabSimulator, gl: gitlab.Gitlab) -> None:
    sim.add_pipeline("acme/api", LOG)
    project = gl.projects.get("acme/api")
    assert project.path_with_namespace == "acme/api"
    assert project.default_branch == "main"
    assert gl.projects.get(project.id).path_with_namespace == "acme/api"
    with pytest.raises(gitlab.GitlabGetError) as exc:
        gl.projects.get("acme/missing")
    assert exc.value.response_code == 404
    assert exc.value.error_message == "404 Project Not Found"


def test_failed_pipeline_jobs_and_trace(sim: GitLabSimulator, gl: gitlab.Gitlab) -> None:
    pipeline = sim.add_pipeline("acme/api", LOG, heals_on="never", job="unit", stage="verify")
    project = gl.projects.get("acme/api")

    failed = project.pipelines.list(status="failed", get_all=True)
    assert [p.id for p in failed] == [pipeline.id]
    assert failed[0].ref == "main" and failed[0].web_url.endswith(f"/acme/api/-/pipelines/{pipeline.id}")
    assert project.pipelines.list(status="success", get_all=True) == []
    assert [j.name for j in project.pipelines.get(pipeline.id).jobs.list(get_all=True)] == ["unit", "build"]

    job = failed_job(project, pipeline.id)
    assert (job.name, job.stage, job.status, job.failure_reason) == (
        "unit",
        "verify",
        "failed",
        "script_failure",
    )
    assert job.pipeline["id"] == pipeline.id
    assert job.trace().decode() == LOG
    detail = project.pipelines.get(pipeline.id)
    assert detail.status == "failed" and detail.detailed_status["group"] == "failed"


def test_pipeline_filters_and_pagination(sim: GitLabSimulator, gl: gitlab.Gitlab) -> None:
    ids = [sim.add_pipeline("acme/api", LOG, ref="main" if i % 2 else "dev").id for i in range(5)]
    project = gl.projects.get("acme/api")

    page = project.pipelines.list(per_page=2, iterator=True)
    assert (page.total, page.total_pages, page.per_page, page.next_page) == (5, 3, 2, 2)
    assert [p.id for p in project.pipelines.list(per_page=2, page=3, get_all=False)] == ids[:1]
    assert [p.id for p in project.pipelines.list(per_page=2, get_all=True)] == ids[::-1]
    assert [p.id for p in project.pipelines.list(order_by="id", sort="asc", get_all=True)] == ids
    assert {p.id for p in project.pipelines.list(ref="dev", get_all=True)} == set(ids[::2])
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert project.pipelines.list(updated_after=later, get_all=True) == []
    assert len(project.pipelines.list(updated_after="2020-01-01T00:00:00Z", get_all=True)) == 5


def test_retry_heals_when_heals_on_retry(sim: GitLabSimulator, gl: gitlab.Gitlab) -> None:
    pipeline = sim.add_pipeline("acme/api", LOG, heals_on="retry")
    project = gl.projects.get("acme/api")
    new = failed_job(project, pipeline.id).retry()

    assert new["status"] == "pending" and new["name"] == "test" and new["pipeline"]["id"] == pipeline.id
    wait_for(lambda: project.pipelines.get(pipeline.id).status == "success", what="pipeline success")
    assert project.jobs.get(new["id"]).status == "success"
    assert b"Job succeeded" in project.jobs.get(new["id"]).trace()
    assert project.pipelines.get(pipeline.id).jobs.list(scope=["failed"], get_all=True) == []
    row = report_row(sim, pipeline.id)
    assert (row["healed"], row["healed_by"], row["retries_requested"]) == (True, "retry", 1)
    assert row["healed_at"] >= row["failed_at"]


@pytest.mark.parametrize("heals_on", ["never", "fix"])
def test_retry_fails_again_otherwise(sim: GitLabSimulator, gl: gitlab.Gitlab, heals_on: str) -> None:
    pipeline = sim.add_pipeline("acme/api", LOG, heals_on=heals_on)
    project = gl.projects.get("acme/api")
    project.pipelines.get(pipeline.id).retry()
    wait_for(lambda: sim.report()["pipelines"][0]["status"] == "failed", what="failed again")

    job = failed_job(project, pipeline.id)
    assert job.id != pipeline.jobs[1].id
    assert job.trace().decode() == LOG
    row = report_row(sim, pipeline.id)
    assert (row["healed"], row["healed_by"], row["healed_at"], row["retries_requested"]) == (
        False,
        None,
        None,
        1,
    )


def test_retrying_a_passed_job_does_not_heal(sim: GitLabSimulator, gl: gitlab.Gitlab) -> None:
    pipeline = sim.add_pipeline("acme/api", LOG, heals_on="never")
    project = gl.projects.get("acme/api")
    build = project.jobs.get(pipeline.jobs[0].id)
    rerun = build.retry()
    wait_for(lambda: project.jobs.get(rerun["id"]).status == "success", what="build passes again")
    assert project.pipelines.get(pipeline.id).status == "failed"
    assert report_row(sim, pipeline.id)["healed"] is False


def test_running_job_is_not_retryable(sim: GitLabSimulator, gl: gitlab.Gitlab) -> None:
    sim.configure(ci_seconds=30)
    pipeline = sim.add_pipeline("acme/api", LOG)
    project = gl.projects.get("acme/api")
    job = failed_job(project, pipeline.id)
    job.retry()
    with pytest.raises(gitlab.GitlabJobRetryError) as exc:
        job.retry()
    assert exc.value.response_code == 403
    assert report_row(sim, pipeline.id)["retries_requested"] == 1


def test_incident_issue(sim: GitLabSimulator, gl: gitlab.Gitlab, url: str) -> None:
    pipeline = sim.add_pipeline("acme/api", LOG, heals_on="never")
    project = gl.projects.get("acme/api")
    issue = project.issues.create(
        {
            "title": "CI keeps failing on main",
            "description": f"Pipeline {url}/acme/api/-/pipelines/{pipeline.id} failed after a retry.",
            "labels": ["incident", "mender"],
            "issue_type": "incident",
        }
    )
    assert issue.iid == 1 and issue.state == "opened"
    fetched = project.issues.get(issue.iid)
    assert (fetched.title, fetched.issue_type, fetched.labels) == (
        issue.title,
        "incident",
        ["incident", "mender"],
    )
    assert fetched.web_url == f"{url}/acme/api/-/issues/1"
    assert report_row(sim, pipeline.id)["incidents"] == [1]
    with pytest.raises(gitlab.GitlabCreateError) as exc:
        project.issues.create({"title": " "})
    assert exc.value.response_code == 400


def test_auth_required(sim: GitLabSimulator, url: str) -> None:
    sim.add_pipeline("acme/api", LOG)
    with pytest.raises(gitlab.GitlabAuthenticationError) as exc:
        gitlab.Gitlab(url).projects.get("acme/api")
    assert exc.value.response_code == 401
    response = httpx.get(f"{url}/api/v4/projects/acme%2Fapi")
    assert (response.status_code, response.json()) == (401, {"message": "401 Unauthorized"})

    bearer = gitlab.Gitlab(url, oauth_token="oauth-token")
    bearer.auth()
    assert bearer.user is not None and bearer.user.username == "mender-bot"
    assert bearer.version()[0] == "17.1.0"


def test_webhooks_for_each_status_change(sim: GitLabSimulator, receiver: Receiver, url: str) -> None:
    fixture = json.loads((HOOKS / "pipeline.json").read_text())
    documented_headers = json.loads((HOOKS / "_example_delivery.headers.json").read_text())
    event = json.loads((HOOKS / "pipeline.headers.json").read_text())["X-Gitlab-Event"]
    pipeline = sim.add_pipeline("acme/api", LOG, heals_on="retry")
    wait_for(lambda: len(receiver.requests) == 3, what="three hooks")
    assert receiver.statuses() == ["pending", "running", "failed"]

    for headers, body in receiver.requests:
        assert {h.lower() for h in documented_headers} <= set(headers)
        assert headers["x-gitlab-event"] == event
        assert headers["x-gitlab-token"] == DEV_GITLAB_WEBHOOK_TOKEN
        assert headers["x-gitlab-instance"] == url
        uuid.UUID(headers["x-gitlab-event-uuid"])
        assert set(fixture) - {"source_pipeline"} <= set(body)
        assert set(fixture["object_attributes"]) | {"detailed_status"} <= set(body["object_attributes"])
        assert set(fixture["project"]) <= set(body["project"])
        assert all(set(fixture["builds"][0]) <= set(build) for build in body["builds"])
        assert body["object_attributes"]["id"] == pipeline.id
        assert body["project"]["path_with_namespace"] == "acme/api"
        assert HOOK_TS.match(body["object_attributes"]["created_at"])
    assert len({h["x-gitlab-event-uuid"] for h, _ in receiver.requests}) == 3

    final = receiver.requests[-1][1]
    assert final["object_attributes"]["detailed_status"] == "failed"
    assert HOOK_TS.match(final["object_attributes"]["finished_at"])
    builds = {b["name"]: b for b in final["builds"]}
    assert builds["build"]["status"] == "success"
    assert (builds["test"]["status"], builds["test"]["failure_reason"]) == ("failed", "script_failure")

    sim.retry_job("acme/api", pipeline.jobs[1].id)
    wait_for(lambda: len(receiver.requests) == 6, what="three more hooks")
    assert receiver.statuses()[3:] == ["pending", "running", "success"]
    assert receiver.requests[-1][1]["object_attributes"]["detailed_status"] == "passed"
    # The receiver has the request a moment before the simulator records the answer.
    wait_for(
        lambda: all(d["status"] == "delivered" and d["status_code"] == 200 for d in sim.deliveries()),
        what="every delivery recorded as delivered",
    )


def test_loss_rate_one_drops_everything(sim: GitLabSimulator, receiver: Receiver, url: str) -> None:
    assert httpx.post(f"{url}/_sim/config", json={"loss_rate": 1.0}).json()["loss_rate"] == 1.0
    sim.add_pipeline("acme/api", LOG)
    wait_for(lambda: [d["status"] for d in sim.deliveries()] == ["dropped"] * 3, what="three drops")
    deliveries = httpx.get(f"{url}/_sim/deliveries").json()
    assert [d["pipeline_status"] for d in deliveries] == ["pending", "running", "failed"]
    assert all(d["attempts"] == 0 and d["error"] for d in deliveries)  # dropped: never sent
    assert receiver.requests == []


def test_loss_is_seeded(receiver: Receiver) -> None:
    def outcomes() -> list[str]:
        sim = GitLabSimulator(GitLabSimConfig(webhook_url=receiver.url, loss_rate=0.5, seed=3))
        with ServerThread(create_app(sim)):
            for _ in range(4):
                sim.add_pipeline("acme/api", LOG)
            wait_for(lambda: all(d["status"] != "queued" for d in sim.deliveries()), what="all attempted")
            return [d["status"] for d in sim.deliveries()]

    first, second = outcomes(), outcomes()
    assert first == second and len(first) == 12
    assert {"dropped", "delivered"} == set(first)


def test_control_endpoints(url: str, receiver: Receiver) -> None:
    created = httpx.post(
        f"{url}/_sim/pipelines",
        json={"project": "acme/web", "log_text": LOG, "heals_on": "never", "job": "lint", "approve": True},
    )
    assert created.status_code == 201
    ids = created.json()
    assert set(ids) == {"pipeline_id", "job_id", "project_id"}
    headers = {"PRIVATE-TOKEN": "t"}
    trace = httpx.get(
        f"{url}/api/v4/projects/{ids['project_id']}/jobs/{ids['job_id']}/trace", headers=headers
    )
    assert (trace.text, trace.headers["content-type"].split(";")[0]) == (LOG, "text/plain")

    rows = httpx.get(f"{url}/_sim/report").json()["pipelines"]
    assert rows == [
        {
            "pipeline": 0,
            "project": "acme/web",
            "pipeline_id": ids["pipeline_id"],
            "heals_on": "never",
            "approve": True,
            "status": "failed",
            "failed_at": rows[0]["failed_at"],
            "retries_requested": 0,
            "incidents": [],
            "healed": False,
            "healed_by": None,
            "healed_at": None,
        }
    ]
    assert rows[0]["failed_at"].endswith("Z")
    bad = httpx.post(
        f"{url}/_sim/pipelines", json={"project": "acme/web", "log_text": "x", "heals_on": "maybe"}
    )
    assert bad.status_code == 422
    assert httpx.post(f"{url}/_sim/config", json={"nope": 1}).status_code == 422
    assert httpx.get(f"{url}/_sim/health").json()["pipelines"] == 1
    assert httpx.post(f"{url}/_sim/reset").json() == {"reset": True}
    assert httpx.get(f"{url}/_sim/report").json() == {"pipelines": []}
    assert httpx.get(f"{url}/_sim/deliveries").json() == []


def test_cli_serves_the_simulator() -> None:
    port = free_port()
    command = [sys.executable, "-m", "simulators.gitlab", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _health(base), timeout=10, what="CLI simulator")
        httpx.post(f"{base}/_sim/pipelines", json={"project": "acme/cli", "log_text": LOG}).raise_for_status()
        project = gitlab.Gitlab(base, private_token="t").projects.get("acme/cli")
        assert len(project.pipelines.list(status="failed", get_all=True)) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _health(base: str) -> bool:
    try:
        return httpx.get(f"{base}/_sim/health").status_code == 200
    except httpx.TransportError:
        return False


def test_the_simulator_default_hook_token_is_the_products_dev_token() -> None:
    assert DEV_WEBHOOK_TOKEN == DEV_GITLAB_WEBHOOK_TOKEN
