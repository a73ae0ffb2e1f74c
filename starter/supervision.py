"""Restart policy of `mender up`: a crashed worker or starter comes back, with exponential backoff.

A child that exits on its own is started again after `first_delay` seconds, doubling on each crash in a
row up to `max_delay`; a child that ran for `stable_after` seconds before it crashed starts over at
`first_delay`. Pure bookkeeping: the caller owns the processes and passes the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RESTARTED = frozenset({"worker", "starter"})  # the others (Temporal, simulators) stop the stack


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 60.0


@dataclass
class Restarts:
    """When each crashed child may start again, and how often it crashed in a row."""

    policy: RestartPolicy = field(default_factory=RestartPolicy)
    in_a_row: dict[str, int] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)  # name -> monotonic time of the next start

    def crashed(self, name: str, ran_for: float, now: float) -> float:
        """Record a crash of `name` after `ran_for` seconds; returns the delay before its restart."""
        streak = 0 if ran_for >= self.policy.stable_after else self.in_a_row.get(name, 0)
        delay = min(self.policy.max_delay, self.policy.first_delay * 2**streak)
        self.in_a_row[name] = streak + 1
        self.due[name] = now + delay
        return delay

    def ready(self, now: float) -> list[str]:
        """The children whose backoff is over (each returned once)."""
        names = [name for name, at in self.due.items() if at <= now]
        for name in names:
            del self.due[name]
        return names

    def waiting(self, name: str) -> bool:
        return name in self.due
