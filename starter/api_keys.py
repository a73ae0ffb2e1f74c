"""Admin API key management (`/api/keys`, admin only): list, create, rotate, revoke.

A new or rotated key is shown once, in the answer; only its `sha256:` hash is stored (`store.api_keys`).
Rotation and revocation take effect at once, for keys created here and keys of `mender.yaml` alike.
Revoking the last active admin key is refused (409): nobody could manage keys afterwards. Every call
leaves its `api.call` audit row with the key's name and role (never the key).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from domain.shared.admin_config import ApiKey, Role
from starter.api_audit import AdminRoute, note
from starter.api_models import ErrorBody
from starter.auth import Principal, active_keys, authorize, generate_key, hash_key, needs
from store import api_keys
from store.db import engine_for

KeyName = Annotated[str, Path(pattern=r"^[\w.@-]+$", max_length=100, description="The key's name")]
Caller = Annotated[Principal, Depends(authorize)]

router = APIRouter(
    prefix="/api/keys",
    tags=["admin"],
    route_class=AdminRoute,
    dependencies=[Depends(authorize)],
    responses={code: {"model": ErrorBody} for code in (401, 403, 422)},
)


class KeyView(BaseModel):
    """An active key as listed: name and role, never the key or its hash."""

    name: str
    role: str


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[\w.@-]+$", max_length=100)
    role: Role = Role.READ


class IssuedKey(KeyView):
    """A key just created or rotated: `key` is shown this once."""

    key: str


def _engine(request: Request) -> Engine:
    return engine_for(request.app.state.settings.database_url)


async def _active(request: Request, name: str) -> ApiKey:
    found = [key for key in await active_keys(request) if key.name == name]
    if not found:
        raise HTTPException(404, f"no active key named {name!r}")
    return found[0]


@router.get("", summary="List active API keys", response_model=list[KeyView], openapi_extra=needs(Role.ADMIN))
async def list_keys(request: Request) -> list[KeyView]:
    """Names and roles of the active keys (configured and created through the API)."""
    return [KeyView(name=key.name, role=key.role) for key in await active_keys(request)]


@router.post(
    "",
    summary="Create an API key",
    status_code=201,
    response_model=IssuedKey,
    responses={400: {"model": ErrorBody}, 409: {"model": ErrorBody}},
    openapi_extra=needs(Role.ADMIN),
)
async def create_key(request: Request, caller: Caller, body: Annotated[NewKey, Body()]) -> IssuedKey:
    """A new key of the given role; the answer holds the key, shown only this once."""
    note(request, key_name=body.name, role=body.role.value)
    if any(key.name == body.name for key in await active_keys(request)):
        raise HTTPException(409, f"a key named {body.name!r} is active: rotate or revoke it first")
    key = generate_key()
    record = ApiKey(name=body.name, role=body.role.value, hash=hash_key(key))
    await run_in_threadpool(api_keys.create, _engine(request), record, f"api:{caller.name}")
    return IssuedKey(name=body.name, role=body.role.value, key=key)


@router.post(
    "/{name}/rotate",
    summary="Rotate an API key",
    response_model=IssuedKey,
    responses={404: {"model": ErrorBody}},
    openapi_extra=needs(Role.ADMIN),
)
async def rotate_key(request: Request, caller: Caller, name: KeyName) -> IssuedKey:
    """Replace the named key by a new one of the same role: the old key stops working at once."""
    old = await _active(request, name)
    note(request, key_name=name, role=old.role)
    key = generate_key()
    await run_in_threadpool(api_keys.rotate, _engine(request), old, hash_key(key), f"api:{caller.name}")
    return IssuedKey(name=name, role=old.role, key=key)


@router.delete(
    "/{name}",
    summary="Revoke an API key",
    response_model=KeyView,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
    openapi_extra=needs(Role.ADMIN),
)
async def revoke_key(request: Request, caller: Caller, name: KeyName) -> KeyView:
    """Revoke the named key: it stops working at once."""
    old = await _active(request, name)
    note(request, key_name=name, role=old.role)
    admins = [key for key in await active_keys(request) if key.role == Role.ADMIN]
    if old.role == Role.ADMIN and len(admins) <= 1:
        raise HTTPException(409, "refusing to revoke the last active admin key")
    await run_in_threadpool(api_keys.revoke, _engine(request), old, f"api:{caller.name}")
    return KeyView(name=name, role=old.role)
