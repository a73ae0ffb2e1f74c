"""The simulator's FastAPI app: GitHub REST routes plus control endpoints under `/_sim/`.

Every route is `async def`, so all world access happens on uvicorn's event loop, the same loop the
actors and webhook deliveries run on (started in the app lifespan). During a scenario's
`github_outage` every REST route answers 502 (GitHub's body); control endpoints keep working.

Control endpoints (JSON):
- `POST /_sim/scenario` body = scenario object (see scenario.py); starts it in the background, 202.
- `POST /_sim/prs` body `{"repo", "author", "title"?, "faults"?}`; opens one PR, 201 with its number.
- `POST /_sim/pipelines` body `{"repo", "log_text", "heals_on", "workflow"?, "job"?, "approve"?}`; starts
  one failing Actions run now (see pipelines.py), 201 `{"run_id", "pipeline"}`.
- `POST /_sim/pipelines/passed` body `{"repo", "log_text", "workflow"?, "job"?}`: a run of the workflow on
  the default branch that passed, `job`'s log being `log_text`; 201 `{"run_id", "sha"}`.
- `POST /_sim/pipelines/{run_id}/human-fix` body `{"files": {path: text}, "author"?, "message"?}`: a human
  commits `files` on the failed run's branch and the same workflow runs green there; 201 `{"run_id", "sha"}`.
- `POST /_sim/repos/refusal` `{"repo", "kind", "retry_after"?}`: a repository answered 404, 403 or 429
  (or archived) from now on; `kind: null` clears it (see repo_refusals.py).
- `POST /_sim/slow` `{"pattern", "seconds"}`: REST calls whose `METHOD path` matches the regex are
  answered `seconds` late, after they took effect and were logged (a client killed meanwhile never
  learns the result); `seconds: 0` removes the pattern.
- `GET /_sim/report`; `GET /_sim/requests?since=` (REST calls answered); `GET /_sim/deliveries`;
  `POST /_sim/deliveries/{id}/redeliver`; `POST /_sim/reset`; `GET /_sim/health`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulators.github.access import WRITES, AccessConfig, Refusal
from simulators.github.rest_actions import actions_router
from simulators.github.rest_app import install_app_auth
from simulators.github.rest_collaborators import collaborators_router
from simulators.github.rest_common import DOCS, GitHubError, read_object
from simulators.github.rest_contents import contents_router
from simulators.github.rest_issues import issues_router
from simulators.github.rest_osv import osv_router
from simulators.github.rest_pulls import pulls_router
from simulators.github.rest_repos import repos_router
from simulators.github.scenario import PipelineGroup, Scenario, load_scenario
from simulators.github.simulator import Simulator

CONTROL_PREFIX = "/_sim"
API_PREFIXES = ("/repos/", "/user", "/rate_limit")


def create_app(sim: Simulator, scenario: Scenario | None = None) -> FastAPI:
    """The simulator app; `scenario`, if given, starts in the background once the app is up."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await sim.start()
        if scenario is not None:
            sim.start_scenario(scenario)
        yield
        await sim.stop()

    app = FastAPI(
        title="Mender GitHub simulator",
        lifespan=lifespan,
        docs_url=f"{CONTROL_PREFIX}/docs",
        openapi_url=f"{CONTROL_PREFIX}/openapi.json",
        redoc_url=None,
    )

    @app.exception_handler(GitHubError)
    async def github_error(_: Request, exc: GitHubError) -> Response:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return GitHubError(exc.status_code, message).response()

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        return GitHubError(422, "Validation Failed", [{"code": "invalid", "message": str(exc)}]).response()

    @app.middleware("http")
    async def github_envelope(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if sim.config.base_url is None:
            sim.set_base_url(str(request.base_url))
        path = request.url.path
        if path.startswith(CONTROL_PREFIX):
            return await call_next(request)
        asked = await request.body() if request.method in WRITES else b""  # cached for the route
        if sim.faults.decide(None, "api.request", "ok") == "outage":
            body = {"message": "Server Error", "documentation_url": DOCS, "status": "502"}
            response: Response = JSONResponse(body, 502)
        elif path.startswith(API_PREFIXES) and not path.endswith("/installation"):  # JWT: the route checks it
            response = await answer(request, call_next)
        else:  # web URLs (raw files, log downloads): another host on GitHub, no token or quota
            response = await call_next(request)
        sim.state.requests.append(
            {
                "method": request.method,
                "path": path,
                "body_sha": hashlib.sha256(asked).hexdigest()[:16] if asked else None,
                "status": response.status_code,
                "at": time.time(),
                "retry_after": response.headers.get("retry-after"),
            }
        )
        if late := max((t for p, t in sim.slow.items() if p.search(f"{request.method} {path}")), default=0):
            await asyncio.sleep(late)
        response.headers.update(
            {
                "X-GitHub-Api-Version-Selected": "2022-11-28",
                "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
            }
        )
        return response

    async def answer(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Credentials, permissions and rate limits first; then the route, with ETag and 304."""
        access, method, now = sim.state.access, request.method, time.time()
        token, refusal = access.authenticate(method, request.url.path, request.headers.get("authorization"))
        if refusal is not None:
            return refused(refusal)
        if (repo_refusal := sim.refusals.refusal_for(method, request.url.path)) is not None:
            return refused(Refusal(repo_refusal.status, repo_refusal.message, repo_refusal.headers))
        free = request.url.path == "/rate_limit"  # GitHub does not count it
        if not free and (refusal := access.over_limit(token, method, now)) is not None:
            return refused(refusal, access.quota(token, now).headers())
        response = await call_next(request)
        if method == "GET" and response.status_code == 200:
            response = await with_etag(request, response)
        if not free:
            access.count(token, method, now, not_modified=response.status_code == 304)
        response.headers.update(access.quota(token, now).headers())
        return response

    app.include_router(control_router(sim), prefix=CONTROL_PREFIX)
    app.include_router(access_router(sim), prefix=CONTROL_PREFIX)
    app.include_router(repos_router(sim))
    app.include_router(pulls_router(sim))
    app.include_router(contents_router(sim))
    app.include_router(actions_router(sim))
    app.include_router(issues_router(sim))
    app.include_router(collaborators_router(sim))
    app.include_router(osv_router(sim))
    install_app_auth(app, sim)  # GitHub App: installation tokens (simulators/github/rest_app.py)
    return app


def refused(refusal: Refusal, headers: dict[str, str] | None = None) -> Response:
    body = {
        "message": refusal.message,
        "documentation_url": refusal.documentation_url,
        "status": str(refusal.status),
    }
    return JSONResponse(body, refusal.status, headers={**(headers or {}), **refusal.headers})


async def with_etag(request: Request, response: Response) -> Response:
    """A GET's body gets a (weak) ETag; `If-None-Match` with it gives 304 without a body, as on GitHub."""
    body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
    etag = f'W/"{hashlib.sha256(body).hexdigest()[:40]}"'
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    wanted = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in wanted or etag.removeprefix("W/") in wanted:
        return Response(status_code=304, headers={**headers, "ETag": etag})
    return Response(body, response.status_code, headers={**headers, "ETag": etag})


def access_router(sim: Simulator) -> APIRouter:
    """`POST /_sim/access` `{"tokens", "denied": {token: [permission]}, "limit", "anonymous_limit",
    "writes_per_minute", "write_window_seconds", "points_per_minute", "point_window_seconds",
    "secondary_statuses": [403 or 429, ...]}` replaces the
    access rules (and forgets what was counted)."""
    router = APIRouter()

    @router.post("/access")
    async def configure(request: Request) -> Response:
        body = await read_object(request)
        try:
            config = AccessConfig(
                tokens=tuple(body.get("tokens", AccessConfig.tokens)),
                denied={t: frozenset(p) for t, p in dict(body.get("denied", {})).items()},
                **{
                    k: int(body[k])
                    for k in ("limit", "anonymous_limit", "writes_per_minute", "points_per_minute")
                    if k in body
                },
                **(
                    {"secondary_statuses": tuple(int(s) for s in body["secondary_statuses"])}
                    if "secondary_statuses" in body
                    else {}
                ),
                **{k: float(body[k]) for k in ("write_window_seconds", "point_window_seconds") if k in body},
            )
        except (TypeError, ValueError) as exc:
            return JSONResponse({"message": f"bad access rules: {exc}"}, status_code=422)
        sim.state.access.configure(config)
        return JSONResponse({"tokens": len(config.tokens), "limit": config.limit})

    return router


def control_router(sim: Simulator) -> APIRouter:
    router = APIRouter()

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "base_url": sim.base_url, "webhook_url": sim.config.webhook_url}

    @router.post("/scenario")
    async def start_scenario(request: Request) -> Response:
        try:
            scenario = load_scenario(await read_object(request))
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=422)
        sim.start_scenario(scenario)
        counts = {"prs": scenario.total_prs, "pipelines": scenario.total_pipelines}
        return JSONResponse({"status": "started", **counts}, status_code=202)

    @router.post("/pipelines")
    async def start_pipeline(request: Request) -> Response:
        body = await read_object(request)
        repo = body.get("repo")
        if not isinstance(repo, str) or repo.count("/") != 1:
            return JSONResponse({"message": "'repo' must be owner/name"}, status_code=422)
        known = {
            "repo",
            "log_text",
            "heals_on",
            "workflow",
            "job",
            "approve",
            "fix_checks",
            "breaks_after_merge",
        }
        unknown = sorted(set(body) - known)
        if unknown:
            return JSONResponse({"message": f"unknown keys {unknown}"}, status_code=422)
        try:
            group = PipelineGroup.model_validate(body)
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=422)
        if group.log_text is None:
            return JSONResponse({"message": "give the log inline as 'log_text'"}, status_code=422)
        pipeline = sim.pipelines.add(
            repo,
            group.log_text,
            group.heals_on,
            group.workflow,
            group.job,
            group.approve,
            fix_checks=group.fix_checks,
            breaks_after_merge=group.breaks_after_merge,
        )
        suite = sim.pipelines.start(pipeline)
        return JSONResponse(
            {"run_id": suite.run_id, "pipeline": pipeline.index, "repo": repo}, status_code=201
        )

    @router.post("/pipelines/passed")
    async def passed_run(request: Request) -> Response:
        body = await read_object(request)
        repo, log = body.get("repo"), body.get("log_text")
        workflow, job = body.get("workflow", "CI"), body.get("job", "test")
        if not isinstance(repo, str) or repo.count("/") != 1 or not isinstance(log, str):
            return JSONResponse({"message": "give 'repo' (owner/name) and 'log_text'"}, status_code=422)
        if not isinstance(workflow, str) or not isinstance(job, str) or not workflow or not job:
            return JSONResponse({"message": "'workflow' and 'job' must be names"}, status_code=422)
        suite = sim.pipelines.add_passed_run(repo, log, workflow, job)
        return JSONResponse({"run_id": suite.run_id, "sha": suite.head_sha}, status_code=201)

    @router.post("/pipelines/{run_id}/human-fix")
    async def human_fix(run_id: int, request: Request) -> Response:
        body = await read_object(request)
        files, author = body.get("files"), body.get("author", "alice")
        if not isinstance(files, dict) or not files or not all(isinstance(v, str) for v in files.values()):
            return JSONResponse({"message": "'files' must map paths to their new text"}, status_code=422)
        found = [p for p in sim.world.pipelines if p.run_id == run_id]
        if not found or not isinstance(author, str):
            return JSONResponse({"message": f"no pipeline with run {run_id}"}, status_code=404)
        message = str(body.get("message") or "Fix the build")
        suite = sim.pipelines.human_fix(found[0], {str(k): v for k, v in files.items()}, author, message)
        return JSONResponse({"run_id": suite.run_id, "sha": suite.head_sha}, status_code=201)

    @router.post("/prs")
    async def open_pr(request: Request) -> Response:
        body = await read_object(request)
        repo, author = body.get("repo"), body.get("author", "dependabot[bot]")
        if not isinstance(repo, str) or repo.count("/") != 1:
            return JSONResponse({"message": "'repo' must be owner/name"}, status_code=422)
        try:
            pr = sim.open_bot_pr(repo, str(author), body.get("title"), body.get("faults") or [])
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=422)
        data = {"repo": pr.repo, "number": pr.number, "title": pr.title, "head_ref": pr.head_ref}
        return JSONResponse({**data, "head_sha": pr.head_sha, "url": sim.render.pull(pr)["url"]}, 201)

    @router.post("/slow")
    async def slow(request: Request) -> Response:
        body = await read_object(request)
        try:
            pattern, seconds = re.compile(str(body["pattern"])), float(body.get("seconds", 0))
        except (KeyError, re.error, TypeError, ValueError) as exc:
            return JSONResponse({"message": f"bad slow answer rule: {exc!r}"}, status_code=422)
        if not 0 <= seconds <= 60:
            return JSONResponse({"message": "seconds must be within 0..60"}, status_code=422)
        sim.slow.pop(pattern, None)
        if seconds:
            sim.slow[pattern] = seconds
        return JSONResponse({"slow": {p.pattern: t for p, t in sim.slow.items()}})

    @router.post("/repos/refusal")
    async def refuse_repo(request: Request) -> Response:
        body = await read_object(request)
        repo, kind, retry_after = body.get("repo"), body.get("kind"), body.get("retry_after", 60)
        if not isinstance(repo, str) or repo.count("/") != 1:
            return JSONResponse({"message": "'repo' must be owner/name"}, status_code=422)
        try:
            sim.refusals.set(repo, kind if kind is None else str(kind), int(retry_after))
        except (TypeError, ValueError) as exc:
            return JSONResponse({"message": str(exc)}, status_code=422)
        if repo in sim.world.repos:
            sim.world.repos[repo].archived = kind == "archived"
        return JSONResponse({"repo": repo, "kind": kind})

    @router.get("/report")
    async def report() -> dict[str, Any]:
        return sim.report()

    @router.get("/requests")
    async def requests(since: float = 0.0) -> list[dict[str, Any]]:
        """REST calls answered at or after `since` (epoch seconds), oldest first: method, path,
        body_sha (writes: what was asked), status, at, retry_after (the last 50,000 are kept)."""
        return [r for r in sim.state.requests if r["at"] >= since]

    @router.get("/deliveries")
    async def deliveries() -> list[dict[str, Any]]:
        return [record.to_json() for record in sim.deliverer.log]

    @router.post("/deliveries/{delivery_id}/redeliver")
    async def redeliver(delivery_id: str) -> Response:
        record = await sim.deliverer.redeliver(delivery_id)
        if record is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse(record.to_json())

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        sim.reset_now()
        return {"reset": True}

    return router
