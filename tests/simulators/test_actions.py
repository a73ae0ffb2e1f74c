"""GitHub Actions in the simulator through PyGithub: failing pipeline runs, logs, webhooks, re-runs, fixes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from github import GithubException
from github.Repository import Repository

from simulators.github import SimulatorConfig, Timing, signature_256
from simulators.github.faults import CHECK_LOGS
from tests.simulators.actions_helpers import LOG, finished, hooks, log_of, row, start
from tests.simulators.helpers import AUTH, FAST, Receiver, Served, github, missing_keys, open_pr, wait_for

WEBHOOKS = Path(__file__).parents[1] / "fixtures" / "github" / "webhooks"
SECRET = "actions-secret"


@pytest.fixture
def served(receiver: Receiver, serve: Callable[[SimulatorConfig], Served]) -> Served:
    served = serve(SimulatorConfig(webhook_url=receiver.url, webhook_secret=SECRET))
    served.sim.timing = Timing(**FAST)
    return served


@pytest.fixture
def repo(served: Served) -> Repository:
    start(served, "never")  # creates acme/api; tests start their own pipelines
    return github(served.url).get_repo("acme/api")


def test_pipeline_run_fails_with_its_log(served: Served, repo: Repository) -> None:
    run_id = start(served, "retry", workflow="Deploy", job="integration")
    run = finished(repo, run_id)
    assert (run.name, run.event, run.head_branch, run.conclusion) == ("Deploy", "push", "main", "failure")
    assert run.head_sha == repo.get_branch("main").commit.sha and run.pull_requests == []
    jobs = {job.name: job for job in run.jobs()}
    assert {name: job.conclusion for name, job in jobs.items()} == {
        "build": "success",
        "integration": "failure",
    }
    failed = jobs["integration"]
    assert [(s.name, s.conclusion) for s in failed.steps if s.conclusion != "success"] == [
        ("Run make integration", "failure")
    ]
    workflow = repo.get_contents(".github/workflows/deploy.yml", ref=run.head_sha).decoded_content.decode()
    assert "name: Deploy" in workflow and "  integration:\n    runs-on: ubuntu-latest" in workflow
    assert failed.html_url.endswith(f"/acme/api/actions/runs/{run_id}/job/{failed.id}")
    response = log_of(failed)
    assert response.text == LOG and response.headers["content-type"].startswith("text/plain")
    redirect = httpx.get(f"{served.url}/repos/acme/api/actions/jobs/{failed.id}/logs")
    assert redirect.status_code == 302 and redirect.headers["location"] == failed.logs_url()
    assert "all checks passed" in log_of(jobs["build"]).text
    assert repo.get_workflow_run(run_id).jobs_url.endswith(f"/actions/runs/{run_id}/jobs")
    got = httpx.get(f"{served.url}/repos/acme/api/actions/jobs/{failed.id}").json()
    assert (got["run_id"], got["run_attempt"], got["workflow_name"]) == (run_id, 1, "Deploy")


def test_webhooks_in_order_with_payload_shapes(served: Served, repo: Repository, receiver: Receiver) -> None:
    run_id = start(served, "never")
    finished(repo, run_id)
    wait_for(lambda: len(hooks(receiver, run_id)) == 9, what="9 webhooks")
    received = hooks(receiver, run_id)
    assert [event for event, _ in received] == [
        "workflow_run.requested",
        "workflow_job.queued",
        "workflow_job.queued",
        "workflow_run.in_progress",
        "workflow_job.in_progress",
        "workflow_job.in_progress",
        "workflow_job.completed",
        "workflow_job.completed",
        "workflow_run.completed",
    ]
    assert [
        body["workflow_run"]["status"] for event, body in received if event.startswith("workflow_run")
    ] == [
        "queued",
        "in_progress",
        "completed",
    ]
    _, completed = received[-1]
    run = completed["workflow_run"]
    assert (run["id"], run["run_attempt"], run["conclusion"], run["event"]) == (run_id, 1, "failure", "push")
    assert (run["pull_requests"], run["actor"]["login"], completed["workflow"]["name"]) == (
        [],
        "octocat",
        "CI",
    )
    assert run["logs_url"].endswith(f"/actions/runs/{run_id}/logs") and run["rerun_url"].endswith("/rerun")
    fixture = json.loads((WEBHOOKS / "workflow_run" / "completed.payload.json").read_text())
    assert missing_keys(fixture["workflow_run"], run) == []
    assert missing_keys(fixture["workflow"], completed["workflow"]) == []
    assert {"repository", "sender", "workflow"} <= set(completed)
    jobs = {body["workflow_job"]["name"]: body["workflow_job"] for event, body in received[6:8]}
    assert (jobs["test"]["conclusion"], jobs["build"]["conclusion"]) == ("failure", "success")
    job_fixture = json.loads(
        (WEBHOOKS / "workflow_job" / "completed.failure.with-organization.payload.json").read_text()
    )
    assert missing_keys(job_fixture["workflow_job"], jobs["test"]) == []
    request = next(r for r in receiver.requests if r.event == "workflow_run.completed")
    assert request.headers["x-hub-signature-256"] == signature_256(SECRET, request.body)


def test_list_runs_filters(served: Served, repo: Repository) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    first, second = start(served, "never"), start(served, "retry")
    finished(repo, second)
    finished(repo, first)
    number = open_pr(served, "acme/api", "genuine_failure")
    wait_for(
        lambda: repo.get_workflow_runs(event="pull_request", status="failure").totalCount == 1, what="PR CI"
    )
    failed = repo.get_workflow_runs(status="failure", branch="main", created=f">={before:%Y-%m-%dT%H:%M:%SZ}")
    ids = [run.id for run in failed]
    assert second in ids and first in ids and ids == sorted(ids, reverse=True)
    assert all(run.event == "push" and run.head_branch == "main" for run in failed)
    assert repo.get_workflow_runs(created="<2000-01-01").totalCount == 0
    assert repo.get_workflow_runs(created=f"{before:%Y-%m-%d}..*", status="completed").totalCount >= 3
    assert repo.get_workflow_runs(status="queued").totalCount == 0
    [pr_run] = repo.get_workflow_runs(event="pull_request")
    assert pr_run.pull_requests[0].number == number and pr_run.conclusion == "failure"
    [pr_job] = [job for job in pr_run.jobs() if job.conclusion == "failure"]
    assert log_of(pr_job).text == CHECK_LOGS["assertion"][2]  # PR check suites are workflow runs too
    page = httpx.get(f"{served.url}/repos/acme/api/actions/runs", params={"per_page": 1, "status": "failure"})
    assert (
        page.json()["total_count"] >= 3
        and len(page.json()["workflow_runs"]) == 1
        and "next" in page.headers["link"]
    )
    bad = httpx.get(f"{served.url}/repos/acme/api/actions/runs", params={"created": ">=yesterday"})
    assert bad.status_code == 422


def test_rerun_heals_on_retry(served: Served, repo: Repository, receiver: Receiver) -> None:
    run_id = start(served, "retry")
    run = finished(repo, run_id)
    served.sim.timing = Timing(**{**FAST, "ci_seconds": 0.5})  # long enough to ask again while it runs
    assert run.rerun_failed_jobs() is True
    assert repo.get_workflow_run(run_id).rerun() is False  # PyGithub answers False for the 403
    refused = httpx.post(f"{served.url}/repos/acme/api/actions/runs/{run_id}/rerun-failed-jobs", headers=AUTH)
    assert refused.status_code == 403 and refused.json()["message"] == "This workflow is already running"
    healed = finished(repo, run_id, attempt=2)
    assert healed.conclusion == "success" and healed.previous_attempt_url.endswith("/attempts/1")
    assert {job.name: (job.conclusion, job.run_attempt) for job in healed.jobs()} == {
        "build": ("success", 1),
        "test": ("success", 2),
    }
    assert len(list(healed.jobs("all"))) == 3
    first = httpx.get(f"{served.url}/repos/acme/api/actions/runs/{run_id}/attempts/1/jobs").json()
    assert {job["name"]: job["conclusion"] for job in first["jobs"]} == {
        "build": "success",
        "test": "failure",
    }
    wait_for(lambda: len(hooks(receiver, run_id)) == 15, what="the re-run's webhooks")
    again = hooks(receiver, run_id)[9:]  # only the failed job runs again: queued, in_progress, completed
    assert [e for e, _ in again if e.startswith("workflow_job")] == [
        "workflow_job.queued",
        "workflow_job.in_progress",
        "workflow_job.completed",
    ]
    rerun_hooks = [(e, b["workflow_run"]) for e, b in again if e.startswith("workflow_run")]
    assert [(e, r["id"], r["run_attempt"]) for e, r in rerun_hooks] == [
        ("workflow_run.requested", run_id, 2),
        ("workflow_run.in_progress", run_id, 2),
        ("workflow_run.completed", run_id, 2),
    ]
    assert rerun_hooks[-1][1]["conclusion"] == "success"
    assert rerun_hooks[-1][1]["triggering_actor"]["login"] == "mender-app[bot]"
    report = row(served, run_id)
    assert (report["healed"], report["healed_by"], report["attempts"], report["reruns_requested"]) == (
        True,
        "retry",
        2,
        1,
    )
    assert report["failed_at"] is not None and report["healed_at"] is not None


def test_rerun_fails_again_unless_heals_on_retry(served: Served, repo: Repository) -> None:
    for heals_on in ("never", "fix"):
        run_id = start(served, heals_on)
        assert finished(repo, run_id).rerun() is True
        again = finished(repo, run_id, attempt=2)
        assert again.conclusion == "failure"
        [failed] = [job for job in again.jobs() if job.conclusion == "failure"]
        assert (failed.name, failed.run_attempt, log_of(failed).text) == ("test", 2, LOG)
        assert row(served, run_id)["healed"] is False
    with pytest.raises(GithubException) as missing:
        repo.get_workflow_run(999)
    assert missing.value.status == 404
