"""The loop a thin workflow runs over its decider's effects (CI failure, fix PR)."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar


class FeedsBack(Protocol):
    @property
    def feeds_back(self) -> bool: ...


E = TypeVar("E", bound=FeedsBack)


async def carry_out(
    effects: Sequence[E],
    perform: Callable[[E], Awaitable[Any]],
    resume: Callable[[E, Any], Sequence[E]],
) -> None:
    """Run effects in order; a result that feeds back gives the next effects (`resume`), run first."""
    queue = deque(effects)
    while queue:
        effect = queue.popleft()
        result = await perform(effect)
        if effect.feeds_back:
            queue.extendleft(reversed(resume(effect, result)))
