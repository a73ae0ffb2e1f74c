"""REST v4 routes of repositories and merge requests (python-gitlab's `project.files`, `.branches`,
`.commits`, `.mergerequests`, `mr.approve()`, `mr.approvals`, `mr.merge()`, `mr.pipelines`):

`GET|POST|PUT /projects/:id/repository/files/:file_path` (`?ref=`; PUT/POST need branch, content,
commit_message), `GET .../files/:file_path/raw`, `GET|POST /projects/:id/repository/branches`,
`GET|DELETE .../branches/:branch`, `POST /projects/:id/repository/commits` (branch, commit_message,
actions[], start_branch), `GET|POST /projects/:id/merge_requests` (state, source_branch, labels filters),
`GET|PUT /projects/:id/merge_requests/:iid` (state_event, labels, description),
`PUT .../merge` (merge_when_pipeline_succeeds, should_remove_source_branch, sha),
`POST .../cancel_merge_when_pipeline_succeeds`, `POST .../approve` (`sudo` names the approver),
`GET|POST .../approvals` (approvals_required), `GET|POST .../notes` (body), `GET .../pipelines`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from simulators.gitlab import render, render_mr
from simulators.gitlab.control import read_body
from simulators.gitlab.model import GitLabError
from simulators.gitlab.paging import paginate
from simulators.gitlab.render import API_USER
from simulators.gitlab.repo_model import MergeRequest
from simulators.gitlab.simulator import GitLabSimulator


def _text(body: dict[str, Any], name: str, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise GitLabError(400, f"{name} is missing")
    return value


def _flag(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    return value is True or str(value).lower() in ("true", "1")


def _labels(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [label.strip() for label in value.split(",") if label.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise GitLabError(400, "labels is invalid")


def _content(body: dict[str, Any]) -> str:
    content = _text(body, "content", required=False)
    if body.get("encoding") == "base64":
        try:
            return base64.b64decode(content, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise GitLabError(400, "content is invalid") from None
    return content


def repository_router(sim: GitLabSimulator, authorize: Callable[..., None], prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, dependencies=[Depends(authorize)])
    ops = sim.repo
    base = lambda: sim.base_url  # noqa: E731

    def mr_json(project_id: str, mr: MergeRequest) -> dict[str, Any]:
        proj = sim.project(project_id)
        return render_mr.merge_request(base(), proj, mr, ops.head_pipeline(mr), ops.detailed_merge_status(mr))

    @router.get("/projects/{project_id}/repository/files/{file_path}/raw")
    async def raw_file(project_id: str, file_path: str, request: Request) -> Response:
        with sim.lock:
            _, text = ops.read_file(project_id, unquote(file_path), request.query_params.get("ref"))
        return PlainTextResponse(text)

    @router.get("/projects/{project_id}/repository/files/{file_path}")
    async def get_file(project_id: str, file_path: str, request: Request) -> dict[str, Any]:
        path, ref = unquote(file_path), request.query_params.get("ref")
        if not ref:
            raise GitLabError(400, "ref is missing")
        with sim.lock:
            branch, text = ops.read_file(project_id, path, ref)
            return render_mr.file(path, ref, branch, text)

    async def write_file(project_id: str, file_path: str, request: Request, action: str) -> dict[str, Any]:
        body, path = await read_body(request), unquote(file_path)
        branch, message = _text(body, "branch"), _text(body, "commit_message")
        change = {"action": action, "file_path": path, "content": _content(body)}
        ops.commit(project_id, branch, message, [change], body.get("start_branch"))
        return {"file_path": path, "branch": branch}

    @router.post("/projects/{project_id}/repository/files/{file_path}", status_code=201)
    async def create_file(project_id: str, file_path: str, request: Request) -> dict[str, Any]:
        return await write_file(project_id, file_path, request, "create")

    @router.put("/projects/{project_id}/repository/files/{file_path}")
    async def update_file(project_id: str, file_path: str, request: Request) -> dict[str, Any]:
        return await write_file(project_id, file_path, request, "update")

    @router.get("/projects/{project_id}/repository/branches")
    async def list_branches(project_id: str) -> list[dict[str, Any]]:
        with sim.lock:
            proj = sim.project(project_id)
            return [render_mr.branch(base(), proj, b) for b in ops.branches(project_id).values()]

    @router.get("/projects/{project_id}/repository/branches/{branch}")
    async def get_branch(project_id: str, branch: str) -> dict[str, Any]:
        with sim.lock:
            return render_mr.branch(base(), sim.project(project_id), ops.branch(project_id, unquote(branch)))

    @router.post("/projects/{project_id}/repository/branches", status_code=201)
    async def create_branch(project_id: str, request: Request) -> dict[str, Any]:
        body = await read_body(request)
        with sim.lock:
            made = ops.create_branch(project_id, _text(body, "branch"), _text(body, "ref"))
            return render_mr.branch(base(), sim.project(project_id), made)

    @router.delete("/projects/{project_id}/repository/branches/{branch}", status_code=204)
    async def delete_branch(project_id: str, branch: str) -> Response:
        ops.delete_branch(project_id, unquote(branch))
        return Response(status_code=204)

    @router.post("/projects/{project_id}/repository/commits", status_code=201)
    async def create_commit(project_id: str, request: Request) -> dict[str, Any]:
        body = await read_body(request)
        actions = body.get("actions")
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            raise GitLabError(400, "actions is missing")
        for action in actions:
            action["content"] = _content(action) if "content" in action else ""
        with sim.lock:
            made = ops.commit(
                project_id,
                _text(body, "branch"),
                _text(body, "commit_message"),
                actions,
                body.get("start_branch"),
            )
            return render_mr.commit(base(), sim.project(project_id), made)

    @router.get("/projects/{project_id}/merge_requests")
    async def list_merge_requests(project_id: str, request: Request) -> Response:
        q = request.query_params
        want_labels = set(_labels(q.get("labels")) or [])
        with sim.lock:
            mrs = sorted(sim.project(project_id).merge_requests.values(), key=lambda m: -m.iid)
            items = [
                mr_json(project_id, m)
                for m in mrs
                if q.get("state") in (None, "", "all", m.state)
                and q.get("source_branch") in (None, m.source_branch)
                and want_labels <= set(m.labels)
            ]
        return paginate(request, items)

    @router.post("/projects/{project_id}/merge_requests", status_code=201)
    async def create_merge_request(project_id: str, request: Request) -> dict[str, Any]:
        body = await read_body(request)
        with sim.lock:
            mr = ops.create_merge_request(
                project_id,
                _text(body, "source_branch"),
                _text(body, "target_branch"),
                _text(body, "title"),
                _text(body, "description", required=False),
                _labels(body.get("labels")),
                bool(_flag(body.get("remove_source_branch"))),
            )
            return mr_json(project_id, mr)

    @router.get("/projects/{project_id}/merge_requests/{iid}")
    async def get_merge_request(project_id: str, iid: int) -> dict[str, Any]:
        with sim.lock:
            return mr_json(project_id, ops.merge_request(project_id, iid))

    @router.put("/projects/{project_id}/merge_requests/{iid}")
    async def update_merge_request(project_id: str, iid: int, request: Request) -> dict[str, Any]:
        body = await read_body(request)
        with sim.lock:
            mr = ops.update(
                project_id, iid, body.get("state_event"), _labels(body.get("labels")), body.get("description")
            )
            return mr_json(project_id, mr)

    @router.put("/projects/{project_id}/merge_requests/{iid}/merge")
    async def merge(project_id: str, iid: int, request: Request) -> dict[str, Any]:
        body = {**request.query_params, **(await read_body(request))}
        when = bool(_flag(body.get("merge_when_pipeline_succeeds")) or _flag(body.get("auto_merge")))
        with sim.lock:
            mr = ops.merge(
                project_id, iid, when, _flag(body.get("should_remove_source_branch")), body.get("sha")
            )
            return mr_json(project_id, mr)

    @router.post("/projects/{project_id}/merge_requests/{iid}/cancel_merge_when_pipeline_succeeds")
    async def cancel_mwps(project_id: str, iid: int) -> dict[str, Any]:
        with sim.lock:
            return mr_json(project_id, ops.cancel_merge_when_pipeline_succeeds(project_id, iid))

    @router.post("/projects/{project_id}/merge_requests/{iid}/approve", status_code=201)
    async def approve(project_id: str, iid: int, request: Request) -> dict[str, Any]:
        body = await read_body(request)
        who = request.query_params.get("sudo") or body.get("sudo") or API_USER["username"]
        with sim.lock:
            mr = ops.approve(project_id, iid, str(who), body.get("sha"))
            return render_mr.approvals(base(), sim.project(project_id), mr)

    @router.get("/projects/{project_id}/merge_requests/{iid}/approvals")
    async def get_approvals(project_id: str, iid: int) -> dict[str, Any]:
        with sim.lock:
            return render_mr.approvals(base(), sim.project(project_id), ops.merge_request(project_id, iid))

    @router.post("/projects/{project_id}/merge_requests/{iid}/approvals", status_code=201)
    async def set_approvals(project_id: str, iid: int, request: Request) -> dict[str, Any]:
        body = await read_body(request)
        try:
            required = int(body.get("approvals_required"))
        except (TypeError, ValueError):
            raise GitLabError(400, "approvals_required is missing") from None
        with sim.lock:
            mr = ops.set_approvals_required(project_id, iid, required)
            return render_mr.approvals(base(), sim.project(project_id), mr)

    @router.get("/projects/{project_id}/merge_requests/{iid}/notes")
    async def list_notes(project_id: str, iid: int, request: Request) -> Response:
        with sim.lock:
            mr = ops.merge_request(project_id, iid)
            items = [render_mr.note(base(), mr, i, body) for i, body in enumerate(mr.notes)]
        return paginate(request, items[::-1])

    @router.post("/projects/{project_id}/merge_requests/{iid}/notes", status_code=201)
    async def create_note(project_id: str, iid: int, request: Request) -> dict[str, Any]:
        body = _text(await read_body(request), "body")
        with sim.lock:
            mr = ops.merge_request(project_id, iid)
            mr.notes.append(body)
            return render_mr.note(base(), mr, len(mr.notes) - 1, body)

    @router.get("/projects/{project_id}/merge_requests/{iid}/pipelines")
    async def mr_pipelines(project_id: str, iid: int) -> list[dict[str, Any]]:
        with sim.lock:
            mr = ops.merge_request(project_id, iid)
            return [render.pipeline_brief(base(), sim.pipelines[pid]) for pid in reversed(mr.pipeline_ids)]

    return router
