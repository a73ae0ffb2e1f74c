"""Recently accepted deliveries, in memory: a redelivery is answered at once, with no database read.

Correctness does not depend on it: every event carries the idempotency key of its fact, so a workflow
ignores a fact it has seen, whichever starter process or delivery brought it. This only spares the
work, per process, for the last `capacity` deliveries.
"""

from __future__ import annotations

from collections import OrderedDict


class RecentDeliveries:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._seen

    def add(self, key: str) -> None:
        self._seen[key] = None
        self._seen.move_to_end(key)
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
