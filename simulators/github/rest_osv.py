"""REST route of the simulated OSV feed: `POST /osv/v1/query` (see `osv.py`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.github.osv import query
from simulators.github.simulator import Simulator


def osv_router(sim: Simulator) -> APIRouter:

    router = APIRouter()

    @router.post("/osv/v1/query")
    async def osv_query(request: Request) -> JSONResponse:
        try:
            answer = query(sim.world.vulnerabilities, await request.json())
        except ValueError as exc:  # a JSON decode error is a ValueError too
            return JSONResponse({"code": 3, "message": f"Invalid query: {exc}"[:300]}, status_code=400)
        return JSONResponse(answer)

    return router
