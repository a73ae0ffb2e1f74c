"""What is kept of a log once scanned: the decisive line, the failed step and a redacted window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from domain.diagnosis.reading import body_of, clip

if TYPE_CHECKING:
    from domain.diagnosis.candidates import ScanOutcome


class DistilledLog(BaseModel):
    """What is kept of a log: the decisive line, the failed step and a redacted window around it."""

    model_config = ConfigDict(frozen=True)

    failed_step: str | None = None
    key_line: str = ""
    key_line_number: int | None = None
    window: list[str] = []
    window_start: int | None = None  # line number of window[0]
    total_lines: int = 0
    total_bytes: int = 0
    truncated: bool = False  # the window is not the whole log, or a line in it was cut
    other_candidates: list[str] = []  # the next best lines elsewhere (`line N: text`), for a second opinion
    passing_run_lines: int | None = None  # error-like lines of the last passing run compared with, if any

    def text(self) -> str:
        """The distilled log as text for a prompt: a short header, then the window's lines verbatim."""
        head = [f"log: {self.total_lines} lines, {self.total_bytes} bytes"]
        if self.passing_run_lines is not None:
            head.append(
                f"compared with the last passing run ({self.passing_run_lines} error-like lines it also prints"
                " are not the cause)"
            )
        if self.failed_step:
            head.append(f"failed step: {self.failed_step}")
        if self.key_line_number:
            head.append(f"decisive line {self.key_line_number}: {self.key_line}")
        if self.window_start is not None and self.window:
            head.append(f"--- lines {self.window_start}-{self.window_start + len(self.window) - 1} ---")
        others = ["--- other candidate lines ---", *self.other_candidates] if self.other_candidates else []
        return "\n".join([*head, *self.window, *others])


def displayed(line: str) -> str:
    """What a terminal shows of `line`: the text after its last carriage return that is not blank
    (a progress bar redrawn before a message, `travis_time:...\r$ make`); `line` when it has no CR."""
    if "\r" not in line:
        return line
    parts = [part for part in line.split("\r") if body_of(part).strip()]
    return parts[-1] if parts else line


def distill(outcome: ScanOutcome, max_lines: int = 80) -> DistilledLog:
    """The `DistilledLog` of a scan: around its best candidate, else its last non-blank line."""
    max_lines, key = max(1, max_lines), outcome.best
    if key is None:
        window = outcome.tail[-max_lines:]
        start = outcome.total_lines - len(window) + 1
        filled = [i for i, text in enumerate(window) if text.strip()]
        number = start + filled[-1] if filled else None
        line, step = (window[filled[-1]] if filled else ""), outcome.last_step
    else:
        before_n = min(len(key.before), (max_lines - 1) // 2)
        after_n = min(len(key.after), max_lines - 1 - before_n)
        before_n = min(len(key.before), max_lines - 1 - after_n)
        window = [*key.before[len(key.before) - before_n :], key.line, *key.after[:after_n]]
        number, line, step, start = key.line_number, key.line, key.step, key.line_number - before_n
    window = [clip(text) for text in window]
    return DistilledLog(
        failed_step=step,
        key_line=displayed(line),
        key_line_number=number,
        window=window,
        window_start=start if window else None,
        total_lines=outcome.total_lines,
        total_bytes=outcome.total_bytes,
        truncated=len(window) < outcome.total_lines or any(t.endswith(" [...]") for t in window),
    )
