"""Control endpoints under `/_sim/` (JSON, no auth):

- `POST /_sim/pipelines` body `{"project": "acme/api", "log_text", "heals_on": "retry"|"fix"|"never",
  "job"?: "test", "stage"?: "test", "approve"?: null, "ref"?}`: a failed pipeline (project created if new),
  201 `{"pipeline_id", "job_id", "project_id"}`.
- `POST /_sim/config` body with any of `{"webhook_url", "webhook_token", "ci_seconds", "loss_rate", "seed"}`.
- `GET /_sim/deliveries`: every webhook delivery, oldest first.
- `GET /_sim/report`: per pipeline: heals_on, retries requested, incident issues, healed (by retry) and when.
- `POST /_sim/reset`; `GET /_sim/health`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from simulators.gitlab.simulator import GitLabError, GitLabSimulator

CONFIG_KEYS = ("webhook_url", "webhook_token", "ci_seconds", "loss_rate", "seed")


async def read_body(request: Request) -> dict[str, Any]:
    """A JSON object or form-encoded body (empty: `{}`); anything else is a 400."""
    raw = await request.body()
    if not raw:
        return {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode(), keep_blank_values=True))
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        raise GitLabError(400, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise GitLabError(400, "body must be a JSON object")
    return body


def _unprocessable(message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=422)


def control_router(sim: GitLabSimulator) -> APIRouter:
    router = APIRouter()

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "ok": True,
            "base_url": sim.base_url,
            "webhook_url": sim.config.webhook_url,
            "pipelines": len(sim.pipelines),
        }

    @router.post("/pipelines", status_code=201)
    async def add_pipeline(request: Request) -> Response:
        body = await read_body(request)
        project, log_text = body.get("project"), body.get("log_text")
        if not isinstance(project, str) or not isinstance(log_text, str):
            return _unprocessable("'project' (group/name) and 'log_text' are required strings")
        try:
            p = sim.add_pipeline(
                project,
                log_text,
                str(body.get("heals_on", "retry")),
                job=str(body.get("job") or "test"),
                stage=str(body.get("stage") or "test"),
                approve=body.get("approve"),
                ref=body.get("ref"),
            )
        except ValueError as exc:
            return _unprocessable(str(exc))
        failed = next(j for j in p.jobs if j.status == "failed")
        return JSONResponse({"pipeline_id": p.id, "job_id": failed.id, "project_id": p.project_id}, 201)

    @router.post("/config")
    async def configure(request: Request) -> Response:
        body = await read_body(request)
        unknown = set(body) - set(CONFIG_KEYS)
        if unknown:
            return _unprocessable(f"unknown keys: {sorted(unknown)}; known: {list(CONFIG_KEYS)}")
        try:
            return JSONResponse(sim.configure(**body))
        except (TypeError, ValueError) as exc:
            return _unprocessable(str(exc))

    @router.get("/deliveries")
    async def deliveries() -> list[dict[str, Any]]:
        return sim.deliveries()

    @router.get("/report")
    async def report() -> dict[str, Any]:
        return sim.report()

    @router.post("/reset")
    async def reset() -> dict[str, bool]:
        sim.reset()
        return {"reset": True}

    return router
