"""GitHub's rate limits honoured by every GitHub call of the worker process: one "not before" time per
credential, set from the answer that said so (`Retry-After` of a secondary limit, `X-RateLimit-Reset`
of an exhausted primary limit) and consulted before every request PyGithub sends.

A secondary limit answered to a write (GitHub's limit on content-creating requests) holds the
credential's writes only: its reads, which that limit does not count, go on (the staleness checks keep
their time while remediations wait). Writes are also paced under that limit before they are sent
(`activities/github_pacing.py`), so a single worker process is not expected to meet it.

A request inside the window is not sent: it raises PyGithub's `RateLimitExceededException` (status 429,
`Retry-After`: the seconds left), as GitHub would have answered, so every caller handles one kind of
error and `activities.github.github_errors` makes it a Temporal retry after exactly that delay.
A rate-limited answer raises too, even to PyGithub calls that do not check the status
(`PullRequest.update_branch` returns False on any refusal): a limit is never taken for a refusal.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from github.GithubException import GithubException, RateLimitExceededException

from activities.github_pacing import PACER, WRITE_VERBS, Held, holder, retry_after

DEFAULT_WAIT = 60.0  # seconds: a limit that names no time (GitHub advises at least a minute)
LONGEST_WAIT = 3600.0


def _message(data: Any) -> str:
    return str(data.get("message", "")) if isinstance(data, dict) else ""


def rate_limit_delay(status: int, headers: Mapping[str, Any] | None, message: str = "") -> float | None:
    """Seconds to wait when an answer is a primary or secondary rate limit (403/429), else None."""
    headers = {k.lower(): str(v) for k, v in (headers or {}).items()}
    limited = status == 429 or (
        status == 403
        and (
            headers.get("x-ratelimit-remaining") == "0"
            or "retry-after" in headers
            or "rate limit" in message.lower()
        )
    )
    if not limited:
        return None
    try:
        return min(LONGEST_WAIT, max(1.0, float(headers["retry-after"])))
    except (KeyError, ValueError):
        pass
    try:
        return min(
            LONGEST_WAIT, max(1.0, float(headers["x-ratelimit-reset"]) - datetime.now(UTC).timestamp())
        )
    except (KeyError, ValueError):
        return DEFAULT_WAIT


def exception_delay(exc: GithubException) -> float | None:
    """`rate_limit_delay` of a PyGithub error."""
    return rate_limit_delay(exc.status, exc.headers, _message(exc.data))


class HeldByRateGate(RateLimitExceededException):
    """A request the gate did not send: the credential's rate-limit window was open (GitHub never saw it,
    so no repository is to blame for it)."""


class RateGate:
    """Per credential: the monotonic time before which no request goes out, and no write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}
        self._writes_until: dict[str, float] = {}

    def left(self, who: str, write: bool = False) -> float:
        with self._lock:
            until = self._until.get(who, 0.0)
            if write:
                until = max(until, self._writes_until.get(who, 0.0))
            return until - time.monotonic()

    def hold(self, who: str, seconds: float, writes_only: bool = False) -> None:
        """No request (or no write) of `who` for `seconds` from now (a later limit known is kept)."""
        held = self._writes_until if writes_only else self._until
        with self._lock:
            held[who] = max(held.get(who, 0.0), time.monotonic() + seconds)

    def clear(self) -> None:
        """Forget every window and every write's turn (`github_pacing`)."""
        with self._lock:
            self._until.clear()
            self._writes_until.clear()
        PACER.clear()


GATE = RateGate()


def _wait_out_window(who: str, write: bool, before: str) -> None:
    """Raise, without sending, when `who` (or, for a write, its writes) is inside a rate-limit window."""
    left = GATE.left(who, write)
    if left > 0:
        wait = str(math.ceil(left))
        raise HeldByRateGate(
            429,
            {"message": f"waiting out GitHub's rate limit ({wait}s left) before {before}"},
            {"retry-after": wait},
        )


def _paced(held: Held, suffix: str = "") -> HeldByRateGate:
    return HeldByRateGate(
        429, {"message": f"pacing GitHub writes ({held}){suffix}"}, {"retry-after": retry_after(held)}
    )


def before_request(who: str, verb: str, url: str, writes_per_minute: int | None = None) -> None:
    """Raise, without sending, when `who` is inside a rate-limit window (for a write: or its turn is
    not near, `github_pacing`); a write paced at `writes_per_minute` waits for a near turn."""
    write = verb.upper() in WRITE_VERBS
    _wait_out_window(who, write, f"{verb} {url}")
    if write and writes_per_minute:
        try:
            PACER.wait_turn(who, writes_per_minute, holder())
        except Held as held:
            raise _paced(held, f" before {verb} {url}") from None


def before_writing(who: str, writes_per_minute: int | None) -> None:
    """An activity about to write takes its turn first (`github_pacing.WritePacer.reserve`): raise,
    before any read, when writes are held or the turn is far (kept for the retry)."""
    _wait_out_window(who, True, "writing")
    if writes_per_minute and (me := holder()) is not None:
        try:
            PACER.reserve(who, writes_per_minute, me)
        except Held as held:
            raise _paced(held) from None


def after_response(who: str, status: int, headers: Mapping[str, Any], body: Any, verb: str = "GET") -> None:
    """Open the window a rate-limited answer names (and raise it): a secondary limit answered to a write
    holds writes only; an answer that used the last request of the primary limit opens it until the
    reset."""
    data: Any = None
    if status in (403, 429) and isinstance(body, str):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
    delay = rate_limit_delay(status, headers, _message(data))
    lower = {k.lower(): str(v) for k, v in headers.items()}
    if delay is not None:
        secondary = lower.get("x-ratelimit-remaining") != "0"
        GATE.hold(who, delay, writes_only=secondary and verb.upper() in WRITE_VERBS)
        raise RateLimitExceededException(status, data, dict(headers))
    if 200 <= status < 400 and lower.get("x-ratelimit-remaining") == "0":
        reset = rate_limit_delay(403, {"x-ratelimit-reset": lower.get("x-ratelimit-reset", "")}, "rate limit")
        GATE.hold(who, reset or DEFAULT_WAIT)
