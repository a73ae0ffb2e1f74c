"""REST v4 bodies of repository records: branches, commits, files, merge requests and their approvals."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from simulators.gitlab.model import Pipeline, Project, iso
from simulators.gitlab.render import API_USER, pipeline_brief, user
from simulators.gitlab.repo_model import Branch, Commit, MergeRequest


def commit(base: str, proj: Project, c: Commit) -> dict[str, Any]:
    return {
        "id": c.id,
        "short_id": c.short_id,
        "title": c.title,
        "message": c.message,
        "parent_ids": c.parent_ids,
        "author_name": API_USER["name"],
        "author_email": API_USER["email"],
        "authored_date": iso(c.created_at),
        "committer_name": API_USER["name"],
        "committer_email": API_USER["email"],
        "committed_date": iso(c.created_at),
        "created_at": iso(c.created_at),
        "trailers": {},
        "web_url": f"{base}/{proj.path}/-/commit/{c.id}",
    }


def branch(base: str, proj: Project, b: Branch) -> dict[str, Any]:
    return {
        "name": b.name,
        "merged": False,
        "protected": b.name == proj.default_branch,
        "default": b.name == proj.default_branch,
        "developers_can_push": False,
        "developers_can_merge": False,
        "can_push": True,
        "web_url": f"{base}/{proj.path}/-/tree/{b.name}",
        "commit": commit(base, proj, b.commit),
    }


def file(path: str, ref: str, b: Branch, text: str) -> dict[str, Any]:
    raw = text.encode()
    return {
        "file_name": path.rsplit("/", 1)[-1],
        "file_path": path,
        "size": len(raw),
        "encoding": "base64",
        "content": base64.b64encode(raw).decode(),
        "content_sha256": hashlib.sha256(raw).hexdigest(),
        "ref": ref,
        "blob_id": hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest(),
        "commit_id": b.commit.id,
        "last_commit_id": b.commit.id,
        "execute_filemode": False,
    }


def merge_request(
    base: str, proj: Project, mr: MergeRequest, head: Pipeline | None, status: str
) -> dict[str, Any]:
    web = f"{base}/{proj.path}/-/merge_requests/{mr.iid}"
    brief = pipeline_brief(base, head) if head is not None else None
    return {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": proj.id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "created_at": iso(mr.created_at),
        "updated_at": iso(mr.updated_at),
        "merged_at": iso(mr.merged_at),
        "closed_at": None,
        "merged_by": user(base) if mr.state == "merged" else None,
        "merge_user": user(base) if mr.state == "merged" or mr.merge_when_pipeline_succeeds else None,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "source_project_id": proj.id,
        "target_project_id": proj.id,
        "author": user(base),
        "assignees": [],
        "reviewers": [],
        "labels": mr.labels,
        "draft": False,
        "work_in_progress": False,
        "merge_when_pipeline_succeeds": mr.merge_when_pipeline_succeeds,
        "merge_status": "can_be_merged" if status == "mergeable" else "cannot_be_merged",
        "detailed_merge_status": status,
        "has_conflicts": False,
        "sha": mr.sha,
        "merge_commit_sha": mr.merge_commit_sha,
        "squash_commit_sha": None,
        "should_remove_source_branch": mr.remove_source_branch,
        "force_remove_source_branch": mr.remove_source_branch,
        "squash": False,
        "pipeline": brief,
        "head_pipeline": brief,
        "web_url": web,
        "references": {"short": f"!{mr.iid}", "relative": f"!{mr.iid}", "full": f"{proj.path}!{mr.iid}"},
        "user_notes_count": 0,
        "upvotes": 0,
        "downvotes": 0,
    }


def approvals(base: str, proj: Project, mr: MergeRequest) -> dict[str, Any]:
    """`GET .../merge_requests/:iid/approvals` (and the body of `POST .../approve`)."""
    return {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": proj.id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "created_at": iso(mr.created_at),
        "updated_at": iso(mr.updated_at),
        "merge_status": "can_be_merged",
        "approved": not mr.approvals_left,
        "approvals_required": mr.approvals_required,
        "approvals_left": mr.approvals_left,
        "approved_by": [
            {"user": user(base, {**API_USER, "id": 100 + i, "username": name, "name": name})}
            for i, name in enumerate(mr.approved_by)
        ],
    }


def note(base: str, mr: MergeRequest, index: int, body: str) -> dict[str, Any]:
    return {
        "id": mr.id * 1000 + index,
        "type": None,
        "body": body,
        "author": user(base),
        "created_at": iso(mr.updated_at),
        "updated_at": iso(mr.updated_at),
        "system": False,
        "noteable_id": mr.id,
        "noteable_type": "MergeRequest",
        "noteable_iid": mr.iid,
        "project_id": mr.project_id,
        "resolvable": False,
    }
