"""Writes paced under GitHub's secondary limit: content-creating requests (POST, PUT, PATCH, DELETE) of one
credential take turns, at most `github.writes_per_minute` (GitHub: 80) in any `WINDOW`, in the order they
asked, instead of a burst that GitHub answers 429 for a minute (and every write behind it retried).

A write within the limit goes at once. Beyond it, its turn is when the write `writes_per_minute` before
it leaves the window. A turn within `LONGEST_INLINE_WAIT` is waited for in the activity (its slot held
that long at most); a later one is kept for the activity (by workflow and activity id, across attempts)
and the activity is retried at it, its slot free meanwhile (`Held`, which the gate raises as a 429 with
`Retry-After`: one retry path for every rate limit). Outside an activity the call waits for its turn.
A remediation takes its turn before it reads GitHub (`reserve`): a far turn costs no reads now, and
the reads it does at its turn are current. Per worker process: processes sharing a credential share
GitHub's limit, so each gets its part.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable

from temporalio import activity

WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WINDOW = 62.0  # GitHub's minute, and 2 s for writes that reach GitHub later than they were sent
LONGEST_INLINE_WAIT = 5.0  # seconds a write waits for its turn inside the activity
TURN_KEPT = 120.0  # seconds after it came that a kept turn is given up (its activity was cancelled)


class Held(Exception):
    """This write's turn is `seconds` away: retry the activity then (the turn is kept for it)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"{seconds:.1f}s to this write's turn")
        self.seconds = seconds


class WritePacer:
    """Per credential: the times of its last writes (and turns given), and the turns kept for activities."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, window: float = WINDOW) -> None:
        self._clock = clock
        self._window = window
        self._lock = threading.Lock()
        self._turns: dict[str, list[float]] = {}  # sorted; the last `per_minute` only
        self._kept: dict[tuple[str, str], float] = {}

    def turn(self, who: str, per_minute: int, holder: str | None = None) -> float:
        """When this write may go: the turn kept for `holder`, else the next one (taken now)."""
        with self._lock:
            now = self._clock()
            self._kept = {k: at for k, at in self._kept.items() if at + TURN_KEPT > now}
            if holder is not None and (kept := self._kept.pop((who, holder), None)) is not None:
                return kept
            turns = self._turns.setdefault(who, [])
            at = now if len(turns) < per_minute else max(now, turns[-per_minute] + self._window)
            bisect.insort(turns, at)
            del turns[:-per_minute]
            return at

    def keep(self, who: str, holder: str, at: float) -> None:
        with self._lock:
            self._kept[(who, holder)] = at

    def sent(self, who: str, at: float) -> None:
        """The write given turn `at` goes now: counted from now (a late retry is later in the window)."""
        with self._lock:
            now, turns = self._clock(), self._turns.setdefault(who, [])
            if now <= at:
                return
            i = bisect.bisect_left(turns, at)
            if i < len(turns) and turns[i] == at:
                del turns[i]
            bisect.insort(turns, now)

    def reserve(self, who: str, per_minute: int, holder: str) -> None:
        """Take `holder`'s turn ahead of its write (it waits for a near one, `Held` for a far one); the
        write then finds it kept and goes at once."""
        at = self.turn(who, per_minute, holder)
        self.keep(who, holder, at)
        wait = at - self._clock()
        if wait > LONGEST_INLINE_WAIT:
            raise Held(wait)
        if wait > 0:
            time.sleep(wait)

    def wait_turn(self, who: str, per_minute: int, holder: str | None) -> None:
        """Sleep until this write's turn; raise `Held` when it is further than the inline wait."""
        at = self.turn(who, per_minute, holder)
        wait = at - self._clock()
        if wait > LONGEST_INLINE_WAIT and holder is not None:
            self.keep(who, holder, at)
            raise Held(wait)
        if wait > 0:
            time.sleep(wait)
        self.sent(who, at)

    def clear(self) -> None:
        with self._lock:
            self._turns.clear()
            self._kept.clear()


PACER = WritePacer()


def holder() -> str | None:
    """The running activity (its turn outlives a retry), or None outside one."""
    if not activity.in_activity():
        return None
    info = activity.info()
    return f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"


def retry_after(held: Held) -> str:
    return str(max(1, math.ceil(held.seconds)))
