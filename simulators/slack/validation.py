"""Web API failures and the simulator's (loose) Block Kit validation, as Slack answers them."""

from __future__ import annotations

import json
from typing import Any

MAX_BLOCKS = 50
MAX_TEXT = 40_000
TEXT_LIMITS = {"header": 150, "section": 3000, "field": 2000, "context": 2000}


class SlackError(Exception):
    """A Web API failure: `{"ok": false, "error": code, ...extra}` with an HTTP status."""

    def __init__(self, code: str, status: int = 200, retry_after: int | None = None, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.retry_after = retry_after
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.code, **self.extra}


def validate_blocks(raw: Any) -> list[dict[str, Any]]:
    """Loose Block Kit check: a list (or its JSON text) of at most 50 objects with a `type`, texts bounded."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise SlackError("invalid_blocks_format") from None
    if not isinstance(raw, list):
        raise SlackError("invalid_blocks", errors=["blocks must be an array"])
    problems: list[str] = []
    if len(raw) > MAX_BLOCKS:
        problems.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(raw):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"must be an object with a type [json-pointer:/blocks/{i}]")
            continue
        problems.extend(_text_problems(block, i))
    if problems:
        raise SlackError("invalid_blocks", errors=problems)
    return raw


def _text_problems(block: dict[str, Any], i: int) -> list[str]:
    texts: list[tuple[str, Any, int]] = []
    kind = block["type"]
    if kind in ("header", "section") and "text" in block:
        texts.append((f"/blocks/{i}/text", block["text"], TEXT_LIMITS[kind]))
    for j, fld in enumerate(block.get("fields") or []):
        texts.append((f"/blocks/{i}/fields/{j}", fld, TEXT_LIMITS["field"]))
    if kind == "context":
        for j, element in enumerate(block.get("elements") or []):
            texts.append((f"/blocks/{i}/elements/{j}", element, TEXT_LIMITS["context"]))
    problems = []
    for where, obj, limit in texts:
        text = obj.get("text") if isinstance(obj, dict) else None
        if not isinstance(text, str):
            problems.append(f"must be a text object [json-pointer:{where}]")
        elif len(text) > limit:
            problems.append(f"must be less than {limit + 1} characters [json-pointer:{where}/text]")
    return problems
