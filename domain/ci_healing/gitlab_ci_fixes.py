"""Fix plans that edit `.gitlab-ci.yml` (GitLab CI's YAML, not GitHub Actions'): an env var default in the
global `variables:`, a longer job timeout (`timeout:`, GitLab's duration text), more memory for Node or
the JVM (`NODE_OPTIONS` / `JAVA_TOOL_OPTIONS` in `variables:`, whatever the executor).

Pure text edits like `fixes.py` (small, reviewable, the rest of the file untouched); a dependency fix edits
the manifest through `fixes.plan_fix`. Attempt N of a timeout or memory fix doubles again, up to a cap.
"""

from __future__ import annotations

import json
import re

from domain.ci_healing.fixes import (
    MAX_TIMEOUT_MINUTES,
    FileEdit,
    FixPlan,
    Reader,
    memory_setting,
    plan_fix,
)
from domain.diagnosis.verdict import Diagnosis, FixAction

GITLAB_CI_FILE = ".gitlab-ci.yml"
DEFAULT_TIMEOUT_MINUTES = 60  # GitLab's project default: the first raise doubles it
_TIMEOUT = re.compile(r"(?m)^(?P<lead>[ \t]+timeout:[ \t]*)(?P<value>[^\n#]+?)[ \t]*$")
_UNITS = (
    ({"s", "sec", "secs", "second", "seconds"}, 1 / 60),
    ({"m", "min", "mins", "minute", "minutes"}, 1.0),
    ({"h", "hr", "hrs", "hour", "hours"}, 60.0),
    ({"d", "day", "days"}, 1440.0),
)
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_DURATION = re.compile(r"(?:\s*(?:and\s+|,\s*)?\d+(?:\.\d+)?\s*[a-z]+)+\s*")
CI_FILE_ACTIONS = frozenset(
    {FixAction.SET_ENV_DEFAULT, FixAction.INCREASE_TIMEOUT, FixAction.INCREASE_MEMORY}
)


def plan_gitlab_fix(diagnosis: Diagnosis, attempt: int, read: Reader) -> FixPlan:
    """The edits for `diagnosis` on a GitLab project: the manifest, or the CI file for env, timeout, memory."""
    if diagnosis.action not in CI_FILE_ACTIONS:
        return plan_fix(diagnosis, attempt, read, [])
    path = diagnosis.params.get("ci_config_path") or GITLAB_CI_FILE
    text = read(path)
    if text is None:
        return FixPlan.none(f"no further fix: {path} is absent")
    match diagnosis.action:
        case FixAction.SET_ENV_DEFAULT:
            changed = _set_variable(text, diagnosis, attempt)
        case FixAction.INCREASE_TIMEOUT:
            changed = _raise_timeout(text, attempt)
        case _:
            changed = _raise_memory(text, diagnosis, attempt)
    if changed is None:
        return FixPlan.none(f"no further fix: {path} could not be changed")
    content, description = changed
    return FixPlan(
        edits=[FileEdit(path=path, content=content)],
        title=description.split(":")[0],
        description=f"{description} (in `{path}`)",
    )


def _set_variable(text: str, diagnosis: Diagnosis, attempt: int) -> tuple[str, str] | None:
    name = diagnosis.params.get("name", "")
    if attempt > 1 or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return None
    if re.search(rf"(?m)^\s+{name}:", text):
        return None  # defined somewhere already: not a missing default
    line = f"  {name}: {json.dumps(diagnosis.params.get('default', ''))}\n"
    return _insert_variable(text, line), f"Set a default for {name}: the global `variables:` define it"


def _insert_variable(text: str, line: str) -> str:
    """`text` with `line` in the global `variables:` block (created at the top when absent)."""
    block = re.search(r"(?m)^variables:[ \t]*\n", text)
    if block:
        return text[: block.end()] + line + text[block.end() :]
    return "variables:\n" + line + "\n" + text


def minutes_of(value: str) -> float | None:
    """GitLab's duration text (`1h 30m`, `90 minutes`, `2 hours and 10 min`, `3600`: seconds) in minutes;
    None when it is not one Mender can read."""
    text = value.strip().strip("'\"").lower()
    if re.fullmatch(r"\d+", text):
        return int(text) / 60
    if not _DURATION.fullmatch(text):
        return None
    total = 0.0
    for number, unit in _PART.findall(text):
        factor = next((f for names, f in _UNITS if unit in names), None)
        if factor is None:
            return None
        total += float(number) * factor
    return total or None


def _duration(minutes: int) -> str:
    hours, left = divmod(minutes, 60)
    return " ".join(p for p in (f"{hours}h" if hours else "", f"{left}m" if left else "") if p)


def _raise_timeout(text: str, attempt: int) -> tuple[str, str] | None:
    found = [(m, minutes_of(m["value"])) for m in _TIMEOUT.finditer(text)]
    known = [(m, v) for m, v in found if v is not None]
    if known:
        if min(v for _, v in known) >= MAX_TIMEOUT_MINUTES:
            return None
        content = text
        for m, v in reversed(known):
            raised = _duration(min(MAX_TIMEOUT_MINUTES, round(v * 2)))
            content = content[: m.start("value")] + raised + content[m.end("value") :]
        return content, f"Raise the job timeout: each `timeout:` doubled (attempt {attempt})"
    if found:
        return None  # timeouts Mender cannot read: left to a human
    minutes = min(MAX_TIMEOUT_MINUTES, DEFAULT_TIMEOUT_MINUTES * 2**attempt)
    block = re.search(r"(?m)^default:[ \t]*\n", text)
    line = f"  timeout: {_duration(minutes)}\n"
    content = text[: block.end()] + line + text[block.end() :] if block else "default:\n" + line + "\n" + text
    return content, f"Raise the job timeout: `default: timeout: {_duration(minutes)}`"


def _raise_memory(text: str, diagnosis: Diagnosis, attempt: int) -> tuple[str, str] | None:
    if attempt > 3:
        return None
    name, value = memory_setting(diagnosis, attempt)
    text = re.sub(rf"(?m)^  {name}:.*\n", "", text)
    return _insert_variable(
        text, f"  {name}: {json.dumps(value)}\n"
    ), f"Raise the memory limit: {name}={value}"


def with_variable(text: str, name: str, value: str) -> str | None:
    """`text` with the global variable `name` set to `value` (a learned fix); None when it already is."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return None
    line = f"  {name}: {json.dumps(value)}\n"
    if re.search(rf"(?m)^\s+{name}:\s*{re.escape(json.dumps(value))}\s*$", text):
        return None
    return _insert_variable(re.sub(rf"(?m)^  {name}:.*\n", "", text), line)


def with_timeout_of_at_least(text: str, minutes: int) -> str | None:
    """Every readable `timeout:` raised to `minutes` at least, or a `default: timeout:` (a learned fix)."""
    found = [(m, minutes_of(m["value"])) for m in _TIMEOUT.finditer(text)]
    if any(v is None for _, v in found):
        return None
    if not found:
        block = re.search(r"(?m)^default:[ \t]*\n", text)
        line = f"  timeout: {_duration(minutes)}\n"
        return (
            text[: block.end()] + line + text[block.end() :] if block else "default:\n" + line + "\n" + text
        )
    content = text
    for m, v in reversed(found):
        if v is not None and v < minutes:
            content = content[: m.start("value")] + _duration(minutes) + content[m.end("value") :]
    return content
