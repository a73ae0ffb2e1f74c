"""Mender's activity decorator: temporalio's `activity.defn` under a name the worker can read back.

The SDK keeps an activity's name where only its private API reads it. The worker needs the name to poll
each activity on its catalogue lane (`worker.by_lane`), and the test stack to swap one by name, so `defn`
also keeps it on the function (`activity_name`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import activity

F = TypeVar("F", bound=Callable[..., Any])
NAME_ATTRIBUTE = "mender_activity_name"


def defn(*, name: str) -> Callable[[F], F]:
    """`activity.defn(name=name)`, the name also kept on the function."""

    def define(fn: F) -> F:
        setattr(fn, NAME_ATTRIBUTE, name)
        return activity.defn(name=name)(fn)

    return define


def activity_name(fn: Callable[..., Any]) -> str:
    """The name `fn` was defined under (a bound method: its function's); a clear error for anything else."""
    name = getattr(fn, NAME_ATTRIBUTE, None)
    if not isinstance(name, str):
        raise TypeError(f"{fn!r} is not a Mender activity: define it with activities.definition.defn")
    return name
