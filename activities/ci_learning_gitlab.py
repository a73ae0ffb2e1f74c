"""Reading a human's fix of a GitLab failure (python-gitlab): the first green pipeline on the failed
pipeline's ref in which the failed jobs passed, and the commits in between through GitLab's compare API
(`GET /projects/:id/repository/compare?from=&to=`: `commits`, `diffs` with `old_path`, `new_path`,
`diff`, `new_file`, `deleted_file`, `renamed_file`). `ci_learning` turns what is found into a learned fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitlab.exceptions import GitlabGetError
from gitlab.v4.objects import Project, ProjectPipeline

from domain.ci_healing.config import LearningConfig
from domain.ci_healing.learn_changes import MAX_FILES, ChangedFile, Learned, Refused, read_change
from domain.shared.times import aware

GREEN_PIPELINES_SEARCHED = 30


@dataclass(frozen=True)
class HumanFix:
    """The replayable change of the commits between the failed pipeline and the green one."""

    learned: Learned
    url: str  # the comparison's web_url
    commits: list[str]
    green_id: int


def read_gitlab_fix(project: Project, pipeline_id: int, config: LearningConfig) -> HumanFix | Refused | None:
    """The human's fix (or why it cannot be learned) once a green pipeline follows the failure; None before."""
    failed = project.pipelines.get(pipeline_id)
    jobs = {j.name for j in failed.jobs.list(get_all=True) if j.status == "failed"}
    green = _first_green_after(project, failed, jobs)
    if green is None:
        return None
    if green.sha == failed.sha:
        return Refused(
            f"pipeline {green.id} passed on the same commit: nothing was changed (a flaky failure)"
        )
    comparison: dict[str, Any] = project.repository_compare(failed.sha, green.sha)  # type: ignore[assignment]
    diffs = comparison.get("diffs") or []
    if len(diffs) > MAX_FILES:
        return Refused(f"{len(diffs)} files changed (at most {MAX_FILES} are learned)")
    changes = [_changed(project, d, failed.sha, green.sha) for d in diffs]
    found = read_change(changes, config.max_changed_lines)
    if isinstance(found, Refused):
        return found
    commits = [str(c["id"]) for c in comparison.get("commits") or []]
    return HumanFix(found, str(comparison.get("web_url", "")), commits, int(green.id))


def _first_green_after(project: Project, failed: ProjectPipeline, jobs: set[str]) -> ProjectPipeline | None:
    """The oldest successful pipeline on the failed one's ref, begun after it, in which its jobs passed."""
    greens = project.pipelines.list(ref=failed.ref, status="success", per_page=GREEN_PIPELINES_SEARCHED)
    later = sorted(
        (p for p in greens if p.id != failed.id and _at(p.created_at) >= _at(failed.created_at)),
        key=lambda p: (_at(p.created_at), p.id),
    )
    for pipeline in later:
        passed = {j.name for j in pipeline.jobs.list(get_all=True) if j.status == "success"}
        if jobs <= passed:
            return project.pipelines.get(pipeline.id)
    return None


def _changed(project: Project, diff: dict[str, Any], before_sha: str, after_sha: str) -> ChangedFile:
    text = str(diff.get("diff") or "")
    lines = text.splitlines()
    status = (
        "added"
        if diff.get("new_file")
        else "removed"
        if diff.get("deleted_file")
        else "renamed"
        if diff.get("renamed_file")
        else "modified"
    )
    return ChangedFile(
        path=str(diff.get("new_path") or diff.get("old_path")),
        status=status,
        additions=sum(1 for line in lines if line.startswith("+") and not line.startswith("+++")),
        deletions=sum(1 for line in lines if line.startswith("-") and not line.startswith("---")),
        before=None if status == "added" else _read(project, str(diff.get("old_path")), before_sha),
        after=None if status == "removed" else _read(project, str(diff.get("new_path")), after_sha),
    )


def _read(project: Project, path: str, ref: str) -> str | None:
    try:
        return project.files.get(file_path=path, ref=ref).decode().decode("utf-8", errors="replace")
    except GitlabGetError:
        return None


def _at(stamp: str) -> datetime:
    return aware(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
