"""REST routes for repos, users, rate limits, commits, checks, statuses, branches and refs."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from simulators.github.access import ANONYMOUS, Quota, token_of
from simulators.github.model import CheckSuite, Repo
from simulators.github.rest_common import (
    GitHubError,
    created,
    get_repo,
    invalid,
    not_found,
    paginate,
    read_object,
    resolve_sha,
)
from simulators.github.simulator import Simulator

REPO = "/repos/{owner}/{repo}"
STATUS_STATES = ("error", "failure", "pending", "success")


def rate(quota: Quota, resource: str = "core") -> dict[str, Any]:
    """One resource of `GET /rate_limit`; only `core` is limited by the simulator, the rest look fresh."""
    if resource != "core":
        return {
            "limit": quota.limit,
            "used": 0,
            "remaining": quota.limit,
            "reset": quota.reset,
            "resource": resource,
        }
    remaining = max(0, quota.limit - quota.used)
    return {
        "limit": quota.limit,
        "used": quota.used,
        "remaining": remaining,
        "reset": quota.reset,
        "resource": resource,
    }


def repos_router(sim: Simulator) -> APIRouter:
    router = APIRouter()

    @router.get("/user")
    async def get_user() -> dict[str, Any]:
        data = sim.render.user(sim.api_user)
        data.update(
            {"name": sim.api_user.login, "company": None, "blog": "", "location": None, "email": None}
        )
        data.update({"hireable": None, "bio": None, "public_repos": len(sim.world.repos), "public_gists": 0})
        data.update({"followers": 0, "following": 0, "created_at": "2024-01-01T00:00:00Z"})
        return {**data, "updated_at": "2024-01-01T00:00:00Z"}

    @router.get("/rate_limit")
    async def rate_limit(request: Request) -> dict[str, Any]:
        token = token_of(request.headers.get("authorization")) or ANONYMOUS
        quota = sim.state.access.quota(token, time.time())
        names = ("core", "search", "graphql", "integration_manifest")
        return {"resources": {name: rate(quota, name) for name in names}, "rate": rate(quota)}

    @router.get(REPO)
    async def get_repository(owner: str, repo: str, request: Request) -> dict[str, Any]:
        full = sim.render.repo(get_repo(sim, owner, repo))  # the full repository adds these counts
        token = token_of(request.headers.get("authorization")) or ANONYMOUS
        permissions = sim.state.access.role(token)  # what this token may do here
        return {**full, "network_count": 0, "subscribers_count": 0, "permissions": permissions}

    # --- commits: specific suffixes first, since {ref:path} may contain slashes ---

    @router.get(REPO + "/commits/{ref:path}/check-suites")
    async def list_suites(owner: str, repo: str, ref: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        suites = sim.world.suites_for(found, resolve_sha(sim, found, ref))
        render = sim.render
        return paginate(request, [render.check_suite(found, s) for s in suites], "check_suites")

    @router.get(REPO + "/commits/{ref:path}/check-runs")
    async def list_runs(owner: str, repo: str, ref: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        runs = sim.world.runs_for(found, resolve_sha(sim, found, ref))
        if "check_name" in request.query_params:
            runs = [run for run in runs if run.name == request.query_params["check_name"]]
        render = sim.render
        return paginate(request, [render.check_run(found, run) for run in runs], "check_runs")

    @router.get(REPO + "/commits/{ref:path}/status")
    async def combined_status(owner: str, repo: str, ref: str) -> dict[str, Any]:
        found = get_repo(sim, owner, repo)
        return sim.render.combined_status(found, resolve_sha(sim, found, ref))

    @router.get(REPO + "/statuses/{ref:path}")  # the older alias PyGithub's Commit.get_statuses uses
    @router.get(REPO + "/commits/{ref:path}/statuses")
    async def list_statuses(owner: str, repo: str, ref: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        statuses = list(reversed(found.statuses.get(resolve_sha(sim, found, ref), [])))
        render = sim.render
        return paginate(request, [render.status(found, s) for s in statuses])

    @router.get(REPO + "/commits/{ref:path}/pulls")
    async def pulls_for_commit(owner: str, repo: str, ref: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        prs = sim.world.prs_for_sha(found, resolve_sha(sim, found, ref))
        render = sim.render
        return paginate(request, [render.pull_simple(pr) for pr in prs])

    @router.get(REPO + "/commits/{ref:path}")
    async def get_commit(owner: str, repo: str, ref: str) -> dict[str, Any]:
        found = get_repo(sim, owner, repo)
        return sim.render.commit(found, found.commits[resolve_sha(sim, found, ref)], with_files=True)

    @router.post(REPO + "/statuses/{sha}")
    async def create_status(owner: str, repo: str, sha: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        body = await read_object(request)
        if sha not in found.commits:
            raise invalid(f"No commit found for SHA: {sha}")
        if body.get("state") not in STATUS_STATES:
            raise invalid(
                resource="Status", field="state", code="custom", message="State is not included in the list"
            )
        context = body.get("context") or "default"
        status = sim.ops.add_status(
            found, sha, body["state"], context, sim.api_user, body.get("description"), body.get("target_url")
        )
        return created(sim.render.status(found, status))

    # --- check suites and check runs (workflow runs and jobs: rest_actions.py) ---

    def suite_or_404(owner: str, repo: str, suite_id: int) -> tuple[Repo, CheckSuite]:
        found = get_repo(sim, owner, repo)
        suite = found.suites.get(suite_id)
        if suite is None:
            raise not_found()
        return found, suite

    @router.get(REPO + "/check-suites/{suite_id:int}")
    async def get_suite(owner: str, repo: str, suite_id: int) -> dict[str, Any]:
        found, suite = suite_or_404(owner, repo, suite_id)
        return sim.render.check_suite(found, suite)

    @router.get(REPO + "/check-suites/{suite_id:int}/check-runs")
    async def list_suite_runs(owner: str, repo: str, suite_id: int, request: Request) -> Response:
        found, suite = suite_or_404(owner, repo, suite_id)
        render = sim.render
        return paginate(request, [render.check_run(found, run) for run in suite.runs], "check_runs")

    @router.post(REPO + "/check-suites/{suite_id:int}/rerequest")
    async def rerequest_suite(owner: str, repo: str, suite_id: int) -> Response:
        found, suite = suite_or_404(owner, repo, suite_id)
        sim.ops.rerun_suite(found, suite, sim.api_user, failed_only=False)  # no-op while still running
        return JSONResponse({}, status_code=201)

    @router.get(REPO + "/check-runs/{run_id:int}")
    async def get_run(owner: str, repo: str, run_id: int) -> dict[str, Any]:
        found = get_repo(sim, owner, repo)
        for suite in found.suites.values():
            for run in suite.runs:
                if run.id == run_id:
                    return sim.render.check_run(found, run)
        raise not_found()

    # --- compare, branches, refs ---

    @router.get(REPO + "/compare/{basehead:path}")
    async def compare(owner: str, repo: str, basehead: str) -> dict[str, Any]:
        found = get_repo(sim, owner, repo)
        base, sep, head = basehead.partition("...")
        if not sep:
            raise not_found()
        base_sha, head_sha = sim.world.resolve(found, base), sim.world.resolve(found, head)
        if base_sha is None or head_sha is None:
            raise not_found()
        return sim.render.comparison(found, base, head, base_sha, head_sha)

    @router.get(REPO + "/branches/{branch:path}")
    async def get_branch(owner: str, repo: str, branch: str) -> dict[str, Any]:
        found = get_repo(sim, owner, repo)
        if branch not in found.branches:
            raise GitHubError(404, "Branch not found")
        return sim.render.branch(found, branch)

    @router.get(REPO + "/git/ref/heads/{branch:path}")
    async def get_ref(owner: str, repo: str, branch: str) -> dict[str, Any]:
        found = get_repo(sim, owner, repo)
        if branch not in found.branches:
            raise not_found()
        return sim.render.git_ref(found, branch)

    @router.post(REPO + "/git/refs")
    async def create_ref(owner: str, repo: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        body = await read_object(request)
        ref, sha = str(body.get("ref", "")), str(body.get("sha", ""))
        if not ref.startswith("refs/heads/") or len(ref) <= len("refs/heads/"):
            raise invalid(f"Reference name '{ref}' is not supported; use refs/heads/<branch>")
        name = ref.removeprefix("refs/heads/")
        if name in found.branches:
            raise invalid("Reference already exists")
        if sha not in found.commits:
            raise invalid("Object does not exist")
        sim.ops.create_branch(found, name, sha, sim.api_user)
        return created(sim.render.git_ref(found, name))

    @router.delete(REPO + "/git/refs/heads/{branch:path}")
    async def delete_ref(owner: str, repo: str, branch: str) -> Response:
        found = get_repo(sim, owner, repo)
        if branch not in found.branches:
            raise invalid("Reference does not exist")
        if branch == found.default_branch:
            raise invalid("Cannot delete the default branch")
        sim.ops.delete_branch(found, branch, sim.api_user)
        return Response(status_code=204)

    return router
