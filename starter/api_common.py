"""What every Admin API router shares: the error responses it documents, the app's settings and
dispatcher, and the mapping of store and Temporal failures to HTTP answers (503; 404 for what Temporal
does not know)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from runtime.dispatch import EventDispatcher, TemporalUnavailable
from runtime.settings import Settings
from starter.api_models import ErrorBody

TEMPORAL_TIMEOUT = 10.0  # seconds for a query, a reset or a trigger


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of `codes`, each an `ErrorBody`."""
    return {code: {"model": ErrorBody} for code in codes}


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


def app_dispatcher(request: Request) -> EventDispatcher:
    return request.app.state.dispatcher


async def in_store(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a store function off the event loop; 503 when the database cannot answer."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except SQLAlchemyError as exc:
        raise HTTPException(503, f"the store is unavailable: {type(exc).__name__}") from exc


@asynccontextmanager
async def temporal_call(what: str, timeout: float = TEMPORAL_TIMEOUT) -> AsyncIterator[None]:
    """Map Temporal failures: 404 when `what` does not exist, 503 when Temporal cannot answer."""
    try:
        async with asyncio.timeout(timeout):
            yield
    except TemporalUnavailable as exc:
        raise HTTPException(503, str(exc)) from exc
    except TimeoutError as exc:
        raise HTTPException(503, f"{what}: no answer within {timeout:.0f} s (is a worker running?)") from exc
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, f"{what}: not found") from exc
        raise HTTPException(503, f"{what}: Temporal refused: {exc.status.name}") from exc


async def temporal_client(request: Request) -> Client:
    async with temporal_call("Temporal"):
        return await app_dispatcher(request).client()
