"""What the LLM's second opinion is given besides the distilled log: the diff against the passing run.

`passing_diff` keeps the error-like lines of the distilled window and of the other candidate lines that
the last passing run of the same job does not print (`+ ` before each, at most `MAX_DIFF_LINES`): what is
new in the failure. Lines are taken from the distilled log, so they are redacted already.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from domain.diagnosis.evidence import has_evidence_word
from domain.diagnosis.reading import body_of

MAX_DIFF_LINES = 20
_NUMBERED = re.compile(r"^line \d+: ")  # how the distilled log lists other candidates


def passing_diff(lines: Iterable[str], seen: Callable[[str], bool]) -> list[str]:
    """`+ line` for each error-like line that the passing run (`seen`) does not print, in order, once."""
    diff: dict[str, None] = {}
    for line in lines:
        body = body_of(_NUMBERED.sub("", line)).strip()
        if body and has_evidence_word(body) and not seen(body):
            diff.setdefault(f"+ {body}", None)
            if len(diff) >= MAX_DIFF_LINES:
                break
    return list(diff)
