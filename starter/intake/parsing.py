"""Bounded parsing of webhook bodies: a JSON object no deeper than a limit, or the reason why not."""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 64


def bounded_json(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Any JSON value no deeper than `max_depth`; ValueError saying why not."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise ValueError(f"JSON nested deeper than {max_depth} levels")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


def json_object(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """A webhook body as a JSON object no deeper than `max_depth`; ValueError saying why not."""
    payload = bounded_json(body, max_depth)
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    return payload


def json_body(body: bytes) -> dict[str, Any]:
    """The body of a JSON webhook (GitHub, GitLab); ValueError with the reason for the 400."""
    try:
        return json_object(body)
    except ValueError as exc:
        raise ValueError(f"body is not a JSON object: {exc}") from None
