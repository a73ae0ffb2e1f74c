"""Saga compensation of a merged GitLab fix MR (python-gitlab): revert its merge commit on a revert branch
with GitLab's revert API (`POST /projects/:id/repository/commits/:sha/revert`), open the revert MR and
merge it when its pipeline succeeds. Idempotent: a retried activity finds the branch, the revert commit
and the MR it made before.
"""

from __future__ import annotations

import logging

from gitlab.exceptions import GitlabCreateError, GitlabError, GitlabRevertError
from gitlab.v4.objects import Project, ProjectMergeRequest

from activities import ci_history
from activities.ci_gitlab import gitlab_client, gitlab_errors
from contracts.fixpr import RevertArgs, RevertResult
from domain.ci_healing.fixpr import revert_branch
from domain.shared.redaction import redact

log = logging.getLogger("mender.activities.fixpr_gitlab_revert")
REFUSED = (401, 405, 406, 409, 422)


def revert(args: RevertArgs) -> RevertResult:
    """Open (or find) the revert MR of the fix MR merged as `args.merge_sha` and merge it (when its
    pipeline succeeds); the playbook's success rate drops (once per fix)."""
    pr = args.pr
    with gitlab_errors(f"revert {pr.project}!{pr.number}"):
        project = gitlab_client().projects.get(pr.project)
        branch = revert_branch(pr.number)
        mr = next(iter(project.mergerequests.list(source_branch=branch, state="all", get_all=False)), None)
        if mr is None:
            detail = _revert_commit(project, branch, args.merge_sha)
            if detail:
                return RevertResult(opened=False, detail=detail)
            mr = project.mergerequests.create(
                {
                    "source_branch": branch,
                    "target_branch": project.default_branch,
                    "title": f"[mender] Revert !{pr.number}",
                    "description": (
                        f"Mender reverts !{pr.number}: {redact(args.reason)[:1000]}\n\n"
                        "The default branch failed after the fix was merged; this reverts its merge commit."
                    ),
                    "labels": "mender",
                    "remove_source_branch": True,
                }
            )
        ci_history.record_revert(args.playbook, pr.run.workflow_id, pr.project)
        return _merge(mr)


def _revert_commit(project: Project, branch: str, merge_sha: str) -> str:
    """The revert commit on `branch` (made from the default branch); '' when there, else why not."""
    try:
        project.branches.create({"branch": branch, "ref": project.default_branch})
    except GitlabCreateError as exc:
        if exc.response_code != 400:  # 400: the branch exists (a retried activity)
            raise
    try:
        project.commits.get(merge_sha, lazy=True).revert(branch=branch)
    except GitlabRevertError as exc:
        if exc.response_code != 400:
            raise
        head = project.branches.get(branch).commit["id"]
        if head != project.branches.get(project.default_branch).commit["id"]:
            return ""  # the revert commit is there already (a retried activity)
        log.warning("GitLab cannot revert %s of %s: %s", merge_sha[:12], project.path_with_namespace, exc)
        _drop(project, branch)
        return f"GitLab cannot revert the merge commit: {exc.error_message}"[:300]
    return ""


def _drop(project: Project, branch: str) -> None:
    try:
        project.branches.delete(branch)
    except GitlabError as exc:
        if exc.response_code != 404:
            raise


def _merge(mr: ProjectMergeRequest) -> RevertResult:
    opened = {"opened": True, "number": mr.iid, "url": mr.web_url}
    if mr.state == "merged":
        return RevertResult(**opened, merged=True)
    if mr.state != "opened":
        return RevertResult(**opened, detail="the revert MR is closed")
    try:
        mr.merge(merge_when_pipeline_succeeds=True)
    except GitlabError as exc:
        if exc.response_code not in REFUSED:
            raise
        return RevertResult(**opened, detail=f"revert MR not mergeable: {exc.error_message}"[:300])
    merged = mr.state == "merged"
    return RevertResult(**opened, merged=merged, detail="" if merged else "merge when pipeline succeeds")
