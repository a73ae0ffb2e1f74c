"""The pydantic bases every domain model builds on: one home, so their meaning never drifts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Configuration read from outside: unknown keys are an error, values never change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Frozen(BaseModel):
    """A value that crosses a boundary (workflow input, activity result): immutable, extra keys ignored."""

    model_config = ConfigDict(frozen=True)
