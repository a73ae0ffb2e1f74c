"""GitHub App endpoints: the App (JWT auth) lists its installation and mints installation tokens.

- `GET /app`, `GET /app/installations`, `GET /app/installations/{id}`, `GET /repos/{o}/{r}/installation`
  and `POST /app/installations/{id}/access_tokens` need `Authorization: Bearer <JWT>`: RS256 signed by
  the App's key (checked against `AppIdentity.public_key` when set), `iss` the app id, not expired.
- Installation tokens (`ghs_...`) expire after `AppIdentity.token_ttl_seconds`.
- `GET /_sim/app/tokens`: every token minted (tests watch refreshes there).
- With `AppIdentity.enforce_tokens`, every other REST call must carry an unexpired minted token
  (`Authorization: token ghs_...`), else 401 Bad credentials, as GitHub answers an expired token.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from simulators.github.access import EVERY_TOKEN
from simulators.github.rest_common import GitHubError, get_repo, not_found
from simulators.github.simulator import Simulator


@dataclass
class AppIdentity:
    """The simulated App: who it is, how its JWTs are checked, how long its tokens live."""

    slug: str = "mender-app"
    public_key: str | None = None  # PEM; None: any well-formed, unexpired JWT with the right `iss`
    token_ttl_seconds: float = 3600.0
    enforce_tokens: bool = False
    minted: list[dict[str, Any]] = field(default_factory=list)
    expiry: dict[str, float] = field(default_factory=dict)  # token -> epoch seconds

    def valid_token(self, header: str) -> bool:
        token = header.split(" ", 1)[1] if " " in header else ""
        return self.expiry.get(token, 0.0) > time.time()

    def check(self, request: Request, app_id: int) -> None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise GitHubError(401, "A JSON web token could not be decoded")
        token = header.split(" ", 1)[1]
        try:
            if self.public_key:
                claims = jwt.decode(token, self.public_key, algorithms=["RS256"], leeway=60)
            else:
                claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise GitHubError(401, f"A JSON web token could not be decoded: {exc}") from None
        if str(claims.get("iss")) != str(app_id):
            raise GitHubError(401, "'Issuer' claim ('iss') must be the App's id")
        if float(claims.get("exp", 0)) < time.time() - 60:
            raise GitHubError(401, "'Expiration time' claim ('exp') is in the past")


def identity_of(sim: Simulator) -> AppIdentity:
    """The simulator's App identity (created on first use; tests may set its key and token lifetime)."""
    found = getattr(sim, "app_identity", None)
    if found is None:
        found = AppIdentity()
        sim.app_identity = found  # type: ignore[attr-defined]
    return found


def app_router(sim: Simulator) -> APIRouter:
    router = APIRouter()
    app = identity_of(sim)

    def ts(value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    def installation(base: str) -> dict[str, Any]:
        number = sim.config.installation_id
        return {
            "id": number,
            "app_id": sim.config.app_id,
            "app_slug": app.slug,
            "target_type": "Organization",
            "account": {"login": "acme", "id": 1, "type": "Organization"},
            "repository_selection": "all",
            "permissions": {
                name: level
                for name, level in {
                    "actions": "write",
                    "contents": "write",
                    "pull_requests": "write",
                    "checks": "write",
                    "issues": "write",
                    "metadata": "read",
                }.items()
                if name not in sim.state.access.lacks(EVERY_TOKEN)
            },
            "events": ["pull_request", "check_suite", "check_run", "status", "workflow_run", "issue_comment"],
            "access_tokens_url": f"{base}/app/installations/{number}/access_tokens",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }

    def base_of(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @router.get("/app")
    async def get_app(request: Request) -> dict[str, Any]:
        app.check(request, sim.config.app_id)
        return {
            "id": sim.config.app_id,
            "slug": app.slug,
            "name": app.slug,
            "owner": {"login": "acme", "id": 1},
        }

    @router.get("/app/installations")
    async def list_installations(request: Request) -> list[dict[str, Any]]:
        app.check(request, sim.config.app_id)
        return [installation(base_of(request))]

    @router.get("/app/installations/{number}")
    async def get_installation(number: int, request: Request) -> dict[str, Any]:
        app.check(request, sim.config.app_id)
        if number != sim.config.installation_id:
            raise not_found()
        return installation(base_of(request))

    @router.get("/repos/{owner}/{repo}/installation")
    async def repo_installation(owner: str, repo: str, request: Request) -> dict[str, Any]:
        app.check(request, sim.config.app_id)
        get_repo(sim, owner, repo)
        return installation(base_of(request))

    @router.post("/app/installations/{number}/access_tokens")
    async def access_token(number: int, request: Request) -> JSONResponse:
        app.check(request, sim.config.app_id)
        if number != sim.config.installation_id:
            raise not_found()
        expires = datetime.now(UTC) + timedelta(seconds=app.token_ttl_seconds)
        token = {"token": f"ghs_{secrets.token_urlsafe(27)}", "expires_at": ts(expires)}
        app.minted.append({**token, "installation_id": number})
        app.expiry[token["token"]] = time.time() + app.token_ttl_seconds
        body = {**token, "permissions": installation("")["permissions"], "repository_selection": "all"}
        return JSONResponse(body, status_code=201)

    @router.get("/_sim/app/tokens")
    async def minted() -> list[dict[str, Any]]:
        return list(app.minted)

    return router


def install_app_auth(app: FastAPI, sim: Simulator) -> None:
    """Mount the App routes, and the installation-token check of the other REST calls."""
    app.include_router(app_router(sim))
    identity = identity_of(sim)
    sim.state.access.issued = lambda token: identity.expiry.get(token, 0.0) > time.time()

    @app.middleware("http")
    async def installation_tokens(request: Request, call_next: Any) -> Response:
        path = request.url.path
        guarded = identity.enforce_tokens and not path.startswith(("/_sim", "/app"))
        guarded = guarded and not path.endswith("/installation")
        if guarded and not identity.valid_token(request.headers.get("authorization", "")):
            return GitHubError(401, "Bad credentials").response()
        return await call_next(request)
