"""Reading a human's fix: is the change between a failed run and the next green one small and replayable?

Replayable: a dependency added or pinned (requirements*.txt, package.json, pom.xml), an env var or
setting added to a workflow file or `.gitlab-ci.yml` (`variables:`), a timeout raised (memory is an env
var: NODE_OPTIONS, KUBERNETES_MEMORY_LIMIT, ...). Anything
else (application code, a removed dependency, a changed workflow step, too many lines) is refused with
the reason: application code is never learned as an automatic fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from domain.ci_healing.gitlab_ci_fixes import GITLAB_CI_FILE, minutes_of
from domain.ci_healing.learned import Ecosystem, EditKind, EditTemplate

MAX_CHANGED_LINES = 20
MAX_FILES = 3
_REQUIREMENTS = re.compile(r"(?:^|/)requirements[\w.-]*\.txt$")
_WORKFLOW = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")
_GITLAB_KEYWORDS = frozenset({"default", "include", "stages", "variables", "workflow", "image", "services"})
_SETTINGS = (Ecosystem.ACTIONS, Ecosystem.GITLAB_CI)
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_DEP_BLOCK = re.compile(r"<dependency>(.*?)</dependency>", re.S)


@dataclass(frozen=True)
class ChangedFile:
    """One file of a comparison: its name, status, size of the change, and its text before and after."""

    path: str
    status: str  # added, modified, removed, renamed
    additions: int
    deletions: int
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Learned:
    edits: list[EditTemplate]
    ecosystem: Ecosystem


@dataclass(frozen=True)
class Refused:
    reason: str


def read_change(files: list[ChangedFile], max_lines: int = MAX_CHANGED_LINES) -> Learned | Refused:
    """The edits of a human's change, or why it cannot be replayed."""
    if not files:
        return Refused("no file changed between the failed run and the green one")
    if len(files) > MAX_FILES:
        return Refused(f"{len(files)} files changed (at most {MAX_FILES} are learned)")
    if (lines := sum(f.additions + f.deletions for f in files)) > max_lines:
        return Refused(f"{lines} lines changed (at most {max_lines} are learned)")
    edits: list[EditTemplate] = []
    ecosystems: list[Ecosystem] = []
    for changed in files:
        found = _read_file(changed)
        if isinstance(found, Refused):
            return found
        file_edits, ecosystem = found
        edits += file_edits
        ecosystems.append(ecosystem)
    if not edits:
        return Refused("the change adds nothing replayable (only comments or formatting)")
    dependency = [e for e in ecosystems if e not in _SETTINGS]
    return Learned(edits=edits, ecosystem=dependency[0] if dependency else ecosystems[0])


def _read_file(changed: ChangedFile) -> tuple[list[EditTemplate], Ecosystem] | Refused:
    path = changed.path
    if changed.status not in ("added", "modified") or changed.after is None:
        return Refused(f"{path} was {changed.status}: only additions and edits are learned")
    before = changed.before or ""
    if _REQUIREMENTS.search(path):
        return _requirements(path, before, changed.after)
    if path == "package.json":
        return _package_json(path, before, changed.after)
    if path == "pom.xml":
        return _pom(path, before, changed.after)
    if _WORKFLOW.match(path):
        return _workflow(path, before, changed.after)
    if path == GITLAB_CI_FILE:
        return _gitlab_ci(path, before, changed.after)
    return Refused(
        f"{path} is not a dependency manifest or workflow file (application code is never learned)"
    )


def requirement_lines(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if stripped and not stripped.startswith("-") and (name := _NAME.match(stripped)):
            found[name[1].lower().replace("_", "-")] = stripped
    return found


def _requirements(path: str, before: str, after: str) -> tuple[list[EditTemplate], Ecosystem] | Refused:
    old, new = requirement_lines(before), requirement_lines(after)
    if removed := sorted(set(old) - set(new)):
        return Refused(f"{path}: {', '.join(removed)} removed (removals are not learned)")
    edits = [
        EditTemplate(kind=EditKind.REQUIREMENT, path=path, name=name, value=line)
        for name, line in new.items()
        if old.get(name) != line
    ]
    return edits, Ecosystem.PYTHON


def _package_json(path: str, before: str, after: str) -> tuple[list[EditTemplate], Ecosystem] | Refused:
    try:
        old = json.loads(before) if before.strip() else {}
        new = json.loads(after)
    except ValueError:
        return Refused(f"{path} is not valid JSON")
    if not isinstance(old, dict) or not isinstance(new, dict):
        return Refused(f"{path} is not a JSON object")
    sections = ("dependencies", "devDependencies")
    rest = {k: v for k, v in new.items() if k not in sections} != {
        k: v for k, v in old.items() if k not in sections
    }
    if rest:
        return Refused(f"{path}: more than dependencies changed (scripts or settings are not learned)")
    edits = []
    for section in sections:
        was, now = old.get(section) or {}, new.get(section) or {}
        if set(was) - set(now):
            return Refused(f"{path}: a dependency was removed from {section} (removals are not learned)")
        edits += [
            EditTemplate(kind=EditKind.NPM_DEPENDENCY, path=path, name=n, value=str(v), section=section)
            for n, v in now.items()
            if was.get(n) != v
        ]
    return edits, Ecosystem.NODE


def _maven_dependencies(text: str) -> dict[tuple[str, str], str]:
    found = {}
    for block in _DEP_BLOCK.findall(text):
        fields = {
            tag: re.search(rf"<{tag}>\s*([^<\s]+)\s*</{tag}>", block)
            for tag in ("groupId", "artifactId", "version")
        }
        if fields["groupId"] and fields["artifactId"]:
            version = fields["version"][1] if fields["version"] else ""
            found[(fields["groupId"][1], fields["artifactId"][1])] = version
    return found


def _pom(path: str, before: str, after: str) -> tuple[list[EditTemplate], Ecosystem] | Refused:
    old, new = _maven_dependencies(before), _maven_dependencies(after)
    if set(old) - set(new):
        return Refused(f"{path}: a dependency was removed (removals are not learned)")
    if _DEP_BLOCK.sub("", before).split() != _DEP_BLOCK.sub("", after).split():
        return Refused(f"{path}: more than <dependency> entries changed (build settings are not learned)")
    edits = [
        EditTemplate(kind=EditKind.MAVEN_DEPENDENCY, path=path, name=artifact, value=version, section=group)
        for (group, artifact), version in new.items()
        if old.get((group, artifact)) != version
    ]
    return edits, Ecosystem.MAVEN


def _load(text: str) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _settings_of(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, int], dict[str, Any]]:
    """(env vars anywhere, timeout per job, the rest): env of the workflow and its jobs, job timeouts."""
    env = {str(k): str(v) for k, v in (data.get("env") or {}).items()}
    timeouts: dict[str, int] = {}
    rest = {k: v for k, v in data.items() if k != "env"}
    jobs = {}
    for name, job in (data.get("jobs") or {}).items():
        if not isinstance(job, dict):
            jobs[name] = job
            continue
        env |= {str(k): str(v) for k, v in (job.get("env") or {}).items()}
        if isinstance(job.get("timeout-minutes"), int):
            timeouts[str(name)] = job["timeout-minutes"]
        jobs[name] = {k: v for k, v in job.items() if k not in ("env", "timeout-minutes")}
    rest["jobs"] = jobs
    return env, timeouts, rest


def _workflow(path: str, before: str, after: str) -> tuple[list[EditTemplate], Ecosystem] | Refused:
    old, new = _load(before), _load(after)
    if old is None or new is None:
        return Refused(f"{path} is not a valid workflow file")
    old_env, old_timeouts, old_rest = _settings_of(old)
    new_env, new_timeouts, new_rest = _settings_of(new)
    if old_rest != new_rest:
        return Refused(f"{path}: steps or triggers changed (only env vars and timeouts are learned)")
    if set(old_env) - set(new_env):
        return Refused(f"{path}: an env var was removed (removals are not learned)")
    edits = [
        EditTemplate(kind=EditKind.WORKFLOW_ENV, path=None, name=name, value=value)
        for name, value in new_env.items()
        if old_env.get(name) != value
    ]
    for job, minutes in new_timeouts.items():
        if minutes < old_timeouts.get(job, 0):
            return Refused(f"{path}: the timeout of {job} was lowered")
        if minutes != old_timeouts.get(job):
            edits.append(EditTemplate(kind=EditKind.TIMEOUT, path=None, name=job, value=str(minutes)))
    return edits, Ecosystem.ACTIONS


def _variables(block: object) -> dict[str, str]:
    """A `variables:` block: `NAME: value` or `NAME: {value: ..., description: ...}`."""
    if not isinstance(block, dict):
        return {}
    return {str(k): str(v.get("value", "") if isinstance(v, dict) else v) for k, v in block.items()}


def _gitlab_settings(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, float | None], dict[str, Any]]:
    """(variables anywhere, timeout per job (`default` too), the rest) of a `.gitlab-ci.yml`."""
    env, timeouts, rest = _variables(data.get("variables")), {}, {}
    for name, value in data.items():
        if name == "variables":
            continue
        if not isinstance(value, dict) or (name in _GITLAB_KEYWORDS and name != "default"):
            rest[name] = value
            continue
        env |= _variables(value.get("variables"))
        if "timeout" in value:
            timeouts[str(name)] = minutes_of(str(value["timeout"]))
        rest[name] = {k: v for k, v in value.items() if k not in ("variables", "timeout")}
    return env, timeouts, rest


def _gitlab_ci(path: str, before: str, after: str) -> tuple[list[EditTemplate], Ecosystem] | Refused:
    old, new = _load(before), _load(after)
    if old is None or new is None:
        return Refused(f"{path} is not a valid GitLab CI file")
    old_env, old_timeouts, old_rest = _gitlab_settings(old)
    new_env, new_timeouts, new_rest = _gitlab_settings(new)
    if old_rest != new_rest:
        return Refused(f"{path}: scripts, stages or rules changed (only variables and timeouts are learned)")
    if set(old_env) - set(new_env):
        return Refused(f"{path}: a variable was removed (removals are not learned)")
    edits = [
        EditTemplate(kind=EditKind.WORKFLOW_ENV, path=path, name=name, value=value)
        for name, value in new_env.items()
        if old_env.get(name) != value
    ]
    if dropped := sorted(set(old_timeouts) - set(new_timeouts)):
        return Refused(f"{path}: the timeout of {', '.join(dropped)} was removed")
    for job, minutes in new_timeouts.items():
        was = old_timeouts.get(job)
        if minutes is None:
            return Refused(f"{path}: the timeout of {job} is not a duration Mender can read")
        if was is not None and minutes < was:
            return Refused(f"{path}: the timeout of {job} was lowered")
        if minutes != was:
            edits.append(EditTemplate(kind=EditKind.TIMEOUT, path=path, name=job, value=str(round(minutes))))
    return edits, Ecosystem.GITLAB_CI
