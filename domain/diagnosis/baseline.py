"""The last passing run of the same job: lines it prints too are not the cause of a failure.

A line is compared after `normalise`: ANSI codes and CI timestamp prefixes removed, then timestamps,
clock times, durations, UUIDs, hashes (7+ hex digits), temporary paths, ports and long numbers (ids,
PIDs, sizes) replaced by placeholders, and blanks collapsed. Only lines that hold an error-like word are
remembered (the only ones that could become key lines), as 64-bit hashes, at most `MAX_LINES` of them:
memory stays bounded whatever the passing log's size.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from domain.diagnosis.reading import blocks_from_binary, blocks_from_lines, body_of

MAX_LINES = 200_000

_WORDS = re.compile(
    r"(?i)error|exception|fail|fatal|panic|traceback|err!|assert|cannot|unable|could not|not found|no such"
    r"|expected|timed out|timeout|killed|denied|refused|missing|undefined|unresolved|invalid|exit|warn"
)
_REPLACEMENTS = [
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(r"\b\d{1,2}:\d\d:\d\d(?:[.,]\d+)?\b"), "<time>"),
    (re.compile(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"(?i)\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b"), "<hash>"),
    (
        re.compile(
            r"(?:/tmp|/var/folders|/private/var|/home/\w+/\.cache|[A-Za-z]:\\\\Users\\\\[^\\\s]+\\\\AppData\\\\Local\\\\Temp)[/\\][^\s'\":]*"
        ),
        "<tmp>",
    ),
    (
        re.compile(r"(?i)\b\d+(?:\.\d+)?\s?(?:ms|msec|s|sec|secs|seconds?|m|mins?|minutes?|h|hours?)\b"),
        "<duration>",
    ),
    (re.compile(r"(?<=[\w\]]):\d{2,5}\b"), ":<port>"),
    (re.compile(r"\b\d{5,}\b"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def normalise(body: str) -> str:
    """A line's text with what changes from run to run replaced (see the module docstring)."""
    text = body_of(body)
    for pattern, placeholder in _REPLACEMENTS:
        text = pattern.sub(placeholder, text)
    return text.strip()


def _key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).digest(), "big")


class PassingRun:
    """The error-like lines of a passing run, normalised; `seen` tells whether a failing run's line is one."""

    def __init__(self) -> None:
        self._keys: set[int] = set()
        self.lines = 0

    def add_block(self, block: bytes) -> None:
        for raw in block.split(b"\n"):
            self.lines += 1
            text = raw[:4096].decode("utf-8", "replace")
            if len(self._keys) < MAX_LINES and _WORDS.search(text):
                self._keys.add(_key(normalise(text)))

    def seen(self, body: str) -> bool:
        return bool(self._keys) and _key(normalise(body)) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> PassingRun:
        run = cls()
        for block, _ in blocks_from_lines(lines):
            run.add_block(block)
        return run

    @classmethod
    def from_file(cls, path: str | Path) -> PassingRun:
        run = cls()
        with Path(path).open("rb") as handle:
            for block, _ in blocks_from_binary(handle):
                run.add_block(block.replace(b"\r\n", b"\n"))
        return run
