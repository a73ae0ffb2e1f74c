"""GitLab's offset pagination and its 400s, shared by the simulator's REST routers."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from simulators.gitlab.model import GitLabError


def bad_request(message: str) -> GitLabError:
    return GitLabError(400, message)


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        raise bad_request(f"{name} is invalid") from None
    return max(low, min(value, high))


def paginate(request: Request, items: list[dict[str, Any]]) -> JSONResponse:
    """GitLab offset pagination: `page`, `per_page` (default 20, max 100) and its response headers."""
    page = _int(request, "page", 1, 1, 1_000_000)
    per_page = _int(request, "per_page", 20, 1, 100)
    total = len(items)
    pages = max(1, -(-total // per_page))
    next_page = page + 1 if page < pages else None
    prev_page = page - 1 if 1 < page <= pages + 1 else None

    def link(n: int, rel: str) -> str:
        return f'<{request.url.include_query_params(page=n, per_page=per_page)}>; rel="{rel}"'

    links = [link(n, rel) for n, rel in ((prev_page, "prev"), (next_page, "next")) if n is not None]
    links += [link(1, "first"), link(pages, "last")]
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(total),
        "X-Total-Pages": str(pages),
        "X-Next-Page": str(next_page or ""),
        "X-Prev-Page": str(prev_page or ""),
        "Link": ", ".join(links),
    }
    start = (page - 1) * per_page
    return JSONResponse(items[start : start + per_page], headers=headers)
