"""Collaborator permissions: `GET /repos/{o}/{r}/collaborators/{user}/permission` and a control route.

Like GitHub for a public repository, every login gets an answer: `admin` for the simulator's admins
(default `octocat` and `alice`), `read` for everyone else, unless set otherwise with
`PUT /_sim/collaborators/{login}` body `{"permission": "write", "repo": "acme/api"}` (`repo` optional:
without it the permission holds in every repository). Only an unknown repository answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from simulators.github.rest_common import get_repo, read_object
from simulators.github.simulator import Simulator

REPO = "/repos/{owner}/{repo}"
DEFAULT_ADMINS = frozenset({"octocat", "alice"})
LEVELS = ("admin", "maintain", "write", "triage", "read", "none")
# The legacy `permission` field folds maintain into write and triage into read, as GitHub does.
LEGACY = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}
RIGHTS = ("pull", "triage", "push", "maintain", "admin")
RANK = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}


@dataclass
class Collaborators:
    """Per-simulator permissions: explicit (repo or None, login) entries over the default admins."""

    admins: frozenset[str] = DEFAULT_ADMINS
    levels: dict[tuple[str | None, str], str] = field(default_factory=dict)

    def level(self, repo: str, login: str) -> str:
        found = self.levels.get((repo, login)) or self.levels.get((None, login))
        return found or ("admin" if login in self.admins else "read")

    def set(self, login: str, level: str, repo: str | None = None) -> None:
        if level not in LEVELS:
            raise ValueError(f"permission must be one of {', '.join(LEVELS)}")
        self.levels[(repo, login)] = level


_registry: WeakKeyDictionary[Simulator, Collaborators] = WeakKeyDictionary()


def collaborators_of(sim: Simulator) -> Collaborators:
    """The permissions table of `sim` (tests may change it directly)."""
    return _registry.setdefault(sim, Collaborators())


def collaborators_router(sim: Simulator) -> APIRouter:
    router = APIRouter()
    table = collaborators_of(sim)

    @router.get(REPO + "/collaborators/{username}/permission")
    async def permission(owner: str, repo: str, username: str) -> dict[str, Any]:
        found = get_repo(sim, owner, repo)
        level = table.level(found.full_name, username)
        user = {
            **sim.render.user(sim.world.user(username)),
            "permissions": {right: RANK[level] >= RANK[_min(right)] for right in RIGHTS},
            "role_name": level,
        }
        return {"permission": LEGACY[level], "role_name": level, "user": user}

    @router.put("/_sim/collaborators/{username}")
    async def set_permission(username: str, request: Request) -> Response:
        body = await read_object(request)
        repo = body.get("repo")
        try:
            table.set(username, str(body.get("permission")), repo if isinstance(repo, str) else None)
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=422)
        return JSONResponse({"login": username, "permission": body.get("permission"), "repo": repo})

    return router


def _min(right: str) -> str:
    """The lowest role that has `right`."""
    return {"pull": "read", "triage": "triage", "push": "write", "maintain": "maintain", "admin": "admin"}[
        right
    ]
