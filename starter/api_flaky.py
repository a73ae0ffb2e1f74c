"""Admin API for flaky tests: each test's flakiness score from the CI history (`store.flaky_tests`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from domain.pr_healing.events import REPO_PATTERN
from starter.api_audit import AdminRoute
from starter.api_common import error_responses, in_store
from starter.auth import authorize
from store import flaky_tests
from store.db import engine_for

router = APIRouter(
    prefix="/api",
    tags=["flaky tests"],
    route_class=AdminRoute,
    dependencies=[Depends(authorize)],
    responses=error_responses(401, 422, 503),
)


class FlakyTestView(BaseModel):
    project: str
    test: str
    score: float
    flaky: bool
    runs: int
    failures: int
    flips: int  # commits it failed and then passed on
    base_failures: int  # other base-branch commits it failed on within the window
    reasons: list[str]
    last_seen: datetime | None


@router.get("/flaky", summary="Flaky tests and their scores", response_model=list[FlakyTestView])
async def list_flaky(
    request: Request,
    repo: Annotated[str | None, Query(pattern=REPO_PATTERN, max_length=200, description="OWNER/REPO")] = None,
    limit: Annotated[int, Query(ge=1, le=flaky_tests.MAX_LISTED)] = 100,
) -> list[FlakyTestView]:
    """Every test seen failing in CI, highest flakiness score first: the score (0..1), whether its
    history makes it flaky and why (failed then passed on one commit, failed on the base branch for
    other commits, failure rate), its runs and failures. Above `ci.flaky.fix_above` Mender opens a fix
    PR, above `ci.flaky.notify_above` it tells the owners."""
    engine = engine_for(request.app.state.settings.database_url)
    scores = await in_store(flaky_tests.listed, engine, repo, limit)
    return [FlakyTestView(**s.model_dump()) for s in scores]
