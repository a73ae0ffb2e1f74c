"""Admin API keys: generation, `sha256:` hashes, and the bearer-token check of every `/api` call.

Keys are never stored: `mender.yaml` holds `sha256:<hex>` of each key. A presented key is hashed and
compared in constant time with every configured hash (no early exit). `read` keys may only GET.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from domain.shared.admin_config import ApiKey

KEY_PREFIX = "mender_"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANONYMOUS = "anonymous"  # actor of audit rows for calls without a key
UNKNOWN_KEY = "unknown-key"  # actor of audit rows for calls with a key that matches none

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An Admin API key (`mender api-key NAME`): `Authorization: Bearer <key>`.",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the configured key's name and role."""

    name: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role == "admin"


def generate_key() -> str:
    """A new random API key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The `sha256:<hex>` form of `key` that goes into `mender.yaml` under `api.keys`."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def authenticate(keys: list[ApiKey], presented: str | None) -> Principal | None:
    """The principal whose hash matches `presented`, or None; every hash is compared, in constant time."""
    if not presented:
        return None
    digest = hash_key(presented).encode()
    found: ApiKey | None = None
    for key in keys:
        if hmac.compare_digest(digest, key.hash.encode()):
            found = key
    return Principal(found.name, found.role) if found else None


def _refuse(status: int, reason: str) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status_code=status, detail=reason, headers=headers)


async def authorize(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Principal:
    """Router dependency: 401 without a known key, 403 when a read key calls a mutating endpoint."""
    if credentials is None:
        request.state.audit_actor = ANONYMOUS
        raise _refuse(401, "missing API key: send `Authorization: Bearer <key>` (set MENDER_API_KEY)")
    principal = authenticate(request.app.state.settings.config.api.keys, credentials.credentials)
    if principal is None:
        request.state.audit_actor = UNKNOWN_KEY
        raise _refuse(401, "unknown API key")
    request.state.audit_actor = principal.name
    request.state.principal = principal
    if request.method not in READ_METHODS and not principal.can_write:
        raise _refuse(403, f"key {principal.name!r} has role read: this endpoint needs an admin key")
    return principal
