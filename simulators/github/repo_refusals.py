"""Repositories GitHub refuses, one at a time: gone, forbidden, archived or rate-limited.

`POST /_sim/repos/refusal` `{"repo": "owner/name", "kind": "gone" | "forbidden" | "archived" |
"rate_limited" | null, "retry_after"?: seconds}` sets (or, with `null`, clears) how GitHub answers the
REST calls under `/repos/owner/name`, as GitHub does:
- `gone`: 404 `Not Found` to everything (deleted, renamed away, or invisible to the token);
- `forbidden`: 403 `Resource not accessible by integration` to everything;
- `archived`: reads answer (the repository says `"archived": true`), writes get 403
  `Repository was archived so is read-only.`;
- `rate_limited`: 429 with `Retry-After` (a secondary rate limit on this repository's installation).
Pure bookkeeping: `api.py` asks `refusal_for` before the route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("gone", "forbidden", "archived", "rate_limited")
_REPO_PATH = re.compile(r"^/repos/([^/]+/[^/]+)(?:/|$)")
ARCHIVED_MESSAGE = "Repository was archived so is read-only."


@dataclass(frozen=True)
class RepoRefusal:
    status: int
    message: str
    headers: dict[str, str]


class RepoRefusals:
    """Which repositories are refused, and how."""

    def __init__(self) -> None:
        self.kinds: dict[str, tuple[str, int]] = {}  # repo (lower case) -> (kind, retry_after)

    def set(self, repo: str, kind: str | None, retry_after: int = 60) -> None:
        if kind is None:
            self.kinds.pop(repo.lower(), None)
        elif kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} or null")
        else:
            self.kinds[repo.lower()] = (kind, max(1, retry_after))

    def archived(self, repo: str) -> bool:
        return self.kinds.get(repo.lower(), ("", 0))[0] == "archived"

    def refusal_for(self, method: str, path: str) -> RepoRefusal | None:
        found = _REPO_PATH.match(path)
        if found is None or not self.kinds:
            return None
        kind, retry_after = self.kinds.get(found.group(1).lower(), ("", 0))
        if kind == "gone":
            return RepoRefusal(404, "Not Found", {})
        if kind == "forbidden":
            return RepoRefusal(403, "Resource not accessible by integration", {})
        if kind == "archived" and method in ("POST", "PUT", "PATCH", "DELETE"):
            return RepoRefusal(403, ARCHIVED_MESSAGE, {})
        if kind == "rate_limited":
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
            )
            return RepoRefusal(429, message, {"Retry-After": str(retry_after)})
        return None
