"""File contents of simulated repos: a small text tree per commit, bump edits, merges, diffs, blob shas.

Every repo starts with `README.md`, `CHANGELOG.md`, `requirements.txt` (pip pins `name==version`) and
`package.json` (npm `dependencies`). A bot PR changes one line of one of them (`FileChange`); the
`merge_conflict` fault lands a different edit of the same line on the base branch (`hotfix`).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import zlib
from dataclasses import dataclass

from simulators.github.model import FileChange

PACKAGES = {
    "pip": [
        "requests",
        "urllib3",
        "pydantic",
        "fastapi",
        "django",
        "flask",
        "numpy",
        "pytest",
        "httpx",
        "boto3",
    ],
    "npm_and_yarn": [
        "lodash",
        "react",
        "express",
        "axios",
        "webpack",
        "typescript",
        "eslint",
        "vite",
        "jest",
    ],
}
ECOSYSTEM_FILES = {"pip": "requirements.txt", "npm_and_yarn": "package.json"}
_TITLE = re.compile(r"^(?:Bump|Update dependency) (\S+) (?:from \S+ )?to v?(\S+)")

Files = dict[str, str]


def _pinned(package: str) -> str:
    """A stable, plausible version for `package` in a fresh repo."""
    h = zlib.crc32(package.encode())
    return f"{1 + h % 5}.{h // 5 % 20}.{h // 100 % 10}"


def _package_json(deps: dict[str, str]) -> str:
    data = {"name": "app", "version": "1.0.0", "private": True, "dependencies": dict(sorted(deps.items()))}
    return json.dumps(data, indent=2) + "\n"


DEFAULT_WORKFLOW_PATH = ".github/workflows/ci.yml"  # the default pipeline's workflow, there from the start
DEFAULT_WORKFLOW = """name: CI
on:
  push:
    branches: [main]
  pull_request:
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make build
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""


def root_files(repo_name: str) -> Files:
    """The tree of a repo's initial commit."""
    requirements = "".join(f"{p}=={_pinned(p)}\n" for p in sorted(PACKAGES["pip"]))
    return {
        "README.md": f"# {repo_name}\n",
        "CHANGELOG.md": "# Changelog\n",
        "requirements.txt": requirements,
        "package.json": _package_json({p: f"^{_pinned(p)}" for p in PACKAGES["npm_and_yarn"]}),
        DEFAULT_WORKFLOW_PATH: DEFAULT_WORKFLOW,
    }


def blob_sha(text: str) -> str:
    """Git's blob sha of `text`: sha1 of `blob <size>\\0<bytes>`."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def change_for_title(title: str) -> FileChange:
    """The change a PR with a custom title makes: a pip pin if it reads like a bump, else a changelog line."""
    match = _TITLE.match(title)
    if match:
        return FileChange("requirements.txt", match.group(1), match.group(2))
    return FileChange("CHANGELOG.md", title, "")


def apply_change(files: Files, change: FileChange) -> Files:
    """`files` with `change` applied (a new dict; `files` is not modified)."""
    text = files.get(change.path, "")
    if change.path.endswith("package.json"):
        try:
            data = json.loads(text or "{}")
            data.setdefault("dependencies", {})[change.package] = f"^{change.version}"
            return {**files, change.path: json.dumps(data, indent=2) + "\n"}
        except (ValueError, AttributeError):
            pass  # not JSON any more (someone rewrote it): fall back to a line edit
    if change.path.endswith(".txt"):
        line = f"{change.package}=={change.version}"
        lines = text.splitlines()
        for i, current in enumerate(lines):
            if re.split(r"[=<>~!\s]", current, maxsplit=1)[0] == change.package:
                lines[i] = line
                break
        else:
            lines.append(line)
        return {**files, change.path: "".join(f"{item}\n" for item in lines)}
    return append_line(files, change.path, f"- {change.package} {change.version}".rstrip())


def append_line(files: Files, path: str, line: str) -> Files:
    text = files.get(path, "")
    if text and not text.endswith("\n"):
        text += "\n"
    return {**files, path: f"{text}{line}\n"}


def hotfix(change: FileChange) -> FileChange:
    """A different edit of the very line `change` edits: what lands on base for `merge_conflict`."""
    if change.path.endswith(".txt"):
        return FileChange(change.path, change.package, f"{change.version}.post1")
    if change.path.endswith(".json"):
        return FileChange(change.path, change.package, f"{change.version}-hotfix.1")
    return FileChange(change.path, change.package, f"{change.version} (hotfix)".strip())


def merge_files(base: Files, ours: Files, theirs: Files) -> Files:
    """File-level three-way merge from merge base `base`: a path changed on one side takes that side."""
    merged: Files = {}
    for path in sorted(set(base) | set(ours) | set(theirs)):
        old, mine, other = base.get(path), ours.get(path), theirs.get(path)
        value = other if mine == old else mine
        if value is not None:
            merged[path] = value
    return merged


@dataclass
class FileDiff:
    path: str
    status: str  # added, removed, modified
    additions: int
    deletions: int
    patch: str
    text: str | None  # the new content (None when removed)


def diff_files(old: Files, new: Files) -> list[FileDiff]:
    """Per changed path, a GitHub-style diff entry (`patch` is the hunks, without the file headers)."""
    diffs = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        lines = list(
            difflib.unified_diff((before or "").splitlines(), (after or "").splitlines(), lineterm="", n=3)
        )[2:]
        additions = sum(1 for line in lines if line.startswith("+"))
        deletions = sum(1 for line in lines if line.startswith("-"))
        status = "added" if before is None else "removed" if after is None else "modified"
        diffs.append(FileDiff(path, status, additions, deletions, "\n".join(lines), after))
    return diffs
