"""Shared pieces of the REST routes: GitHub-style errors, JSON bodies, pagination with Link headers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse

from simulators.github.model import PullRequest, Repo
from simulators.github.simulator import Simulator

DOCS = "https://docs.github.com/rest"


class GitHubError(Exception):
    """Raised by routes; rendered as GitHub renders errors: `{"message", "documentation_url"}`."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "message": self.message,
            "documentation_url": DOCS,
            "status": str(self.status),
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return JSONResponse(body, status_code=self.status)


def not_found() -> GitHubError:
    return GitHubError(404, "Not Found")


def created(data: dict[str, Any]) -> JSONResponse:
    """201 with the new resource, and its API URL in `Location` like GitHub."""
    return JSONResponse(data, status_code=201, headers={"Location": data["url"]})


def invalid(summary: str = "Validation Failed", /, **error: Any) -> GitHubError:
    """422 like GitHub: `summary` as the message plus one entry in `errors` (resource, field, code, message)."""
    return GitHubError(422, summary, [error] if error else None)


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise GitHubError(400, "Problems parsing JSON") from None


async def read_object(request: Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise GitHubError(400, "Problems parsing JSON")
    return data


def get_repo(sim: Simulator, owner: str, repo: str) -> Repo:
    found = sim.world.repos.get(f"{owner}/{repo}")
    if found is None:
        raise not_found()
    return found


def get_pr(sim: Simulator, owner: str, repo: str, number: int) -> PullRequest:
    pr = get_repo(sim, owner, repo).pulls.get(number)
    if pr is None:
        raise not_found()
    return pr


def resolve_sha(sim: Simulator, repo: Repo, ref: str) -> str:
    sha = sim.world.resolve(repo, ref)
    if sha is None:
        raise GitHubError(422, f"No commit found for SHA: {ref}")
    return sha


def paginate(
    request: Request,
    items: list[Any],
    list_key: str | None = None,
    render: Callable[[Any], Any] | None = None,
    **extra: Any,
) -> JSONResponse:
    """One page of `items` (query `per_page` up to 100, `page` from 1) with GitHub's `Link` header.

    With `list_key` the body is `{"total_count": n, list_key: [...], **extra}` as for check suites.
    `render`, if given, turns each item of the page (only) into JSON.
    """
    try:
        per_page = max(1, min(100, int(request.query_params.get("per_page", 30))))
        page = max(1, int(request.query_params.get("page", 1)))
    except ValueError:
        raise invalid("Invalid pagination parameters") from None
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    if render is not None:
        chunk = [render(item) for item in chunk]
    body: Any = {"total_count": len(items), list_key: chunk, **extra} if list_key else chunk
    response = JSONResponse(body)
    base = str(request.url).split("?", 1)[0]
    params = dict(request.query_params)

    def link(number: int, rel: str) -> str:
        return f'<{base}?{urlencode({**params, "per_page": per_page, "page": number})}>; rel="{rel}"'

    links = []
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links = [link(1, "first"), link(page - 1, "prev"), *links]
    if links:
        response.headers["Link"] = ", ".join(links)
    return response
