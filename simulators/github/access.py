"""Who may call the simulated API, and how often: tokens, permissions, primary and secondary rate limits.

Like GitHub: a request with a token the simulator was not given gets 401 `Bad credentials`; without a
token, reads are anonymous (their own small limit) and writes get 401 `Requires authentication`; a
token told it lacks a permission gets 403 `Resource not accessible by integration` with the permission
GitHub would want in `X-Accepted-GitHub-Permissions`. Each token has `limit` requests per hour
(`X-RateLimit-*` count down; exhausted: 403 `API rate limit exceeded`, `X-RateLimit-Remaining: 0`) and
at most `writes_per_minute` writes (beyond: a secondary rate limit with `Retry-After`, answered 429 or,
as GitHub also does, 403: `secondary_statuses`, taken in turn). With `points_per_minute` (GitHub
publishes 900 for REST: a GET costs 1 point, a write 5), requests beyond that many points a minute get
the same secondary-limit answer with `Retry-After`; not enforced unless configured. A 304 for a
conditional request costs nothing against the hourly limit (see `api.py`); GitHub does not say it is
free of points, so it costs its point here. Pure bookkeeping: no I/O, the clock is passed in.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

DOCS_AUTH = "https://docs.github.com/rest"
DOCS_LIMITS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
ANONYMOUS = ""
EVERY_TOKEN = "*"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WRITE_POINTS = 5  # a write's cost against the points a minute (a GET, HEAD or OPTIONS: 1)
_REPO = r"^/repos/[^/]+/[^/]+"
# (pattern, permission): the first that matches a write names the permission it needs (GitHub App names).
WRITE_PERMISSIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(_REPO + pattern), permission)
    for pattern, permission in (
        (r"/pulls/\d+/(merge|update-branch)$", "contents"),
        (r"/pulls", "pull_requests"),
        (r"/(contents|git)/", "contents"),
        (r"/actions/", "actions"),
        (r"/check-(suites|runs)", "checks"),
        (r"/statuses/", "statuses"),
        (r"/issues", "issues"),
    )
)


@dataclass
class AccessConfig:
    """`tokens`: accepted tokens (default: Mender's dev token); `denied`: token -> permissions it lacks
    (`EVERY_TOKEN`: lacked by every token, the App's installation tokens included)."""

    tokens: tuple[str, ...] = ("simulator-token",)
    denied: dict[str, frozenset[str]] = field(default_factory=dict)
    limit: int = 5000  # requests per hour per token
    anonymous_limit: int = 60  # requests per hour without a token
    writes_per_minute: int = 80  # GitHub's secondary limit on content-creating requests
    write_window_seconds: float = 60.0  # the "minute" of that limit (shorter in tests)
    secondary_statuses: tuple[int, ...] = (429,)  # GitHub answers a secondary limit 429 or 403: in turn
    points_per_minute: int | None = None  # GitHub's secondary limit on REST points (900); None: off
    point_window_seconds: float = 60.0

    def __post_init__(self) -> None:
        if not self.secondary_statuses or set(self.secondary_statuses) - {403, 429}:
            raise ValueError(f"secondary_statuses must be 403s and 429s, not {self.secondary_statuses}")


@dataclass
class Refusal:
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    documentation_url: str = DOCS_AUTH


@dataclass
class Quota:
    limit: int
    used: int = 0
    reset: int = 0  # epoch seconds when `used` goes back to 0
    writes: deque[float] = field(default_factory=deque)  # times of the writes of the last minute
    points: deque[tuple[float, int]] = field(default_factory=deque)  # (time, points) of the last minute

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Resource": "core",
        }


def token_of(authorization: str | None) -> str | None:
    """The token of an `Authorization: token X` / `Bearer X` header; None without one; any other
    scheme (`Basic ...`) comes back whole, so it is an unknown token (401 `Bad credentials`)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() if scheme.lower() in ("token", "bearer") and value.strip() else authorization


def permission_for(method: str, path: str) -> str | None:
    if method not in WRITES:
        return None
    return next((perm for pattern, perm in WRITE_PERMISSIONS if pattern.match(path)), None)


class Access:
    def __init__(self, config: AccessConfig | None = None) -> None:
        self.config = config or AccessConfig()
        self.quotas: dict[str, Quota] = {}
        self.secondary_refused = 0  # secondary-limit refusals so far (picks the next status)
        self.issued: Callable[[str], bool] | None = None  # tokens minted at run time (App installations)

    def configure(self, config: AccessConfig) -> None:
        self.config, self.quotas, self.secondary_refused = config, {}, 0

    def quota(self, token: str, now: float) -> Quota:
        limit = self.config.anonymous_limit if token == ANONYMOUS else self.config.limit
        quota = self.quotas.setdefault(token, Quota(limit, reset=int(now) + 3600))
        quota.limit = limit
        if now >= quota.reset:
            quota.used, quota.reset = 0, int(now) + 3600
        return quota

    def authenticate(self, method: str, path: str, authorization: str | None) -> tuple[str, Refusal | None]:
        """(the caller's token or ANONYMOUS, a refusal or None)."""
        token = token_of(authorization)
        if token is None:
            if method in WRITES:
                return ANONYMOUS, Refusal(401, "Requires authentication")
            return ANONYMOUS, None
        if token not in self.config.tokens and not (self.issued and self.issued(token)):
            return token, Refusal(401, "Bad credentials")
        needed = permission_for(method, path)
        if needed is not None and needed in self.lacks(token):
            return token, Refusal(
                403,
                "Resource not accessible by integration",
                {"X-Accepted-GitHub-Permissions": f"{needed}=write"},
            )
        return token, None

    def lacks(self, token: str) -> frozenset[str]:
        denied = self.config.denied
        return denied.get(token, frozenset()) | denied.get(EVERY_TOKEN, frozenset())

    def role(self, token: str) -> dict[str, bool]:
        """A repository's `permissions` flags for `token`: GitHub's write role covers contents and pull
        requests, so a token lacking either cannot push; lacking issues too, it cannot triage."""
        lacks = self.lacks(token)
        push = not lacks & {"contents", "pull_requests"}
        triage = push or "issues" not in lacks
        return {"admin": False, "maintain": False, "push": push, "triage": triage, "pull": True}

    def over_limit(self, token: str, method: str, now: float) -> Refusal | None:
        """The rate-limit refusal for one more request of `token`, or None (nothing is counted here)."""
        quota = self.quota(token, now)
        if quota.used >= quota.limit:
            return Refusal(
                403,
                f"API rate limit exceeded for {'your IP' if token == ANONYMOUS else 'this token'}.",
                {},
                DOCS_LIMITS,
            )
        if (refusal := self._over_points(quota, method, now)) is not None:
            return refusal
        if method in WRITES:
            window = self.config.write_window_seconds
            while quota.writes and now - quota.writes[0] >= window:
                quota.writes.popleft()
            if len(quota.writes) >= self.config.writes_per_minute:
                return self._secondary(max(1, int(window - (now - quota.writes[0])) + 1))
        return None

    def _over_points(self, quota: Quota, method: str, now: float) -> Refusal | None:
        limit, window = self.config.points_per_minute, self.config.point_window_seconds
        if limit is None:
            return None
        while quota.points and now - quota.points[0][0] >= window:
            quota.points.popleft()
        if sum(p for _, p in quota.points) + (WRITE_POINTS if method in WRITES else 1) <= limit:
            return None
        return self._secondary(max(1, int(window - (now - quota.points[0][0])) + 1))

    def _secondary(self, retry: int) -> Refusal:
        statuses = self.config.secondary_statuses
        self.secondary_refused += 1
        return Refusal(
            statuses[(self.secondary_refused - 1) % len(statuses)],
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            {"Retry-After": str(retry)},
            DOCS_LIMITS,
        )

    def count(self, token: str, method: str, now: float, not_modified: bool = False) -> Quota:
        """Count one answered request of `token`: its points, and against the hourly limit unless it was
        a 304 to a conditional request."""
        quota = self.quota(token, now)
        quota.used += not not_modified
        if method in WRITES:
            quota.writes.append(now)
        if self.config.points_per_minute is not None:
            quota.points.append((now, WRITE_POINTS if method in WRITES else 1))
        return quota
