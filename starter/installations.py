"""`installation` and `installation_repositories` webhooks: the GitHub App's repositories come and go.

Added repositories are swept by the reconciler from then on; removed ones (or an uninstalled App) are
forgotten, with their cached installation. They arrive through the GitHub intake path
(`starter/intake/github.py`): verified, deduplicated and recorded like every other delivery.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import Engine

from domain.pr_healing.events import REPO_PATTERN
from runtime.github_auth import forget_installation
from starter.intake.model import PayloadError
from store import installations
from store.db import engine_for

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


def apply(settings_database_url: str, event: str, payload: dict[str, Any]) -> str:
    """Apply one installation delivery; returns what changed. PayloadError when it is not one."""
    try:
        parsed = InstallationPayload.model_validate(payload)
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
        raise PayloadError(f"not an {event} payload: bad {where}") from None
    added, removed = _apply(engine_for(settings_database_url), event, parsed)
    for repo in removed:
        forget_installation(repo)
    reason = f"installation {parsed.installation.id} {parsed.action}: added {added}, removed {removed}"
    log.info("%s: %s", event, reason)
    return reason
