"""REST v4 routes of commits (python-gitlab's `project.commits.list/get`, `commit.revert(branch)`,
`commit.signature()`, `mr.commits()`):

`GET /projects/:id/repository/commits` (`ref_name`: the branch's history, newest first),
`GET .../commits/:sha`, `POST .../commits/:sha/revert` (`branch`; 400 `error_code` conflict or empty
when it cannot apply), `GET .../commits/:sha/signature` (404 when unsigned, as GitLab answers),
`GET /projects/:id/merge_requests/:iid/commits` (the MR's own commits, newest first),
`GET /projects/:id/repository/compare` (`from`, `to`: shas or branches; `compare.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from simulators.gitlab import compare, render_mr
from simulators.gitlab.control import read_body
from simulators.gitlab.model import GitLabError
from simulators.gitlab.paging import paginate
from simulators.gitlab.simulator import GitLabSimulator


def signature(sha: str) -> dict[str, Any]:
    """A commit GitLab signed itself (web and API commits, when the instance signs them)."""
    return {
        "signature_type": "SSH",
        "verification_status": "verified",
        "commit_source": "gitaly",
        "key": None,
        "commit_sha": sha,
    }


def commits_router(sim: GitLabSimulator, authorize: Callable[..., None], prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, dependencies=[Depends(authorize)])
    ops = sim.repo
    base = lambda: sim.base_url  # noqa: E731

    @router.get("/projects/{project_id}/repository/commits")
    async def list_commits(project_id: str, request: Request) -> Response:
        with sim.lock:
            proj = sim.project(project_id)
            found = ops.history(project_id, request.query_params.get("ref_name") or None)
            items = [render_mr.commit(base(), proj, c) for c in found]
        return paginate(request, items)

    @router.get("/projects/{project_id}/repository/compare")
    async def compare_refs(project_id: str, request: Request) -> dict[str, Any]:
        start, end = request.query_params.get("from"), request.query_params.get("to")
        if not start or not end:
            raise GitLabError(400, "from and to are required")
        with sim.lock:
            proj = sim.project(project_id)
            source, target = ops.get_commit(project_id, start), ops.get_commit(project_id, end)
            known = {c.id for c in ops.history(project_id, source.id)}
            between = [c for c in ops.history(project_id, target.id) if c.id not in known]
            return compare.compare(base(), proj, source, target, between, source.id == target.id)

    @router.get("/projects/{project_id}/repository/commits/{sha}")
    async def get_commit(project_id: str, sha: str) -> dict[str, Any]:
        with sim.lock:
            return render_mr.commit(base(), sim.project(project_id), ops.get_commit(project_id, unquote(sha)))

    @router.post("/projects/{project_id}/repository/commits/{sha}/revert", status_code=201)
    async def revert(project_id: str, sha: str, request: Request) -> dict[str, Any]:
        body = {**request.query_params, **(await read_body(request))}
        branch = body.get("branch")
        if not isinstance(branch, str) or not branch.strip():
            raise GitLabError(400, "branch is missing")
        with sim.lock:
            made = ops.revert(project_id, unquote(sha), branch)
            return render_mr.commit(base(), sim.project(project_id), made)

    @router.get("/projects/{project_id}/repository/commits/{sha}/signature")
    async def get_signature(project_id: str, sha: str) -> dict[str, Any]:
        with sim.lock:
            proj, found = sim.project(project_id), ops.get_commit(project_id, unquote(sha))
            if not proj.signs_commits:
                raise GitLabError(404, "404 Signature Not Found")
            return signature(found.id)

    @router.get("/projects/{project_id}/merge_requests/{iid}/commits")
    async def mr_commits(project_id: str, iid: int, request: Request) -> Response:
        with sim.lock:
            proj, mr = sim.project(project_id), ops.merge_request(project_id, iid)
            before = {c.id for c in ops.history(project_id, mr.base_sha)} if mr.base_sha else set()
            own = [c for c in ops.history(project_id, mr.sha) if c.id not in before]
            items = [render_mr.commit(base(), proj, c) for c in own]
        return paginate(request, items)

    return router
