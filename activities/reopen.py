"""Close-and-reopen steps (each idempotent) and their compensations, through PyGithub.

The saga that orders them lives in `workflows/reopen_saga.py`.
"""

from __future__ import annotations

from github import GithubException, UnknownObjectException

from activities.definition import defn
from activities.github import _fail, _repo, github_errors
from activities.github_files import ensure_branch
from contracts.pr import BranchArgs, CloseArgs, OpenedPR, ReopenArgs
from domain.pr_healing.events import PRRef
from domain.shared.redaction import redact


def replacement_branch(pr: PRRef) -> str:
    return f"mender/replace-{pr.number}"


def lineage_line(old: int) -> str:
    return f"Replaces #{old}"


@defn(name="reopen.find_duplicate")
def find_duplicate(args: ReopenArgs) -> int | None:
    """A PR that already carries the same fix: an open one with the same title or lineage, or this PR's
    replacement in any state but closed unmerged (an earlier attempt that was compensated)."""
    repo = _repo(args.pr)
    with github_errors(f"looking for a duplicate of {args.pr.key}", args.pr.repo):
        old = repo.get_pull(args.pr.number)
        owner = args.pr.repo.split("/")[0]
        for pull in repo.get_pulls(state="all", head=f"{owner}:{replacement_branch(args.pr)}"):
            if pull.state == "open" or pull.merged:
                return pull.number
        for pull in repo.get_pulls(state="open"):
            if pull.number == args.pr.number:
                continue
            if pull.title == old.title or lineage_line(args.pr.number) in (pull.body or ""):
                return pull.number
        return None


@defn(name="reopen.create_branch")
def create_branch(args: ReopenArgs) -> str:
    """A fresh branch from the latest base (reused if a previous attempt created it)."""
    repo = _repo(args.pr)
    name = replacement_branch(args.pr)
    with github_errors(f"creating branch {name}", args.pr.repo):
        base = repo.get_pull(args.pr.number).base.ref
        ensure_branch(repo, name, repo.get_branch(base).commit.sha)
        return name


@defn(name="reopen.copy_change")
def copy_change(args: BranchArgs) -> int:
    """Re-apply the PR's change (its files at its head) on the new branch; returns files written."""
    repo = _repo(args.pr)
    written = 0
    with github_errors(f"copying the change of {args.pr.key}", args.pr.repo):
        old = repo.get_pull(args.pr.number)
        for changed in old.get_files():
            path = changed.filename
            try:
                current = repo.get_contents(path, ref=args.branch)
            except UnknownObjectException:
                current = None
            if changed.status == "removed":
                if current is not None and not isinstance(current, list):
                    repo.delete_file(path, f"Remove {path}", current.sha, branch=args.branch)
                    written += 1
                continue
            wanted = repo.get_contents(path, ref=old.head.sha)
            assert not isinstance(wanted, list) and not isinstance(current, list)
            content = wanted.decoded_content
            message = f"{old.title} (reapplied from #{args.pr.number})"
            if current is None:
                repo.create_file(path, message, content, branch=args.branch)
            elif current.decoded_content != content:
                repo.update_file(path, message, content, current.sha, branch=args.branch)
            else:
                continue
            written += 1
        return written


@defn(name="reopen.open_pr")
def open_pr(args: BranchArgs) -> OpenedPR:
    """Open the replacement PR with lineage in its body (reuses one already open from the branch)."""
    repo = _repo(args.pr)
    with github_errors(f"opening the replacement of {args.pr.key}", args.pr.repo):
        old = repo.get_pull(args.pr.number)
        owner = args.pr.repo.split("/")[0]
        # any state: a retry after a crash finds the PR it opened even if it was merged meanwhile
        existing = list(repo.get_pulls(state="all", head=f"{owner}:{args.branch}"))
        pull = next((p for p in existing if p.state == "open" or p.merged), None)
        if pull is None:
            body = (
                f"{old.body or ''}\n\n{lineage_line(args.pr.number)}: reopened by Mender from the latest "
                f"`{old.base.ref}` because #{args.pr.number} conflicts with it."
            ).strip()
            pull = repo.create_pull(title=old.title, body=redact(body), head=args.branch, base=old.base.ref)
        return OpenedPR(number=pull.number, head_sha=pull.head.sha, html_url=pull.html_url)


@defn(name="reopen.close_pr")
def close_pr(args: CloseArgs) -> None:
    """Close a PR with an explaining comment (no-op when already closed; the comment is not posted again
    by a retry whose killed attempt posted it but did not close)."""
    repo = _repo(args.pr)
    with github_errors(f"closing {args.pr.key}", args.pr.repo):
        pull = repo.get_pull(args.pr.number)
        if pull.state == "closed":
            return
        issue, note = repo.get_issue(args.pr.number), redact(args.comment)
        if not any(comment.body == note for comment in issue.get_comments()):
            issue.create_comment(note)
        pull.edit(state="closed")


@defn(name="reopen.delete_branch")
def delete_branch(args: BranchArgs) -> None:
    """Delete the replacement branch (compensation; no-op when it is gone)."""
    repo = _repo(args.pr)
    try:
        ref = repo.get_git_ref(f"heads/{args.branch}")
        _ = ref.object  # a lazy ref only knows its (singular) read URL: load it to get the real one
        ref.delete()
    except UnknownObjectException:
        return
    except GithubException as exc:
        raise _fail(exc, f"deleting branch {args.branch}", args.pr.repo) from exc


REOPEN_ACTIVITIES = [find_duplicate, create_branch, copy_change, open_pr, close_pr, delete_branch]
