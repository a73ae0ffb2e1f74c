"""Reading a CI log as text: blocks of whole lines from a file or an iterable, and a line's body.

`blocks_from_binary` reads `BLOCK_SIZE` bytes at a time and yields whole lines (never the whole file);
of a line longer than `LINE_BOUND` bytes only the start is kept. A `LogFile` is a file's lines for those
who want lines, and its binary blocks for `blocks_from_lines` (no line is decoded just to be re-encoded). `body_of` is a line without ANSI codes
and CI timestamp prefixes: what rules and scores look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

BLOCK_SIZE = 1 << 18
LINE_BOUND = 1 << 16  # bytes of one line that are read; the rest of a longer line is skipped
WINDOW_LINE_BOUND = 500  # characters of each kept window line

_ANSI_B = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_ANSI = re.compile(_ANSI_B.pattern.decode())
_PREFIX = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+"  # ISO (GitHub, GitLab)
    r"|\[(?:task )?\d{4}-\d\d-\d\d[T ][^\]]*\]\s+"  # [task 2025-...Z] (Taskcluster), [2025-...] (Jenkins)
    r"|\d{1,2}:\d\d:\d\d(?:\.\d+)?(?:\s?[AP]M)?:?\s+)+"  # 12:00:01 / 9:40:53 PM: (Jenkins, Netlify)
)


def body_of(line: str) -> str:
    """`line` without ANSI codes and CI timestamp prefixes: the text rules are matched against."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    return _PREFIX.sub("", line, count=1) if line[:1].isdigit() or line[:1] == "[" else line


def blocks_from_lines(lines: Iterable[str | bytes], batch: int = 2048) -> Iterator[tuple[bytes, int]]:
    """(block of whole lines joined by newlines, bytes it stands for) from an iterable of lines."""
    if isinstance(lines, LogFile):
        yield from lines.blocks()
        return
    iterator = iter(lines)
    while chunk := list(islice(iterator, batch)):
        parts = []
        for line in chunk:
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            if text.endswith("\n"):
                text = text[:-2] if text.endswith("\r\n") else text[:-1]
            parts.append(text if len(text) <= LINE_BOUND else text[:LINE_BOUND])
        data = "\n".join(parts).encode("utf-8", "replace")
        yield data, len(data) + len(parts)


def blocks_from_binary(handle: IO[Any], block_size: int = BLOCK_SIZE) -> Iterator[tuple[bytes, int]]:
    """(block of whole lines, bytes read for it) from a binary (or text) file, `block_size` at a time."""
    carry, size, skipping = b"", 0, False
    while chunk := handle.read(block_size):
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", "replace")
        size += len(chunk)
        if skipping:  # inside an over-long line: drop bytes up to its newline
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk, skipping = b"\n" + chunk[newline + 1 :], False
        data = carry + chunk
        last = data.rfind(b"\n")
        if last < 0:
            carry = data
        else:
            block, carry = data[:last], data[last + 1 :]
            yield block, size
            size = 0
        if len(carry) > LINE_BOUND:
            carry, skipping = carry[:LINE_BOUND], True
    if carry or size:
        yield carry, size


class LogFile:
    """A log file as lines (decoded, undecodable bytes replaced, CR before LF dropped, each cut at
    `LINE_BOUND` bytes), read `BLOCK_SIZE` at a time; `blocks_from_lines` takes its binary blocks."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def blocks(self) -> Iterator[tuple[bytes, int]]:
        """(block of whole lines, bytes read for it), CRLF newlines as LF: what `blocks_from_binary` gives."""
        with self.path.open("rb") as handle:
            for block, size in blocks_from_binary(handle):
                yield (block.replace(b"\r\n", b"\n") if b"\r" in block else block), size

    def __iter__(self) -> Iterator[str]:
        for block, _ in self.blocks():
            for line in block.split(b"\n"):
                yield line.decode("utf-8", "replace").rstrip("\r")


def clip(line: str, bound: int = WINDOW_LINE_BOUND) -> str:
    """`line`, cut at `bound` characters (marked ` [...]`)."""
    return line if len(line) <= bound else line[:bound] + " [...]"
