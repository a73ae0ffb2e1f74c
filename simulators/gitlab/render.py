"""GitLab JSON: REST API v4 resources and the Pipeline Hook body (shaped like GitLab's documented examples)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from simulators.gitlab.model import Issue, Job, Pipeline, Project, hook_ts, iso

AVATAR = "https://www.gravatar.com/avatar/e32bd13e2add097461cb96824b7a829c?s=80&d=identicon"
API_USER = {"id": 1, "username": "mender-bot", "name": "Mender", "email": "mender-bot@example.com"}
CI_USER = {"id": 2, "username": "developer", "name": "Dev Eloper", "email": "developer@example.com"}
DETAILED = {  # status -> (detailed_status text/label, icon group)
    "created": ("created", "created"),
    "pending": ("pending", "pending"),
    "running": ("running", "running"),
    "success": ("passed", "success"),
    "failed": ("failed", "failed"),
    "canceled": ("canceled", "canceled"),
    "skipped": ("skipped", "skipped"),
}


def host(base: str) -> str:
    return urlsplit(base).hostname or "localhost"


def user(base: str, who: dict[str, Any] = API_USER, email: bool = False) -> dict[str, Any]:
    out = {
        "id": who["id"],
        "username": who["username"],
        "name": who["name"],
        "state": "active",
        "locked": False,
        "avatar_url": AVATAR,
        "web_url": f"{base}/{who['username']}",
    }
    return {**out, "email": who["email"]} if email else out


def detailed_status(status: str, details_path: str) -> dict[str, Any]:
    text, group = DETAILED.get(status, (status, status))
    return {
        "icon": f"status_{group}",
        "text": text,
        "label": text,
        "group": group,
        "tooltip": text,
        "has_details": True,
        "details_path": details_path,
        "illustration": None,
        "favicon": f"/assets/ci_favicons/favicon_status_{group}.png",
    }


def project(base: str, p: Project) -> dict[str, Any]:
    web = f"{base}/{p.path}"
    return {
        "id": p.id,
        "description": None,
        "name": p.name,
        "name_with_namespace": p.path.replace("/", " / "),
        "path": p.name,
        "path_with_namespace": p.path,
        "created_at": iso(p.created_at),
        "default_branch": p.default_branch,
        "ssh_url_to_repo": f"git@{host(base)}:{p.path}.git",
        "http_url_to_repo": f"{web}.git",
        "web_url": web,
        "visibility": "private",
        "archived": False,
        "issues_enabled": True,
        "jobs_enabled": True,
        "namespace": {
            "id": p.id + 100,
            "name": p.namespace,
            "path": p.namespace,
            "kind": "group",
            "full_path": p.namespace,
            "web_url": f"{base}/groups/{p.namespace}",
        },
        "_links": {
            "self": f"{base}/api/v4/projects/{p.id}",
            "issues": f"{base}/api/v4/projects/{p.id}/issues",
        },
    }


def pipeline_url(base: str, p: Pipeline) -> str:
    return f"{base}/{p.project_path}/-/pipelines/{p.id}"


def pipeline_brief(base: str, p: Pipeline) -> dict[str, Any]:
    """A pipeline as `GET /projects/:id/pipelines` lists it."""
    return {
        "id": p.id,
        "iid": p.iid,
        "project_id": p.project_id,
        "sha": p.sha,
        "ref": p.ref,
        "status": p.status,
        "source": p.source,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "web_url": pipeline_url(base, p),
        "name": None,
    }


def pipeline(base: str, p: Pipeline) -> dict[str, Any]:
    """A pipeline as `GET /projects/:id/pipelines/:pipeline_id` returns it."""
    return {
        **pipeline_brief(base, p),
        "before_sha": "0" * 40,
        "tag": False,
        "yaml_errors": None,
        "user": user(base, CI_USER),
        "started_at": iso(p.started_at),
        "finished_at": iso(p.finished_at),
        "committed_at": None,
        "duration": p.duration,
        "queued_duration": None,
        "coverage": None,
        "detailed_status": detailed_status(p.status, f"/{p.project_path}/-/pipelines/{p.id}"),
    }


def job(base: str, p: Pipeline, j: Job) -> dict[str, Any]:
    web = f"{base}/{p.project_path}/-/jobs/{j.id}"
    return {
        "id": j.id,
        "name": j.name,
        "stage": j.stage,
        "status": j.status,
        "ref": p.ref,
        "tag": False,
        "coverage": None,
        "allow_failure": False,
        "archived": False,
        "created_at": iso(j.created_at),
        "started_at": iso(j.started_at),
        "finished_at": iso(j.finished_at),
        "erased_at": None,
        "duration": j.duration,
        "queued_duration": j.queued_duration,
        "failure_reason": j.failure_reason,
        "retried": j.retried,
        "web_url": web,
        "user": user(base, CI_USER),
        "commit": {
            "id": p.sha,
            "short_id": p.sha[:8],
            "title": f"Update {p.ref}",
            "created_at": iso(p.created_at),
        },
        "pipeline": {
            "id": p.id,
            "iid": p.iid,
            "project_id": p.project_id,
            "ref": p.ref,
            "sha": p.sha,
            "status": p.status,
            "source": p.source,
            "web_url": pipeline_url(base, p),
        },
        "project": {"ci_job_token_scope_enabled": False},
        "artifacts": [],
        "artifacts_expire_at": None,
        "tag_list": ["docker"],
        "runner": None,
        "runner_manager": None,
    }


def issue(base: str, proj: Project, i: Issue) -> dict[str, Any]:
    return {
        "id": i.id,
        "iid": i.iid,
        "project_id": i.project_id,
        "title": i.title,
        "description": i.description,
        "state": i.state,
        "created_at": iso(i.created_at),
        "updated_at": iso(i.created_at),
        "closed_at": None,
        "closed_by": None,
        "labels": i.labels,
        "milestone": None,
        "assignees": [],
        "assignee": None,
        "author": user(base),
        "type": i.issue_type.upper(),
        "issue_type": i.issue_type,
        "user_notes_count": 0,
        "confidential": False,
        "discussion_locked": None,
        "web_url": f"{base}/{proj.path}/-/issues/{i.iid}",
        "references": {"short": f"#{i.iid}", "relative": f"#{i.iid}", "full": f"{proj.path}#{i.iid}"},
        "_links": {
            "self": f"{base}/api/v4/projects/{proj.id}/issues/{i.iid}",
            "project": f"{base}/api/v4/projects/{proj.id}",
        },
    }


def hook_build(j: Job) -> dict[str, Any]:
    return {
        "id": j.id,
        "stage": j.stage,
        "name": j.name,
        "status": j.status,
        "created_at": hook_ts(j.created_at),
        "started_at": hook_ts(j.started_at),
        "finished_at": hook_ts(j.finished_at),
        "duration": j.duration,
        "queued_duration": j.queued_duration,
        "failure_reason": j.failure_reason,
        "when": "on_success",
        "manual": False,
        "allow_failure": False,
        "user": {
            **{k: CI_USER[k] for k in ("id", "name", "username")},
            "avatar_url": AVATAR,
            "email": CI_USER["email"],
        },
        "runner": None,
        "artifacts_file": {"filename": None, "size": None},
        "environment": None,
    }


def pipeline_hook(base: str, proj: Project, p: Pipeline) -> dict[str, Any]:
    """The `Pipeline Hook` body for the pipeline's current state."""
    web = f"{base}/{proj.path}"
    return {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": p.id,
            "iid": p.iid,
            "name": None,
            "ref": p.ref,
            "tag": False,
            "sha": p.sha,
            "before_sha": "0" * 40,
            "source": p.source,
            "status": p.status,
            "detailed_status": DETAILED.get(p.status, (p.status,))[0],
            "stages": p.stages,
            "created_at": hook_ts(p.created_at),
            "finished_at": hook_ts(p.finished_at),
            "duration": p.duration,
            "queued_duration": None,
            "variables": [],
            "url": pipeline_url(base, p),
        },
        "merge_request": None,
        "user": {
            **{k: CI_USER[k] for k in ("id", "name", "username")},
            "avatar_url": AVATAR,
            "email": CI_USER["email"],
        },
        "project": {
            "id": proj.id,
            "name": proj.name,
            "description": None,
            "web_url": web,
            "avatar_url": None,
            "git_ssh_url": f"git@{host(base)}:{proj.path}.git",
            "git_http_url": f"{web}.git",
            "namespace": proj.namespace,
            "visibility_level": 0,
            "path_with_namespace": proj.path,
            "default_branch": proj.default_branch,
            "ci_config_path": None,
        },
        "commit": {
            "id": p.sha,
            "message": f"Update {p.ref}\n",
            "title": f"Update {p.ref}",
            "timestamp": iso(p.created_at),
            "url": f"{web}/-/commit/{p.sha}",
            "author": {"name": CI_USER["name"], "email": CI_USER["email"]},
        },
        "builds": [hook_build(j) for j in reversed(p.latest_jobs)],
    }
