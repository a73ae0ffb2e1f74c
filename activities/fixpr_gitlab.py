"""Fix merge requests on GitLab (python-gitlab): open the fix MR with its commit, read its pipeline's jobs
as evidence, publish, merge (when the pipeline succeeds), merge after one approval, close.

The fix PR activities (`activities/fixpr.py`) and `ci.open_fix` hand GitLab projects to these functions;
a `FixPRRef.number` is the merge request's iid.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

from gitlab.exceptions import GitlabError, GitlabGetError
from gitlab.v4.objects import Project, ProjectMergeRequest

from activities.ci_gitlab import GitLabCI, gitlab_client, gitlab_errors
from activities.ci_history import learned_fix_for
from contracts.ci import FixArgs, FixResult, FixVerdict
from contracts.fixpr import ChecksSnapshot, CloseFixArgs, DefaultRunQuery, FixPRRef, MergeResult, PublishArgs
from domain.ci_healing.evidence import check_of
from domain.ci_healing.fixes import FixPlan
from domain.ci_healing.fixpr_body import with_evidence
from domain.ci_healing.gitlab_ci_fixes import plan_gitlab_fix
from domain.ci_healing.learned_apply import plan_learned
from domain.ci_healing.reports import fix_pr_body
from domain.ci_healing.runs import CIRunEvent, CIRunRef
from domain.shared.redaction import redact

log = logging.getLogger("mender.activities.fixpr_gitlab")
REFUSED = (401, 405, 406, 409, 422)  # not mergeable (yet), head moved: a result, not an error
MAX_SIGNED = 20  # commits of a fix MR whose signature is read (a fix MR has one or two)


class GitLabFixCI(GitLabCI):
    """GitLab's CI port with fix merge requests: opened with their commit, closed on a rollback."""

    def open_fix(self, args: FixArgs) -> FixResult:
        return open_fix(args)

    def branch_status(self, run: CIRunRef, branch: str) -> CIRunEvent | None:
        """The fix MR's head pipeline, as an event for the failed pipeline it fixes (None before one)."""
        with gitlab_errors(f"read the fix MR of {branch}"):
            listed = self.project.mergerequests.list(source_branch=branch, state="all", get_all=False)
            mr = next(iter(listed), None)
            pipeline = (mr.head_pipeline or {}) if mr is not None else {}
            if not pipeline.get("id"):
                return None
            found = self.project.pipelines.get(pipeline["id"])
        event = self._event(found.attributes)
        return event.model_copy(update={"fix_for": run, "head_branch": branch})

    def rollback(self, verdict: FixVerdict) -> None:
        fix = verdict.fix
        if fix.pr_number is not None and fix.branch:
            pr = FixPRRef(run=verdict.run, number=fix.pr_number, branch=fix.branch)
            close(CloseFixArgs(pr=pr, reason=f"the fix did not pass: {verdict.detail}"))


def _project(path: str) -> Project:
    return gitlab_client().projects.get(path, lazy=True)


def _mr(pr: FixPRRef) -> ProjectMergeRequest:
    return _project(pr.project).mergerequests.get(pr.number)


def _read(project: Project, ref: str, path: str) -> str | None:
    try:
        return project.files.raw(path, ref=ref).decode("utf-8", errors="replace")
    except GitlabGetError as exc:
        if exc.response_code == 404:
            return None
        raise


def reader(project_path: str) -> Callable[[str, str], str | None]:
    """`read(path, ref)`: a file's text at a branch or commit of the project, None when absent."""
    project = _project(project_path)
    return lambda path, ref: _read(project, ref, path)


def open_fix(args: FixArgs) -> FixResult:
    """Commit the planned fix on `mender/ci-fix/<pipeline>-<attempt>` and open an MR (idempotent).

    A dependency edits the manifest; an env default, a timeout or memory edits `.gitlab-ci.yml`
    (`domain/ci_healing/gitlab_ci_fixes.py`: GitLab CI's YAML, not GitHub Actions')."""
    project_path = args.run.project
    with gitlab_errors(f"read {project_path}"):
        full = gitlab_client().projects.get(project_path)
        base = args.head_branch or full.default_branch
        read = lambda path: _read(full, base, path)  # noqa: E731
        learned = learned_fix_for(args.diagnosis.playbook)
        if learned is not None:  # a human's fix of the same failure, replayed (manifest or .gitlab-ci.yml)
            plan = plan_learned(learned, read, []) if args.attempt == 1 else None
            plan = plan or FixPlan.none("no further fix: the learned fix was tried")
        else:
            plan = plan_gitlab_fix(args.diagnosis, args.attempt, read)
    if not plan.edits:
        return FixResult(opened=False, detail=plan.reason)
    branch = args.run.fix_branch(args.attempt)
    message = f"{plan.title}\n\nMender fix for {args.run_url}"
    with gitlab_errors(f"open fix branch {branch}"):
        exists = _branch_exists(full, branch)
        head = branch if exists else base
        actions = [
            {
                "action": "update" if _read(full, head, e.path) is not None else "create",
                "file_path": e.path,
                "content": e.content,
            }
            for e in plan.edits
            if _read(full, head, e.path) != e.content
        ]
        if actions:
            data = {"branch": branch, "commit_message": message, "actions": actions}
            full.commits.create(data if exists else {**data, "start_branch": base})
        mr = next(iter(full.mergerequests.list(source_branch=branch, state="opened", get_all=False)), None)
        if mr is None:
            body = fix_pr_body(args, plan, "pending: waiting for the merge request pipeline")
            mr = full.mergerequests.create(
                {
                    "source_branch": branch,
                    "target_branch": base,
                    "title": f"[mender] {plan.title}",
                    "description": body,
                    "labels": "mender",
                    "remove_source_branch": True,
                }
            )
    return FixResult(
        opened=True,
        detail=plan.description,
        branch=branch,
        pr_number=mr.iid,
        pr_url=mr.web_url,
        files=[e.path for e in plan.edits],
    )


def _branch_exists(project: Project, branch: str) -> bool:
    try:
        project.branches.get(branch)
    except GitlabGetError as exc:
        if exc.response_code == 404:
            return False
        raise
    return True


def checks(pr: FixPRRef) -> ChecksSnapshot:
    """The MR's state, its head pipeline's jobs (newest per name), approvals; no pipeline: no checks."""
    with gitlab_errors(f"read fix MR {pr.project}!{pr.number}"):
        project = _project(pr.project)
        mr = project.mergerequests.get(pr.number)
        pipeline = mr.head_pipeline or {}
        found = []
        if pipeline.get("id"):
            jobs = project.pipelines.get(pipeline["id"], lazy=True).jobs.list(get_all=True)
            found = [c for job in jobs if (c := check_of(job.attributes)) is not None]
        approvals = mr.approvals.get().approved_by
        verified = _verified(project, mr)
    seen: dict[str, object] = {}
    for check in found:  # GitLab lists the newest job first: a retried job's result wins
        seen.setdefault(check.name, check)
    return ChecksSnapshot(
        state=mr.state if mr.state in ("merged", "closed") else "open",
        head_sha=mr.sha or "",
        base=mr.target_branch,
        checks=list(seen.values()),
        approvals=sorted(a["user"]["username"] for a in approvals),
        verified=verified,
        merge_sha=mr.merge_commit_sha if mr.state == "merged" else None,
    )


def _verified(project: Project, mr: ProjectMergeRequest) -> bool | None:
    """Every commit of the MR carries a signature GitLab verified (`GET .../commits/:sha/signature`, 404:
    unsigned); None when the MR has no commit to judge. GitLab does not sign API commits unless the
    instance is set up to, so an unsigned fix MR says so instead of claiming verified commits."""
    shas = [c.id for c in itertools.islice(mr.commits(per_page=MAX_SIGNED), MAX_SIGNED)]
    if not shas:
        return None
    for sha in shas:
        try:
            signature = project.commits.get(sha, lazy=True).signature()
        except GitlabGetError as exc:
            if exc.response_code == 404:
                return False
            raise
        if not isinstance(signature, dict) or signature.get("verification_status") != "verified":
            return False
    return True


def publish(args: PublishArgs) -> None:
    """The evidence section in the MR description, the route's label, a note when asked."""
    pr = args.pr
    with gitlab_errors(f"publish evidence on {pr.project}!{pr.number}"):
        mr = _mr(pr)
        body = with_evidence(mr.description or "", args.section)
        labels = list(mr.labels)
        if args.label and args.label not in labels:
            labels.append(args.label)
        if body != (mr.description or "") or labels != list(mr.labels):
            mr.description, mr.labels = body[:60000], labels
            mr.save()
        if args.comment:
            _note_once(mr, redact(args.comment)[:5000])


def _note_once(mr: ProjectMergeRequest, body: str) -> None:
    """Post `body` unless it is there: a retry whose killed attempt posted it does not post it again."""
    if not any(note.body == body for note in mr.notes.list(iterator=True)):
        mr.notes.create({"body": body})


def merge(pr: FixPRRef, approvals_required: int = 0) -> MergeResult:
    """Merge when the MR pipeline succeeds (at once when it already did); with `approvals_required`,
    GitLab merges only after that many approvals. A refusal is a result."""
    with gitlab_errors(f"merge {pr.project}!{pr.number}"):
        mr = _mr(pr)
        if mr.state == "merged":
            return MergeResult(merged=True, sha=mr.merge_commit_sha, detail="already merged")
        if mr.state != "opened":
            return MergeResult(merged=False, detail="the merge request is closed")
        if approvals_required:
            mr.approvals.update(new_data={"approvals_required": approvals_required})
        try:
            mr.merge(merge_when_pipeline_succeeds=True, sha=mr.sha)
        except GitlabError as exc:
            if exc.response_code in REFUSED:
                return MergeResult(merged=False, detail=f"GitLab refused the merge: {exc.error_message}")
            raise
    if mr.state == "merged":
        return MergeResult(merged=True, sha=mr.merge_commit_sha, detail="merged")
    return MergeResult(
        merged=False,
        detail="merge when pipeline succeeds"
        + (f" after {approvals_required} approval(s)" if approvals_required else ""),
    )


def close(args: CloseFixArgs) -> None:
    """Close the MR with the reason as a note and delete its branch (idempotent)."""
    pr = args.pr
    with gitlab_errors(f"close {pr.project}!{pr.number}"):
        project = _project(pr.project)
        mr = project.mergerequests.get(pr.number)
        if mr.state == "opened":
            _note_once(mr, f"Closed by Mender: {redact(args.reason)[:2000]}")
            mr.state_event = "close"
            mr.save()
        try:
            project.branches.delete(pr.branch)
        except GitlabError as exc:
            if exc.response_code != 404:
                raise


def default_run(query: DefaultRunQuery) -> CIRunEvent | None:
    """The newest pipeline on the merge commit of the target branch (None before one exists)."""
    with gitlab_errors(f"pipelines on {query.merge_sha[:12]} of {query.pr.project}"):
        ci = GitLabCI(query.pr.project)
        found = next(iter(ci.project.pipelines.list(sha=query.merge_sha, per_page=1, get_all=False)), None)
    return ci._event(found.attributes) if found is not None else None
