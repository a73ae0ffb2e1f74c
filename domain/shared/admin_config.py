"""The `commands:`, `api:` and `audit:` sections of `mender.yaml`: who may steer PRs, and the audit trail."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field, field_validator

from domain.shared.models import Strict

_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


class CommandsConfig(Strict):
    """Who may command Mender from a PR comment.

    A commenter is permitted when listed in `allowed_users`, or (with `allow_repo_writers`) when GitHub
    says they have write, maintain or admin permission on the repository.
    """

    allowed_users: list[str] = Field(default_factory=list)
    allow_repo_writers: bool = True


class Role(StrEnum):
    """What an Admin API key may do; each role may do what the roles before it may."""

    READ = "read"  # look: PRs, breaker state, the audit trail
    OPERATE = "operate"  # act on PRs within the policy: commands, a reconciler sweep
    ADMIN = "admin"  # override safety and manage keys: breaker reset, key creation, rotation, revocation


_RANK = {role: rank for rank, role in enumerate(Role)}


def role_allows(held: str, needed: str) -> bool:
    """True when a key of role `held` may call an endpoint that needs `needed`."""
    return held in _RANK and _RANK[Role(held)] >= _RANK[Role(needed)]


class ApiKey(Strict):
    """One Admin API key, stored as `sha256:<hex digest>` of the key (never the key itself)."""

    name: str = Field(min_length=1, max_length=100)
    hash: str
    role: str = Field("admin", pattern=r"^(admin|operate|read)$")

    @field_validator("hash")
    @classmethod
    def _is_hash(cls, value: str) -> str:
        if not _SHA256.match(value):
            raise ValueError("must be 'sha256:' followed by 64 lowercase hex digits (see `mender api-key`)")
        return value


class ApiConfig(Strict):
    """Admin API authentication."""

    keys: list[ApiKey] = Field(default_factory=list)


class AuditConfig(Strict):
    """Audit trail retention: rows older than `retention_days` are archived (JSON lines) or deleted."""

    retention_days: int = Field(90, ge=1)
    archive_dir: str | None = "data/audit-archive"  # null: delete without archiving
    sweep_interval_seconds: float = Field(24 * 3600.0, ge=1)
