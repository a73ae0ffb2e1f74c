"""The GitLab simulator's repository records: branches with their files, commits, merge requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from simulators.gitlab.model import now


@dataclass
class Commit:
    id: str
    title: str
    message: str
    parent_ids: list[str]
    created_at: datetime = field(default_factory=now)
    files: dict[str, str] = field(default_factory=dict, repr=False)  # the tree at this commit

    @property
    def short_id(self) -> str:
        return self.id[:8]


@dataclass
class Branch:
    name: str
    commit: Commit
    files: dict[str, str] = field(default_factory=dict)  # path -> text
    protected: bool = False


@dataclass
class MergeRequest:
    id: int
    iid: int
    project_id: int
    title: str
    description: str
    source_branch: str
    target_branch: str
    labels: list[str] = field(default_factory=list)
    state: str = "opened"  # opened, merged, closed
    sha: str = ""
    merge_when_pipeline_succeeds: bool = False
    remove_source_branch: bool = False
    approvals_required: int = 0
    approved_by: list[str] = field(default_factory=list)  # usernames
    pipeline_ids: list[int] = field(default_factory=list)  # its merge request pipelines, oldest first
    merge_commit_sha: str | None = None
    base_sha: str = ""  # the target branch's head when the MR was opened (its commits: after it)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    merged_at: datetime | None = None
    notes: list[str] = field(default_factory=list)  # comments, oldest first

    @property
    def approvals_left(self) -> int:
        return max(0, self.approvals_required - len(self.approved_by))
