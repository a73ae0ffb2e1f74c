"""`installation` and `installation_repositories` webhooks: the GitHub App's repositories come and go.

Added repositories are swept by the reconciler from then on; removed ones (or an uninstalled App) are
forgotten, with their cached installation. Delivered through `POST /webhooks/github` after its checks
(signature, dedupe); the delivery is recorded like every other one.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from domain.pr_healing.events import REPO_PATTERN
from runtime.github_auth import forget_installation
from starter.ci_delivery import answer
from store import installations, repository
from store.models import WebhookDeliveryRecord

log = logging.getLogger("mender.webhooks.installations")
EVENTS = frozenset({"installation", "installation_repositories"})
MAX_REPOSITORIES = 10_000


class _Repo(BaseModel):
    full_name: str = Field(pattern=REPO_PATTERN, max_length=250)

    @field_validator("full_name")
    @classmethod
    def _no_dot_parts(cls, value: str) -> str:
        if any(part in (".", "..") for part in value.split("/")):
            raise ValueError("'.' and '..' are not repository names")
        return value


class _Installation(BaseModel):
    id: int = Field(gt=0)


class InstallationPayload(BaseModel):
    action: str = Field(max_length=60)
    installation: _Installation
    repositories: list[_Repo] = Field(default_factory=list, max_length=MAX_REPOSITORIES)
    repositories_added: list[_Repo] = Field(default_factory=list, max_length=MAX_REPOSITORIES)
    repositories_removed: list[_Repo] = Field(default_factory=list, max_length=MAX_REPOSITORIES)


def _apply(engine: Engine, event: str, p: InstallationPayload) -> tuple[list[str], list[str]]:
    """(added, removed) repositories of one delivery."""
    number = p.installation.id
    if event == "installation" and p.action in ("created", "new_permissions_accepted", "unsuspend"):
        names = [r.full_name for r in p.repositories]
        installations.add(engine, number, names)
        return names, []
    if event == "installation" and p.action in ("deleted", "suspend"):
        return [], installations.remove_installation(engine, number)
    if event == "installation_repositories":
        added = [r.full_name for r in p.repositories_added]
        removed = [r.full_name for r in p.repositories_removed]
        installations.add(engine, number, added)
        installations.remove(engine, removed)
        return added, removed
    return [], []


async def receive(
    request: Request,
    engine: Engine,
    delivery: str,
    event: str,
    payload: dict[str, Any],
    received_at: datetime,
) -> JSONResponse:
    """Apply one installation delivery; 400 with the reason when the payload is not one."""
    try:
        parsed = InstallationPayload.model_validate(payload)
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
        log.warning("rejected delivery %s: bad %s payload at %s", delivery, event, where)
        return answer(400, delivery, "rejected", f"not an {event} payload: bad {where}")
    added, removed = await run_in_threadpool(_apply, engine, event, parsed)
    for repo in removed:
        forget_installation(repo)
    reason = (
        f"installation {parsed.installation.id} {parsed.action}: +{len(added)} -{len(removed)} repositories"
    )
    log.info("delivery %s: %s", delivery, reason)
    record = WebhookDeliveryRecord(
        delivery_id=delivery,
        event=event,
        action=parsed.action,
        received_at=received_at,
        outcome="accepted",
        reason=reason,
    )
    await run_in_threadpool(repository.record_delivery, engine, record)
    return answer(202, delivery, "accepted", reason, added=added, removed=removed)
