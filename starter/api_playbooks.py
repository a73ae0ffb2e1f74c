"""Admin API for playbooks: success history, learned fixes, their export as playbook YAML, disabling one.

Reads need a read key; disabling a learned fix needs an admin key (it changes what Mender does).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel

from domain.shared.admin_config import Role
from starter import playbook_views
from starter.api_audit import AdminRoute, note
from starter.api_common import app_settings, error_responses, in_store
from starter.auth import authorize, needs
from store.db import engine_for

router = APIRouter(
    prefix="/api",
    tags=["playbooks"],
    route_class=AdminRoute,
    dependencies=[Depends(authorize)],
    responses=error_responses(401, 422, 503),
)
FixId = Annotated[int, Path(gt=0, le=2_147_483_647, description="Learned fix id")]


class ExportedPlaybook(BaseModel):
    id: int
    yaml: str


async def _call(request: Request, fn, *args):  # type: ignore[no-untyped-def]
    settings = app_settings(request)
    return await in_store(fn, engine_for(settings.database_url), settings.config.ci, *args)


@router.get(
    "/playbooks",
    summary="Playbooks and their success history",
    response_model=list[playbook_views.PlaybookView],
)
async def list_playbooks(request: Request) -> list[playbook_views.PlaybookView]:
    """Every playbook (built-in rules and learned fixes): attempts, fixes verified, reverts and the success
    rate (null until `ci.learning.min_samples` attempts), most attempted first."""
    return await _call(request, playbook_views.playbooks)


@router.get("/playbooks/learned", summary="Learned fixes", response_model=list[playbook_views.LearnedView])
async def list_learned(request: Request) -> list[playbook_views.LearnedView]:
    """Every version of every learned fix: signature, edits, successes and whether it is promoted."""
    return await _call(request, playbook_views.learned)


@router.get(
    "/playbooks/learned/{fix_id}/export",
    summary="A learned fix as playbook YAML",
    response_model=ExportedPlaybook,
    responses=error_responses(404),
)
async def export_learned(request: Request, fix_id: FixId) -> ExportedPlaybook:
    """The learned fix as a playbook file, for review in Git."""
    text = await _call(request, playbook_views.exported, fix_id)
    if text is None:
        raise HTTPException(404, f"learned fix {fix_id}: not found")
    return ExportedPlaybook(id=fix_id, yaml=text)


@router.post(
    "/playbooks/learned/{fix_id}/disable",
    summary="Disable a learned fix",
    response_model=playbook_views.LearnedView,
    responses=error_responses(403, 404),
    openapi_extra=needs(Role.ADMIN),
)
async def disable_learned(request: Request, fix_id: FixId) -> playbook_views.LearnedView:
    """Never replay this learned fix again (its history stays)."""
    view = await _call(request, playbook_views.disable, fix_id)
    if view is None:
        raise HTTPException(404, f"learned fix {fix_id}: not found")
    note(request, learned_fix=fix_id)
    return view
