"""The GitLab simulator's FastAPI app: REST API v4 under `/api/v4`, control endpoints under `/_sim/`.

REST (as python-gitlab calls it; `PRIVATE-TOKEN` or `Authorization: Bearer` required, else 401
`{"message": "401 Unauthorized"}`; project ids are numeric or URL-encoded paths like `acme%2Fapi`):
`GET /projects/:id`, `GET /projects/:id/pipelines` (status, ref, sha, source, scope, updated_after,
updated_before, order_by, sort; paginated), `GET /projects/:id/pipelines/:pid`,
`GET /projects/:id/pipelines/:pid/jobs` (`scope[]`, include_retried; paginated), `POST .../pipelines/:pid/retry`,
`GET /projects/:id/jobs/:job_id`, `GET .../jobs/:job_id/trace` (text/plain), `POST .../jobs/:job_id/retry`,
`POST /projects/:id/issues`, `GET /projects/:id/issues/:iid`, `GET /projects/:id/variables` (the
project's CI/CD variables, `Project.variables`; paginated), `GET /user`, `GET /version`; repositories and merge requests: see rest_repository.py.
Lists carry `X-Page`, `X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page`, `X-Prev-Page` and `Link`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.gitlab import render
from simulators.gitlab.control import control_router, read_body
from simulators.gitlab.model import Pipeline
from simulators.gitlab.paging import bad_request, paginate
from simulators.gitlab.rest_commits import commits_router
from simulators.gitlab.rest_repository import repository_router
from simulators.gitlab.simulator import GitLabError, GitLabSimulator

API_PREFIX = "/api/v4"
VERSION = {"version": "17.1.0", "revision": "sim", "kas": {"enabled": False}, "enterprise": False}
ORDER_BY = {
    "id": lambda p: p.id,
    "status": lambda p: (p.status, p.id),
    "ref": lambda p: (p.ref, p.id),
    "updated_at": lambda p: (p.updated_at, p.id),
    "user_id": lambda p: (render.CI_USER["id"], p.id),
}
PIPELINE_SCOPES = {
    "running": ("running",),
    "pending": ("pending",),
    "finished": ("success", "failed", "canceled"),
}
ISSUE_TYPES = ("issue", "incident", "test_case", "task")


class EncodedSlashes:
    """ASGI middleware: keep `%2F` inside a path segment, so `/projects/acme%2Fapi/...` routes as one id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path")
        if scope["type"] == "http" and raw and b"%2f" in raw.lower():
            path = raw.split(b"?", 1)[0].decode("latin-1")
            scope = {**scope, "path": unquote(re.sub("%2f", "%252F", path, flags=re.IGNORECASE))}
        await self.app(scope, receive, send)


def _time(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{name} is invalid") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def filter_pipelines(request: Request, pipelines: list[Pipeline]) -> list[Pipeline]:
    q = request.query_params
    after, before = _time(request, "updated_after"), _time(request, "updated_before")
    order_by, sort = q.get("order_by") or "id", q.get("sort") or "desc"
    if order_by not in ORDER_BY:
        raise bad_request("order_by does not have a valid value")
    if sort not in ("asc", "desc"):
        raise bad_request("sort does not have a valid value")
    scope = q.get("scope")
    if scope and scope not in (*PIPELINE_SCOPES, "branches", "tags"):
        raise bad_request("scope does not have a valid value")
    out = [
        p
        for p in pipelines
        if all(q.get(key) in (None, "", getattr(p, key)) for key in ("status", "ref", "sha", "source"))
        and (scope not in PIPELINE_SCOPES or p.status in PIPELINE_SCOPES[scope])
        and scope != "tags"
        and (after is None or p.updated_at > after)
        and (before is None or p.updated_at < before)
    ]
    return sorted(out, key=ORDER_BY[order_by], reverse=sort == "desc")


def authorizer(sim: GitLabSimulator) -> Callable[[Request], None]:
    """The REST routes' dependency: a `PRIVATE-TOKEN` or bearer token (the configured one, if set)."""

    def authorize(request: Request) -> None:
        auth = request.headers.get("authorization", "")
        token = request.headers.get("private-token") or (
            auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        )
        if not token or (sim.config.token is not None and token != sim.config.token):
            raise GitLabError(401, "401 Unauthorized")

    return authorize


def rest_router(sim: GitLabSimulator) -> APIRouter:
    authorize = authorizer(sim)
    router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(authorize)])
    base = lambda: sim.base_url  # noqa: E731

    @router.get("/user")
    async def current_user() -> dict[str, Any]:
        return {**render.user(base(), email=True), "bot": True, "is_admin": False, "created_at": None}

    @router.get("/version")
    async def version() -> dict[str, Any]:
        return VERSION

    @router.get("/projects/{project_id}")
    async def get_project(project_id: str) -> dict[str, Any]:
        return render.project(base(), sim.project(project_id))

    @router.get("/projects/{project_id}/pipelines")
    async def list_pipelines(project_id: str, request: Request) -> Response:
        with sim.lock:
            proj = sim.project(project_id)
            mine = [p for p in sim.pipelines.values() if p.project_id == proj.id]
            items = [render.pipeline_brief(base(), p) for p in filter_pipelines(request, mine)]
        return paginate(request, items)

    @router.get("/projects/{project_id}/pipelines/{pipeline_id}")
    async def get_pipeline(project_id: str, pipeline_id: int) -> dict[str, Any]:
        with sim.lock:
            return render.pipeline(base(), sim.pipeline(project_id, pipeline_id))

    @router.get("/projects/{project_id}/pipelines/{pipeline_id}/jobs")
    async def list_jobs(project_id: str, pipeline_id: int, request: Request) -> Response:
        scopes = set(request.query_params.getlist("scope[]") + request.query_params.getlist("scope"))
        retried = request.query_params.get("include_retried", "false").lower() == "true"
        with sim.lock:
            p = sim.pipeline(project_id, pipeline_id)
            jobs = [
                j
                for j in reversed(p.jobs)
                if (retried or not j.retried) and (not scopes or j.status in scopes)
            ]
            items = [render.job(base(), p, j) for j in jobs]
        return paginate(request, items)

    @router.post("/projects/{project_id}/pipelines/{pipeline_id}/retry", status_code=201)
    async def retry_pipeline(project_id: str, pipeline_id: int) -> dict[str, Any]:
        with sim.lock:
            return render.pipeline(base(), sim.retry_pipeline(project_id, pipeline_id))

    @router.get("/projects/{project_id}/jobs/{job_id}")
    async def get_job(project_id: str, job_id: int) -> dict[str, Any]:
        with sim.lock:
            j = sim.job(project_id, job_id)
            return render.job(base(), sim.pipelines[j.pipeline_id], j)

    @router.get("/projects/{project_id}/variables")
    async def list_variables(project_id: str, request: Request) -> Response:
        with sim.lock:
            items = [
                {"variable_type": "env_var", "key": key, "value": value, "protected": False, "masked": masked,
                 "hidden": False, "raw": False, "environment_scope": "*", "description": None}
                for key, (value, masked) in sim.project(project_id).variables.items()
            ]  # fmt: skip
        return paginate(request, items)

    @router.get("/projects/{project_id}/jobs/{job_id}/trace")
    async def trace(project_id: str, job_id: int) -> Response:
        with sim.lock:
            return PlainTextResponse(sim.job(project_id, job_id).trace)

    @router.post("/projects/{project_id}/jobs/{job_id}/retry", status_code=201)
    async def retry_job(project_id: str, job_id: int) -> dict[str, Any]:
        with sim.lock:
            j = sim.retry_job(project_id, job_id)
            return render.job(base(), sim.pipelines[j.pipeline_id], j)

    @router.post("/projects/{project_id}/issues", status_code=201)
    async def create_issue(project_id: str, request: Request) -> dict[str, Any]:
        body = await read_body(request)
        title, labels = body.get("title"), body.get("labels") or []
        if not isinstance(title, str) or not title.strip():
            raise bad_request("title is missing")
        if isinstance(labels, str):
            labels = [label.strip() for label in labels.split(",") if label.strip()]
        issue_type = body.get("issue_type") or "issue"
        if issue_type not in ISSUE_TYPES:
            raise bad_request("issue_type does not have a valid value")
        with sim.lock:
            issue = sim.create_issue(
                project_id, title, str(body.get("description") or ""), labels, issue_type
            )
            return render.issue(base(), sim.project(project_id), issue)

    @router.get("/projects/{project_id}/issues/{iid}")
    async def get_issue(project_id: str, iid: int) -> dict[str, Any]:
        with sim.lock:
            return render.issue(base(), sim.project(project_id), sim.issue(project_id, iid))

    return router


def create_app(sim: GitLabSimulator) -> FastAPI:
    """The simulator app serving `sim`; its lifespan starts and stops webhook delivery."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await sim.start()
        yield
        await sim.stop()

    app = FastAPI(
        title="Mender GitLab simulator",
        lifespan=lifespan,
        docs_url="/_sim/docs",
        openapi_url="/_sim/openapi.json",
        redoc_url=None,
    )

    @app.exception_handler(GitLabError)
    async def gitlab_error(_: Request, exc: GitLabError) -> Response:
        if exc.error_code:  # e.g. a revert that cannot apply: {"message", "error_code": "conflict"}
            return JSONResponse({"message": exc.message, "error_code": exc.error_code}, exc.status)
        key = "error" if exc.status == 400 else "message"
        return JSONResponse({key: exc.message}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return JSONResponse({"error": f"{exc.status_code} {exc.detail}"}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        names = ", ".join(str(e["loc"][-1]) for e in exc.errors())
        return JSONResponse({"error": f"{names} is invalid"}, status_code=400)

    @app.middleware("http")
    async def learn_base_url(request: Request, call_next: Any) -> Response:
        if sim.config.base_url is None:
            sim.set_base_url(str(request.base_url))
        return await call_next(request)

    app.include_router(control_router(sim), prefix="/_sim")
    app.include_router(rest_router(sim))
    app.include_router(repository_router(sim, authorizer(sim), API_PREFIX))
    app.include_router(commits_router(sim, authorizer(sim), API_PREFIX))
    app.add_middleware(EncodedSlashes)
    return app
