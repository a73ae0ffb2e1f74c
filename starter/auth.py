"""Admin API keys: generation, `sha256:` hashes, and the bearer-token and role check of every `/api` call.

Keys are never stored: `mender.yaml` (`api.keys`) and the `api_key` table hold `sha256:<hex>` of each key.
A presented key is hashed and compared in constant time with every active hash (no early exit); keys
revoked through the API (`store.api_keys`) no longer match. Each endpoint needs a role
(`domain.shared.admin_config.Role`: read < operate < admin), declared with `needs(role)` in its route's
`openapi_extra` (default: read for GET, admin otherwise); 401 without an active key, 403 with too low a role.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from domain.shared.admin_config import ApiKey, Role, role_allows
from store import api_keys
from store.db import engine_for

KEY_PREFIX = "mender_"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLE_FIELD = "x-mender-role"  # in a route's openapi_extra: the role the endpoint needs
ANONYMOUS = "anonymous"  # actor of audit rows for calls without a key
UNKNOWN_KEY = "unknown-key"  # actor of audit rows for calls with a key that matches none

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An Admin API key (`mender api-key NAME`): `Authorization: Bearer <key>`.",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name and role."""

    name: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role == Role.ADMIN

    def may(self, needed: str) -> bool:
        return role_allows(self.role, needed)


def generate_key() -> str:
    """A new random API key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The `sha256:<hex>` form of `key` that goes into `mender.yaml` under `api.keys`."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def authenticate(keys: list[ApiKey], presented: str | None) -> Principal | None:
    """The principal whose hash matches `presented`, or None; every hash is compared, in constant time."""
    found = matching_key(keys, presented)
    return Principal(found.name, found.role) if found else None


def matching_key(keys: list[ApiKey], presented: str | None) -> ApiKey | None:
    """The key whose hash matches `presented`, or None (constant time over all keys)."""
    if not presented:
        return None
    digest = hash_key(presented).encode()
    found: ApiKey | None = None
    for key in keys:
        if hmac.compare_digest(digest, key.hash.encode()):
            found = key
    return found


def needs(role: Role) -> dict[str, Any]:
    """`openapi_extra` of a route that needs `role` (shown in the OpenAPI document too)."""
    return {ROLE_FIELD: role.value}


def needed_role(method: str, openapi_extra: dict[str, Any] | None) -> str:
    """The role a route needs: its declared one, else read for GET and admin for anything else."""
    declared = (openapi_extra or {}).get(ROLE_FIELD)
    return declared or (Role.READ.value if method in READ_METHODS else Role.ADMIN.value)


async def active_keys(request: Request) -> list[ApiKey]:
    """The configured keys not revoked, and the keys created through the API."""
    settings = request.app.state.settings
    engine = engine_for(settings.database_url)
    return await run_in_threadpool(api_keys.active_keys, engine, list(settings.config.api.keys))


def _refuse(status: int, reason: str) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status_code=status, detail=reason, headers=headers)


async def check(request: Request, credentials: HTTPAuthorizationCredentials | None, needed: str) -> Principal:
    """401 without an active key, 403 when its role is below `needed`; the principal otherwise."""
    if credentials is None:
        request.state.audit_actor = ANONYMOUS
        raise _refuse(401, "missing API key: send `Authorization: Bearer <key>` (set MENDER_API_KEY)")
    principal = authenticate(await active_keys(request), credentials.credentials)
    if principal is None:
        request.state.audit_actor = UNKNOWN_KEY
        raise _refuse(401, "unknown API key")
    request.state.audit_actor = principal.name
    request.state.principal = principal
    if not principal.may(needed):
        raise _refuse(
            403, f"key {principal.name!r} has role {principal.role}: this endpoint needs an {needed} key"
        )
    return principal


async def authorize(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Principal:
    """Router dependency: the principal the route class checked, or a check by the method's default role."""
    checked = getattr(request.state, "principal", None)
    if checked is not None:
        return checked
    route = request.scope.get("route")
    return await check(
        request, credentials, needed_role(request.method, getattr(route, "openapi_extra", None))
    )
