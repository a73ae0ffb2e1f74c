"""The webhook routes: `POST /webhooks/github` and `POST /webhooks/gitlab`, both through one intake path
(`starter/intake/pipeline.py`). They never decide."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from starter.intake.github import GITHUB
from starter.intake.gitlab import GITLAB
from starter.intake.pipeline import receive

router = APIRouter()


@router.post("/webhooks/github", tags=["webhooks"])
async def github_webhook(request: Request) -> JSONResponse:
    """Receive one GitHub webhook. 401 bad signature, 400 malformed, 503 when Temporal is down."""
    return await receive(request, GITHUB)


@router.post("/webhooks/gitlab", tags=["webhooks"])
async def gitlab_webhook(request: Request) -> JSONResponse:
    """Receive one GitLab webhook (Pipeline Hook). 401 bad token, 400 malformed, 503 when Temporal is down."""
    return await receive(request, GITLAB)
