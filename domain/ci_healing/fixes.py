"""Fix plans for CI failures as file edits: add a dependency, set an env default, raise a timeout or memory.

Pure text edits over the files the plan touches (read through `read`), small and reviewable, never in
application code: dependency manifests and workflow files only. Attempt N of a scalable fix goes further
(timeouts and memory double again); a fix that cannot go further returns None, and so does a plan whose
file is missing or already fixed, with the reason in `FixPlan.none(...)`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from domain.ci_healing.python_distributions import distribution_for
from domain.diagnosis.verdict import Diagnosis, FixAction

Reader = Callable[[str], str | None]  # path -> text at the base branch, or None when absent

WORKFLOW_DIR = ".github/workflows"
BASE_TIMEOUT_MINUTES = 30
MAX_TIMEOUT_MINUTES = 360
BASE_NODE_HEAP_MB = 4096
BASE_JVM_HEAP_GB = 2
_JVM = re.compile(r"(?i)\b(java|jvm|openjdk)\b|OutOfMemoryError|heap space|GC overhead")


class FileEdit(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    content: str


class FixPlan(BaseModel):
    """The edits of one fix, or why there is none."""

    model_config = ConfigDict(frozen=True)

    edits: list[FileEdit] = Field(default_factory=list)
    title: str = ""
    description: str = ""
    reason: str = ""  # set when there are no edits

    @classmethod
    def none(cls, reason: str) -> FixPlan:
        return cls(reason=reason)


def plan_fix(diagnosis: Diagnosis, attempt: int, read: Reader, workflow_files: list[str]) -> FixPlan:
    """The edits for `diagnosis`'s action on attempt `attempt` (1-based)."""
    match diagnosis.action:
        case FixAction.ADD_DEPENDENCY:
            return _add_dependency(diagnosis, attempt, read)
        case FixAction.SET_ENV_DEFAULT:
            return _workflow_edit(diagnosis, attempt, read, workflow_files, _set_env)
        case FixAction.INCREASE_TIMEOUT:
            return _workflow_edit(diagnosis, attempt, read, workflow_files, _raise_timeout)
        case FixAction.INCREASE_MEMORY:
            return _workflow_edit(diagnosis, attempt, read, workflow_files, _raise_memory)
        case FixAction.QUARANTINE:
            return _quarantine(diagnosis, attempt, read)
    return FixPlan.none(f"{diagnosis.action.value} is not a file edit")


def _add_dependency(diagnosis: Diagnosis, attempt: int, read: Reader) -> FixPlan:
    if attempt > 1:
        return FixPlan.none("no further fix: the dependency was already added")
    params = diagnosis.params
    module = params.get("module")
    if module:
        distribution = params.get("distribution") or distribution_for(module)
        if not distribution:
            return FixPlan.none(f"module {module!r} has no known distribution (never guessed)")
        text = read("requirements.txt")
        if text is None:
            return FixPlan.none("no requirements.txt to add the dependency to")
        names = {re.split(r"[\s<>=!~\[;]", line.strip(), maxsplit=1)[0].lower() for line in text.splitlines()}
        if distribution.lower() in names:
            return FixPlan.none(f"{distribution} is already in requirements.txt")
        content = text + ("" if text.endswith("\n") or not text else "\n") + f"{distribution}\n"
        return FixPlan(
            edits=[FileEdit(path="requirements.txt", content=content)],
            title=f"Add missing dependency {distribution}",
            description=f"`import {module}` fails: the distribution `{distribution}` is added to requirements.txt.",
        )
    package = params.get("package")
    text = read("package.json") if package else None
    if not package or text is None:
        return FixPlan.none("no package name or package.json to add it to")
    try:
        manifest = json.loads(text)
    except ValueError:
        return FixPlan.none("package.json is not valid JSON")
    if package in manifest.get("dependencies", {}) or package in manifest.get("devDependencies", {}):
        return FixPlan.none(f"{package} is already declared in package.json")
    manifest.setdefault("devDependencies", {})[package] = "*"
    return FixPlan(
        edits=[FileEdit(path="package.json", content=json.dumps(manifest, indent=2) + "\n")],
        title=f"Add missing dependency {package}",
        description=f"`{package}` cannot be found: it is declared in package.json (pin it in review).",
    )


QUARANTINE_HEADER = (
    "# Tests quarantined by Mender as flaky (one test id a line): the test runner skips them, e.g.\n"
    "# pytest: --deselect for each line; remove a line once its test is fixed.\n"
)


def _quarantine(diagnosis: Diagnosis, attempt: int, read: Reader) -> FixPlan:
    """Add the flaky test's id to the quarantine list (`ci.flaky.quarantine_file`)."""
    test, path = diagnosis.params.get("test", "").strip(), diagnosis.params.get("quarantine_file", "")
    if attempt > 1 or not test or "\n" in test or not path or path.startswith("/") or ".." in path:
        return FixPlan.none("no further fix: no test to quarantine")
    text = read(path)
    if text is not None and test in (line.strip() for line in text.splitlines()):
        return FixPlan.none(f"{test} is already quarantined in {path}")
    base = text if text is not None else QUARANTINE_HEADER
    content = base + ("" if base.endswith("\n") or not base else "\n") + f"{test}\n"
    score = diagnosis.params.get("score", "?")
    return FixPlan(
        edits=[FileEdit(path=path, content=content)],
        title=f"Quarantine flaky test {test}"[:200],
        description=f"`{test}` is flaky (score {score}): it is added to `{path}` until it is fixed.",
    )


def _workflow_edit(
    diagnosis: Diagnosis,
    attempt: int,
    read: Reader,
    workflow_files: list[str],
    edit: Callable[[str, Diagnosis, int], tuple[str, str] | None],
) -> FixPlan:
    """Apply `edit` to the workflow file of the failed run (the first one it can change)."""
    preferred = diagnosis.params.get("workflow_path")
    for path in ([preferred] if preferred else []) + sorted(workflow_files):
        text = read(path)
        if text is None:
            continue
        changed = edit(text, diagnosis, attempt)
        if changed is not None:
            content, description = changed
            return FixPlan(
                edits=[FileEdit(path=path, content=content)],
                title=description.split(":")[0],
                description=f"{description} (in `{path}`)",
            )
    return FixPlan.none("no further fix: no workflow file could be changed")


def _set_env(text: str, diagnosis: Diagnosis, attempt: int) -> tuple[str, str] | None:
    name = diagnosis.params.get("name", "")
    if (
        attempt > 1
        or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)
        or re.search(rf"(?m)^\s+{name}:", text)
    ):
        return None
    value = diagnosis.params.get("default", "")
    line = f"  {name}: {json.dumps(value)}\n"
    content = _insert_env(text, line)
    return content, f"Set a default for {name}: the workflow now defines it at the top level"


def _insert_env(text: str, line: str) -> str:
    """`text` with `line` in the top-level `env:` block (created before `jobs:` when absent)."""
    top_env = re.search(r"(?m)^env:[ \t]*\n", text)
    if top_env:
        return text[: top_env.end()] + line + text[top_env.end() :]
    jobs = re.search(r"(?m)^jobs:", text)
    at = jobs.start() if jobs else len(text)
    return text[:at] + "env:\n" + line + ("\n" if jobs else "") + text[at:]


def _raise_timeout(text: str, _: Diagnosis, attempt: int) -> tuple[str, str] | None:
    found = [int(m) for m in re.findall(r"(?m)^\s+timeout-minutes:\s*(\d+)\s*$", text)]
    if found:
        if min(found) >= MAX_TIMEOUT_MINUTES:
            return None
        content = re.sub(
            r"(?m)^(\s+timeout-minutes:\s*)(\d+)\s*$",
            lambda m: f"{m[1]}{min(MAX_TIMEOUT_MINUTES, int(m[2]) * 2)}",
            text,
        )
        return content, f"Raise the job timeout: timeout-minutes doubled (attempt {attempt})"
    minutes = min(MAX_TIMEOUT_MINUTES, BASE_TIMEOUT_MINUTES * 2 ** (attempt - 1))
    content = re.sub(r"(?m)^(  [\w-]+:\s*\n)(    runs-on:)", rf"\1    timeout-minutes: {minutes}\n\2", text)
    if content == text:
        return None
    return content, f"Raise the job timeout: timeout-minutes set to {minutes}"


def memory_setting(diagnosis: Diagnosis, attempt: int) -> tuple[str, str]:
    """The env var and value that raise the memory limit at `attempt`: the JVM's heap for a Java
    failure, else Node's (GitHub workflows and `.gitlab-ci.yml` alike)."""
    if _JVM.search(diagnosis.key_line) and "javascript" not in diagnosis.key_line.lower():
        return "JAVA_TOOL_OPTIONS", f"-Xmx{BASE_JVM_HEAP_GB * 2**attempt}g"
    return "NODE_OPTIONS", f"--max-old-space-size={BASE_NODE_HEAP_MB * 2 ** (attempt - 1)}"


def _raise_memory(text: str, diagnosis: Diagnosis, attempt: int) -> tuple[str, str] | None:
    if attempt > 3:
        return None
    name, value = memory_setting(diagnosis, attempt)
    pattern = re.compile(rf"(?m)^  {name}:.*\n")
    text = pattern.sub("", text)
    content = _insert_env(text, f"  {name}: {json.dumps(value)}\n")
    return content, f"Raise the memory limit: {name}={value}"
