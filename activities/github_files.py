"""A repository's files and branches through PyGithub, safe for a retried activity."""

from __future__ import annotations

from github import GithubException, UnknownObjectException
from github.Repository import Repository


def read_text(repo: Repository, path: str, ref: str) -> str | None:
    """The text of file `path` at `ref`; None when there is no such file (or it is a directory)."""
    try:
        found = repo.get_contents(path, ref=ref)
    except UnknownObjectException:
        return None
    return None if isinstance(found, list) else found.decoded_content.decode("utf-8", errors="replace")


def ensure_branch(repo: Repository, branch: str, sha: str) -> None:
    """Create `branch` at `sha`; one that exists already (422: a retried activity made it) is kept."""
    try:
        repo.create_git_ref(f"refs/heads/{branch}", sha)
    except GithubException as exc:
        if exc.status != 422:
            raise
