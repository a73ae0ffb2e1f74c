"""The loop a thin workflow runs over its decider's effects (CI failure, fix PR), and its waits."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from typing import Any, Protocol, TypeVar

from temporalio import workflow

# Signals that are not news (duplicate deliveries, repeated nudges, late answers) wake a wait once the
# history reached its budget, so the workflow continues as new (runs from before waited for news).
HISTORY_BUDGET_PATCH = "ci-history-budget"


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


class Woke(Enum):
    NEWS = "news"  # what the wait waits for arrived
    TIMER = "timer"  # the wait's timer fired
    HISTORY_FULL = "history full"  # the history reached its budget: continue as new


def history_full(budget: int | None) -> bool:
    """Temporal suggests continuing as new, or the history has `budget` events (None: no budget of its
    own: runs from before `HISTORY_BUDGET_PATCH` looked at Temporal's suggestion only)."""
    info = workflow.info()
    if info.is_continue_as_new_suggested():
        return True
    return budget is not None and info.get_current_history_length() >= budget


async def wait_for_news(news: Callable[[], bool], seconds: float, budget: int | None) -> Woke:
    """Wait until `news()`, for `seconds` at most; with a `budget`, also until the history reached it
    (every signal grows the history, news or not)."""

    def woken() -> bool:
        return news() or (budget is not None and history_full(budget))

    try:
        await workflow.wait_condition(woken, timeout=seconds)
    except TimeoutError:
        return Woke.TIMER
    return Woke.NEWS if news() else Woke.HISTORY_FULL
