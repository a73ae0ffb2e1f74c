"""`POST /slack/interactivity`: a Slack button click (Approve/Reject) becomes the CI workflow's `approval`
signal, through the one intake path (`starter/intake/pipeline.py`, source `starter/intake/slack.py`).

Answers: 413 too large, 401 unsigned or stale (a possible replay), 400 malformed, 200 with a text for
the clicker (recorded, refused, already decided, no longer pending, ignored), 503 when Temporal or the
store is unavailable so Slack retries.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from starter.intake.pipeline import receive
from starter.intake.slack import SLACK

router = APIRouter()


@router.post("/slack/interactivity", tags=["slack"])
async def slack_interactivity(request: Request) -> JSONResponse:
    """Receive one Slack interaction. 401 unsigned/stale, 400 malformed, 503 when Temporal is down."""
    return await receive(request, SLACK)
