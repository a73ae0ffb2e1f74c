"""The hooks a merge request sends: its pipelines' Pipeline Hooks (with the `merge_request` object GitLab
adds to a merge request pipeline's hook) and Merge Request Hooks (`action`: open, approved, merge, close).

Callers hold the state's lock; nothing is sent without a webhook URL.
"""

from __future__ import annotations

from typing import Any

from simulators.gitlab import render
from simulators.gitlab.model import Pipeline, Project, hook_ts, iso
from simulators.gitlab.repo_model import MergeRequest
from simulators.gitlab.state import GitLabState

MERGE_REQUEST_HOOK = "Merge Request Hook"


def mr_brief(base: str, proj: Project, mr: MergeRequest) -> dict[str, Any]:
    """The `merge_request` object of a merge request pipeline's Pipeline Hook."""
    return {
        "id": mr.id,
        "iid": mr.iid,
        "title": mr.title,
        "source_branch": mr.source_branch,
        "source_project_id": proj.id,
        "target_branch": mr.target_branch,
        "target_project_id": proj.id,
        "state": mr.state,
        "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable",
        "url": f"{base}/{proj.path}/-/merge_requests/{mr.iid}",
    }


def pipeline_event(state: GitLabState, proj: Project, p: Pipeline, mr: MergeRequest) -> None:
    """A Pipeline Hook for the merge request pipeline's current state."""
    body = render.pipeline_hook(state.base_url, proj, p)
    body["merge_request"] = mr_brief(state.base_url, proj, mr)
    state.deliverer.enqueue(proj.path, p.id, p.status, body)


def merge_request_event(state: GitLabState, proj: Project, mr: MergeRequest, action: str) -> None:
    """A Merge Request Hook: `action` is open, update, approved, unapproved, merge, close or reopen."""
    base = state.base_url
    head = proj.commits.get(mr.sha)
    attributes = {
        **mr_brief(base, proj, mr),
        "description": mr.description,
        "created_at": hook_ts(mr.created_at),
        "updated_at": hook_ts(mr.updated_at),
        "merge_commit_sha": mr.merge_commit_sha,
        "merge_when_pipeline_succeeds": mr.merge_when_pipeline_succeeds,
        "head_pipeline_id": mr.pipeline_ids[-1] if mr.pipeline_ids else None,
        "last_commit": {
            "id": mr.sha,
            "message": head.message if head is not None else "",
            "title": head.title if head is not None else "",
            "timestamp": iso(head.created_at) if head is not None else None,
            "url": f"{base}/{proj.path}/-/commit/{mr.sha}",
        },
        "labels": [{"title": name} for name in mr.labels],
        "action": action,
    }
    body = {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": {k: render.CI_USER[k] for k in ("id", "name", "username")},
        "project": {
            "id": proj.id,
            "name": proj.name,
            "web_url": f"{base}/{proj.path}",
            "path_with_namespace": proj.path,
            "default_branch": proj.default_branch,
        },
        "object_attributes": attributes,
        "labels": attributes["labels"],
        "changes": {},
    }
    state.deliverer.enqueue(proj.path, mr.iid, action, body, MERGE_REQUEST_HOOK)
