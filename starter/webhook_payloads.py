"""What every webhook translation shares: the error for a body without its event's shape, the lenient
base of the payload models, and validation that names the first bad field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class PayloadError(ValueError):
    """A payload without the shape of its event; the message says which field and why."""


class Loose(BaseModel):
    """A payload model that ignores the fields it does not name."""

    model_config = ConfigDict(extra="ignore")


def validated(model: type[M], payload: dict[str, Any], what: str) -> M:
    """`payload` as a `model`; PayloadError naming the first bad field of the `what` payload."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PayloadError(f"{what} payload: {where}: {first['msg']}") from None
