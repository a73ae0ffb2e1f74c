"""`GET /projects/:id/repository/compare?from=&to=` as GitLab documents it: the commits reachable from
`to` and not from `from` (oldest first), `diffs` of the trees (`old_path`, `new_path`, `diff` in
unified form from its first `@@`, `new_file`, `deleted_file`, `renamed_file`, modes), the newest
commit as `commit`, `compare_same_ref` and `web_url`."""

from __future__ import annotations

import difflib
from typing import Any

from simulators.gitlab import render_mr
from simulators.gitlab.model import Project
from simulators.gitlab.repo_model import Commit

FILE_MODE = "100644"


def file_diff(path: str, before: str | None, after: str | None) -> dict[str, Any]:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True), (after or "").splitlines(keepends=True), n=3
    )
    body = "".join(list(lines)[2:])  # GitLab's diff starts at the first hunk (no ---/+++ lines)
    return {
        "old_path": path,
        "new_path": path,
        "a_mode": "0" if before is None else FILE_MODE,
        "b_mode": "0" if after is None else FILE_MODE,
        "diff": body,
        "new_file": before is None,
        "renamed_file": False,
        "deleted_file": after is None,
        "generated_file": False,
    }


def compare(
    base: str, proj: Project, source: Commit, target: Commit, between: list[Commit], same_ref: bool
) -> dict[str, Any]:
    """The body of a comparison of `source` (from) with `target` (to); `between` newest first."""
    old, new = source.files, target.files
    changed = [p for p in sorted({*old, *new}) if old.get(p) != new.get(p)]
    commits = [render_mr.commit(base, proj, c) for c in reversed(between)]
    return {
        "commit": commits[-1] if commits else None,
        "commits": commits,
        "diffs": [file_diff(p, old.get(p), new.get(p)) for p in changed],
        "compare_timeout": False,
        "compare_same_ref": same_ref,
        "web_url": f"{base}/{proj.path}/-/compare/{source.id}...{target.id}",
    }
