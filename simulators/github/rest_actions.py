"""REST routes for GitHub Actions: workflow runs, their jobs and job logs, re-runs.

Every check suite is a workflow run (same id): the PR check suites of the CI actor (event
pull_request) and the runs of `pipelines.py` (failing pipelines and fix-branch runs). A job's logs
answer 302 to a plain-text URL on the simulator, like GitHub's redirect to its log storage.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from simulators.github.actions_query import run_filter
from simulators.github.model import CheckRun, CheckSuite, Repo
from simulators.github.rest_common import GitHubError, get_repo, invalid, not_found, paginate
from simulators.github.simulator import Simulator

REPO = "/repos/{owner}/{repo}"
RUNS = REPO + "/actions/runs"
MAX_ATTEMPTS = 50


def actions_router(sim: Simulator) -> APIRouter:
    router = APIRouter()

    def run_or_404(owner: str, repo: str, run_id: int) -> tuple[Repo, CheckSuite]:
        found = get_repo(sim, owner, repo)
        suite = found.workflow_runs.get(run_id)  # a check suite id is not a run id: 404, as on GitHub
        if suite is None:
            raise not_found()
        return found, suite

    def job_or_404(owner: str, repo: str, job_id: int) -> tuple[Repo, CheckRun]:
        found = get_repo(sim, owner, repo)
        job = sim.world.find_job(found, job_id)
        if job is None:
            raise not_found()
        return found, job

    def actor_of(found: Repo) -> Any:
        render = sim.render
        return lambda suite: render.workflow_run(found, suite)["actor"]["login"]

    def jobs_page(request: Request, found: Repo, jobs: list[CheckRun]) -> Response:
        render = sim.render
        return paginate(request, jobs, "jobs", render=lambda job: render.job(found, job))

    @router.get(RUNS)
    async def list_runs(owner: str, repo: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        try:
            keep = run_filter(request.query_params, actor_of(found))
        except ValueError as exc:
            raise invalid(str(exc)) from None
        runs = sorted(found.workflow_runs.values(), key=lambda s: s.id, reverse=True)
        suites = [s for s in runs if keep(s)]
        render = sim.render
        bare = request.query_params.get("exclude_pull_requests") == "true"

        def one(suite: CheckSuite) -> dict[str, Any]:
            data = render.workflow_run(found, suite)
            return {**data, "pull_requests": []} if bare else data

        return paginate(request, suites, "workflow_runs", render=one)

    @router.get(RUNS + "/{run_id:int}")
    async def get_run(owner: str, repo: str, run_id: int, request: Request) -> dict[str, Any]:
        found, suite = run_or_404(owner, repo, run_id)
        data = sim.render.workflow_run(found, suite)
        if request.query_params.get("exclude_pull_requests") == "true":
            data["pull_requests"] = []
        return data

    @router.get(RUNS + "/{run_id:int}/jobs")
    async def list_jobs(owner: str, repo: str, run_id: int, request: Request) -> Response:
        found, suite = run_or_404(owner, repo, run_id)
        which = request.query_params.get("filter", "latest")
        if which not in ("latest", "all"):
            raise invalid(resource="WorkflowJob", field="filter", code="invalid")
        if which == "latest":
            return jobs_page(request, found, suite.jobs())
        every = {job.id: job for attempt in [*suite.history, suite.runs] for job in attempt}
        return jobs_page(request, found, sorted(every.values(), key=lambda job: job.id))

    @router.get(RUNS + "/{run_id:int}/attempts/{attempt:int}/jobs")
    async def list_attempt_jobs(
        owner: str, repo: str, run_id: int, attempt: int, request: Request
    ) -> Response:
        found, suite = run_or_404(owner, repo, run_id)
        if not 1 <= attempt <= suite.run_attempt:
            raise not_found()
        return jobs_page(request, found, suite.jobs(attempt))

    @router.get(REPO + "/actions/jobs/{job_id:int}")
    async def get_job(owner: str, repo: str, job_id: int) -> dict[str, Any]:
        found, job = job_or_404(owner, repo, job_id)
        return sim.render.job(found, job)

    @router.get(REPO + "/actions/jobs/{job_id:int}/logs")
    async def job_logs(owner: str, repo: str, job_id: int) -> Response:
        found, job = job_or_404(owner, repo, job_id)
        if job.status != "completed":
            raise not_found()
        location = sim.render.html(f"/{found.full_name}/commit/{job.head_sha}/checks/{job.id}/logs")
        return Response(status_code=302, headers={"Location": location})

    @router.get("/{owner}/{repo}/commit/{sha}/checks/{job_id:int}/logs")
    async def job_log_text(owner: str, repo: str, sha: str, job_id: int) -> Response:
        found, job = job_or_404(owner, repo, job_id)
        if job.head_sha != sha or job.status != "completed":
            raise not_found()
        return PlainTextResponse(sim.render.job_log(found, job))

    def rerun(owner: str, repo: str, run_id: int, failed_only: bool) -> Response:
        found, suite = run_or_404(owner, repo, run_id)
        if suite.status != "completed":
            raise GitHubError(403, "This workflow is already running")
        if suite.run_attempt >= MAX_ATTEMPTS:
            raise GitHubError(403, f"This workflow run cannot be retried more than {MAX_ATTEMPTS} times")
        if suite.driver == "pipelines":
            sim.pipelines.rerun(found, suite, sim.api_user, failed_only)
        else:  # nothing failed: nothing re-runs, still 201
            sim.ops.rerun_suite(found, suite, sim.api_user, failed_only)
        return JSONResponse({}, status_code=201)

    @router.post(RUNS + "/{run_id:int}/rerun-failed-jobs")
    async def rerun_failed_jobs(owner: str, repo: str, run_id: int) -> Response:
        return rerun(owner, repo, run_id, failed_only=True)

    @router.post(RUNS + "/{run_id:int}/rerun")
    async def rerun_all(owner: str, repo: str, run_id: int) -> Response:
        return rerun(owner, repo, run_id, failed_only=False)

    return router
