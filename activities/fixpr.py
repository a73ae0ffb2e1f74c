"""Fix PR activities on GitHub (PyGithub; GitLab merge requests: `activities/fixpr_gitlab.py`): read the PR and its checks, publish evidence, merge, close,
watch the default branch after a merge and revert a fix that turned it red.

Commits go through the Contents API as the Mender app, which GitHub signs (`verification.verified`);
`ChecksSnapshot.verified` says whether every commit of the PR is verified.
"""

from __future__ import annotations

import contextlib
import logging

from github import GithubException, UnknownObjectException
from github.PullRequest import PullRequest
from github.Repository import Repository

from activities import ci_history, fixpr_gitlab, fixpr_gitlab_revert
from activities.ci_github import polled_event
from activities.definition import defn
from activities.github import github_client, github_errors
from contracts.fixpr import (
    ChecksSnapshot,
    CloseFixArgs,
    DefaultRunQuery,
    FixPRRef,
    FixPRSettings,
    MergeResult,
    PublishArgs,
    RevertArgs,
    RevertResult,
)
from domain.ci_healing.evidence import check_of
from domain.ci_healing.fixpr import revert_branch
from domain.ci_healing.fixpr_body import with_evidence
from domain.ci_healing.runs import CIRunEvent, Provider
from domain.shared.redaction import redact
from runtime.settings import get_settings

log = logging.getLogger("mender.activities.fixpr")
MAX_CHECKS = 200


def _repo(project: str) -> Repository:
    return github_client(get_settings(), project).get_repo(project)


@defn(name="config.fix_pr_settings")
def fix_pr_settings(project: str) -> FixPRSettings:
    """The fix PR settings, risk gate and mode of `project` as configured right now."""
    config = get_settings().config
    return FixPRSettings(
        policy=config.fix_pr_policy(project),
        risk=config.ci.risk,
        mode=config.policy_for(project).mode,
        history_events_before_continue=config.ci.history_events_before_continue,
    )


@defn(name="config.playbook_prior")
def playbook_prior(playbook: str) -> float | None:
    """The playbook's measured success rate, the ceiling of a fix's confidence (issue 17, point 6):
    None below `ci.learning.min_samples` attempts or when the store cannot answer (no ceiling)."""
    return ci_history.playbook_prior(playbook)


@defn(name="fixpr.checks")
def checks(pr: FixPRRef) -> ChecksSnapshot:
    """The PR's state, its head's check runs (Actions jobs included), approvals and commit signatures."""
    if pr.run.provider is Provider.GITLAB:
        return fixpr_gitlab.checks(pr)
    with github_errors(f"read fix PR {pr.project}#{pr.number}"):
        repo = _repo(pr.project)
        pull = repo.get_pull(pr.number)
        head = pull.head.sha
        found = []
        for _, run in zip(range(MAX_CHECKS), repo.get_commit(head).get_check_runs(), strict=False):
            if (check := check_of(run.raw_data)) is not None:
                found.append(check)
        latest: dict[str, str] = {}
        for review in pull.get_reviews():
            if review.user is not None and review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[review.user.login] = review.state
        verified = all(_verified(c.raw_data) for c in pull.get_commits())
        state = "merged" if pull.merged else pull.state
    return ChecksSnapshot(
        state=state,
        head_sha=head,
        base=pull.base.ref,
        checks=_newest(found),
        approvals=sorted(u for u, s in latest.items() if s == "APPROVED"),
        verified=verified,
        merge_sha=pull.merge_commit_sha if pull.merged else None,
    )


def _comment_once(pull: PullRequest, body: str) -> None:
    """Post `body` unless it is there: a retry whose killed attempt posted it does not post it again."""
    if not any(comment.body == body for comment in pull.get_issue_comments()):
        pull.create_issue_comment(body)


def _verified(commit: dict) -> bool:
    """The listed commit's `commit.verification.verified` (read from the list: no request per commit)."""
    return bool(((commit.get("commit") or {}).get("verification") or {}).get("verified"))


def _newest(found: list) -> list:
    """One check per name (GitHub lists the newest first: a re-run's result wins)."""
    seen: dict[str, object] = {}
    for check in found:
        seen.setdefault(check.name, check)
    return list(seen.values())


@defn(name="fixpr.publish")
def publish(args: PublishArgs) -> None:
    """Write the evidence section into the PR body, label it with its route, comment when asked."""
    if args.pr.run.provider is Provider.GITLAB:
        return fixpr_gitlab.publish(args)
    pr = args.pr
    with github_errors(f"publish evidence on {pr.project}#{pr.number}"):
        pull = _repo(pr.project).get_pull(pr.number)
        body = with_evidence(pull.body or "", args.section)
        if body != (pull.body or ""):
            pull.edit(body=body[:60000])
        if args.label and args.label not in {label.name for label in pull.labels}:
            pull.add_to_labels(args.label)
        if args.comment:
            _comment_once(pull, redact(args.comment)[:5000])


@defn(name="fixpr.merge")
def merge(pr: FixPRRef) -> MergeResult:
    """Merge the PR (merge commit); a refusal (405/409: not mergeable, head moved) is a result."""
    if pr.run.provider is Provider.GITLAB:
        return fixpr_gitlab.merge(pr)
    with github_errors(f"merge {pr.project}#{pr.number}"):
        pull = _repo(pr.project).get_pull(pr.number)
        if pull.merged:
            return MergeResult(merged=True, sha=pull.merge_commit_sha, detail="already merged")
        if pull.state != "open":
            return MergeResult(merged=False, detail="the PR is closed")
        try:
            status = pull.merge(merge_method="merge", sha=pull.head.sha)
        except GithubException as exc:
            if exc.status in (405, 409, 422):
                message = exc.data.get("message") if isinstance(exc.data, dict) else str(exc)
                return MergeResult(merged=False, detail=f"GitHub refused the merge: {message}")
            raise
    return MergeResult(merged=bool(status.merged), sha=status.sha, detail=status.message or "")


@defn(name="fixpr.close")
def close(args: CloseFixArgs) -> None:
    """Close the PR with the reason as a comment and delete its branch (idempotent)."""
    if args.pr.run.provider is Provider.GITLAB:
        return fixpr_gitlab.close(args)
    pr = args.pr
    with github_errors(f"close {pr.project}#{pr.number}"):
        repo = _repo(pr.project)
        pull = repo.get_pull(pr.number)
        if pull.state == "open":
            _comment_once(pull, f"Closed by Mender: {redact(args.reason)[:2000]}")
            pull.edit(state="closed")
        with contextlib.suppress(UnknownObjectException):
            ref = repo.get_git_ref(f"heads/{pr.branch}")
            _ = ref.object  # a lazy ref only knows its read URL: load it first
            ref.delete()


@defn(name="fixpr.default_run")
def default_run(query: DefaultRunQuery) -> CIRunEvent | None:
    """The newest workflow run on the merge commit of the default branch (None before one exists)."""
    if query.pr.run.provider is Provider.GITLAB:
        return fixpr_gitlab.default_run(query)
    pr = query.pr
    with github_errors(f"runs on {query.merge_sha[:12]} of {pr.project}"):
        repo = _repo(pr.project)
        run = next(iter(repo.get_workflow_runs(head_sha=query.merge_sha)), None)
        if run is None:
            return None
        return polled_event(pr.project, run)


@defn(name="fixpr.revert")
def revert(args: RevertArgs) -> RevertResult:
    """Saga compensation of a merged fix: restore each file it changed to its content before the merge,
    on a revert branch, open the revert PR and merge it (idempotent on retries)."""
    if args.pr.run.provider is Provider.GITLAB:
        return fixpr_gitlab_revert.revert(args)
    pr = args.pr
    with github_errors(f"revert {pr.project}#{pr.number}"):
        repo = _repo(pr.project)
        merged = repo.get_commit(args.merge_sha)
        before = merged.parents[0].sha if merged.parents else None
        if before is None:
            return RevertResult(opened=False, detail="the merge commit has no parent")
        base = repo.default_branch
        branch = revert_branch(pr.number)
        existing = next(iter(repo.get_pulls(state="all", head=f"{repo.owner.login}:{branch}")), None)
        if existing is None:
            _branch(repo, branch, repo.get_branch(base).commit.sha)
            message = f"Revert the Mender fix of #{pr.number}: {args.reason}"[:200]
            for path in args.files:
                _restore(repo, branch, path, before, message)
            body = (
                f"Mender reverts #{pr.number}: {redact(args.reason)[:1000]}\n\n"
                "The default branch failed after the fix was merged; this restores the files it changed."
            )
            existing = repo.create_pull(
                title=f"[mender] Revert #{pr.number}", body=body, head=branch, base=base
            )
        ci_history.record_revert(args.playbook, pr.run.workflow_id, pr.project)
        if existing.merged:
            return RevertResult(opened=True, number=existing.number, url=existing.html_url, merged=True)
        try:
            result = existing.merge(merge_method="merge")
        except GithubException as exc:
            if exc.status not in (405, 409):
                raise
            return RevertResult(
                opened=True, number=existing.number, url=existing.html_url, detail="revert PR not mergeable"
            )
    return RevertResult(
        opened=True, number=existing.number, url=existing.html_url, merged=bool(result.merged)
    )


def _branch(repo: Repository, branch: str, sha: str) -> None:
    try:
        repo.create_git_ref(f"refs/heads/{branch}", sha)
    except GithubException as exc:
        if exc.status != 422:  # 422: the branch exists (a retried activity)
            raise


def _text(repo: Repository, path: str, ref: str) -> tuple[str | None, str | None]:
    """(text, blob sha) of `path` at `ref`; (None, None) when absent."""
    try:
        found = repo.get_contents(path, ref=ref)
    except UnknownObjectException:
        return None, None
    if isinstance(found, list):
        raise ValueError(f"{path} is a directory")
    return found.decoded_content.decode("utf-8", errors="replace"), found.sha


def _restore(repo: Repository, branch: str, path: str, ref: str, message: str) -> None:
    old, _ = _text(repo, path, ref)
    current, sha = _text(repo, path, branch)
    if old == current:
        return
    if old is None:
        repo.delete_file(path, message, sha or "", branch=branch)
    elif current is None:
        repo.create_file(path, message, old, branch=branch)
    else:
        repo.update_file(path, message, old, sha or "", branch=branch)


@defn(name="fixpr.merge_after_approval")
def merge_after_approval(pr: FixPRRef) -> MergeResult:
    """GitLab: require one approval and merge when the pipeline succeeds (GitLab merges on the approval);
    GitHub: nothing to set (the workflow merges itself once approved)."""
    if pr.run.provider is Provider.GITLAB:
        return fixpr_gitlab.merge(pr, approvals_required=1)
    return MergeResult(merged=False, detail="the workflow merges once approved")


FIXPR_ACTIVITIES = [
    fix_pr_settings,
    playbook_prior,
    checks,
    publish,
    merge,
    merge_after_approval,
    close,
    default_run,
    revert,
]
