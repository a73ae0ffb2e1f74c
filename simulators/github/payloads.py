"""Webhook bodies shaped like GitHub's (see tests/fixtures and shared/fixtures/github/webhooks).

Each body has the event's object plus `repository`, `sender` and `installation`, as an App receives them.
"""

from __future__ import annotations

from typing import Any

from simulators.github.model import (
    CheckRun,
    CheckSuite,
    Comment,
    CommitStatus,
    Issue,
    PullRequest,
    Repo,
    Review,
    User,
)
from simulators.github.render import JSON, node_id, ts
from simulators.github.render_actions import RenderActions


class Payloads:
    """Builds webhook bodies from world objects, snapshotting them at the time of the event."""

    def __init__(self, render: RenderActions, installation_id: int) -> None:
        self.render = render
        self.installation_id = installation_id

    def _envelope(self, repo: Repo, sender: User, body: JSON) -> JSON:
        body["repository"] = self.render.repo(repo)
        body["sender"] = self.render.user(sender)
        body["installation"] = {
            "id": self.installation_id,
            "node_id": node_id("Installation", self.installation_id),
        }
        return body

    def _repo(self, pr: PullRequest) -> Repo:
        return self.render.world.repos[pr.repo]

    def pull_request(self, action: str, pr: PullRequest, sender: User, **extra: Any) -> JSON:
        """`pull_request` event; `extra` carries action-specific keys (before/after, label, changes)."""
        body: JSON = {"action": action, "number": pr.number, "pull_request": self.render.pull(pr), **extra}
        return self._envelope(self._repo(pr), sender, body)

    def check_suite(self, action: str, repo: Repo, suite: CheckSuite, sender: User) -> JSON:
        data = self.render.check_suite(repo, suite)
        data.pop("repository", None)
        return self._envelope(repo, sender, {"action": action, "check_suite": data})

    def check_run(self, action: str, repo: Repo, run: CheckRun, sender: User) -> JSON:
        return self._envelope(
            repo, sender, {"action": action, "check_run": self.render.check_run(repo, run, webhook=True)}
        )

    def workflow_run(self, action: str, repo: Repo, suite: CheckSuite, sender: User) -> JSON:
        """`workflow_run` event: the run (with its repositories) plus the top-level `workflow`."""
        body: JSON = {
            "action": action,
            "workflow_run": self.render.workflow_run(repo, suite),
            "workflow": self.render.workflow(repo, suite.workflow),
        }
        return self._envelope(repo, sender, body)

    def workflow_job(self, action: str, repo: Repo, run: CheckRun, sender: User) -> JSON:
        return self._envelope(repo, sender, {"action": action, "workflow_job": self.render.job(repo, run)})

    def status(self, repo: Repo, status: CommitStatus) -> JSON:
        commit = self.render.commit(repo, repo.commits[status.sha])
        commit.pop("stats", None)
        commit.pop("files", None)
        branches = [
            {
                "name": name,
                "commit": {"sha": sha, "url": f"{self.render.repo_api(repo.full_name)}/commits/{sha}"},
                "protected": name == repo.default_branch,
            }
            for name, sha in repo.branches.items()
            if sha == status.sha
        ]
        body: JSON = {
            "id": status.id,
            "sha": status.sha,
            "name": repo.full_name,
            "target_url": status.target_url,
            "avatar_url": self.render.api(f"/avatars/u/{status.creator.id}"),
            "context": status.context,
            "description": status.description,
            "state": status.state,
            "commit": commit,
            "branches": branches,
            "created_at": ts(status.created_at),
            "updated_at": ts(status.created_at),
        }
        return self._envelope(repo, status.creator, body)

    def pull_request_review(self, action: str, pr: PullRequest, review: Review) -> JSON:
        pull = self.render.pull(pr)
        body: JSON = {
            "action": action,
            "review": self.render.review(pr, review, webhook=True),
            "pull_request": pull,
        }
        return self._envelope(self._repo(pr), review.user, body)

    def issue_comment(self, action: str, item: PullRequest | Issue, comment: Comment) -> JSON:
        """On a PR (its issue side) or a plain issue."""
        issue = self.render.issue(item) if isinstance(item, PullRequest) else self.render.plain_issue(item)
        body: JSON = {"action": action, "issue": issue, "comment": self.render.comment(item, comment)}
        return self._envelope(self.render.world.repos[item.repo], comment.user, body)

    def issues(self, action: str, issue: Issue, sender: User) -> JSON:
        """`issues` event of a plain issue (opened, closed, reopened)."""
        body: JSON = {"action": action, "issue": self.render.plain_issue(issue)}
        return self._envelope(self.render.world.repos[issue.repo], sender, body)

    # --- pushes and refs ---

    def push(
        self, repo: Repo, branch: str, before: str, after: str, sender: User, *, created: bool, deleted: bool
    ) -> JSON:
        """`push` event: the commits `after` has that `before` had not (all of them new to the branch)."""
        new = [] if deleted else self.render.world.compare(repo, before, after)[2] if not created else [after]
        commits = [self._push_commit(repo, sha) for sha in new]
        body: JSON = {
            "ref": f"refs/heads/{branch}",
            "before": before,
            "after": after,
            "created": created,
            "deleted": deleted,
            "forced": False,
            "base_ref": None,
            "compare": self.render.html(f"/{repo.full_name}/compare/{before[:12]}...{after[:12]}"),
            "commits": commits,
            "head_commit": commits[-1] if commits else None,
            "pusher": {"name": sender.login, "email": None},
        }
        return self._envelope(repo, sender, body)

    def _push_commit(self, repo: Repo, sha: str) -> JSON:
        commit = self.render.head_commit(repo, sha)
        author = {**commit["author"], "username": commit["author"]["name"]}
        return {
            **commit,
            "distinct": True,
            "url": self.render.html(f"/{repo.full_name}/commit/{sha}"),
            "author": author,
            "added": [],
            "removed": [],
            "modified": [],
        }

    def ref_event(self, event: str, repo: Repo, branch: str, sender: User) -> JSON:
        """`create` or `delete` event of a branch."""
        body: JSON = {"ref": branch, "ref_type": "branch", "pusher_type": "user"}
        if event == "create":
            body |= {"master_branch": repo.default_branch, "description": None}
        return self._envelope(repo, sender, body)
