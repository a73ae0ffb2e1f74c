"""World-changing operations: each mutates the world and emits the webhook GitHub would send.

Both the REST API and the simulated actors go through these, so an API write (update-branch, merge,
a status) wakes the actors exactly like a bot's write does. Call them on the simulator's event loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simulators.github.contents import append_line, apply_change, hotfix
from simulators.github.model import (
    Comment,
    CommitStatus,
    FileChange,
    Label,
    PullRequest,
    Repo,
    Review,
    SimEvent,
    User,
    now,
)
from simulators.github.ops_git import ZERO_SHA, GitOps

REVIEW_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}


class Ops(GitOps):
    """The simulator's write operations (CI ones in `CIOps`, branch webhooks in `GitOps`)."""

    # --- pull requests ---

    def open_pr(
        self,
        repo_name: str,
        author: str,
        title: str,
        body: str,
        head_ref: str,
        faults: Iterable[str] = (),
        change: FileChange | None = None,
    ) -> PullRequest:
        """A bot pushes a one-commit branch (making `change`) off the default branch and opens a PR."""
        repo = self.world.ensure_repo(repo_name)
        base_sha = repo.branches[repo.default_branch]
        files = apply_change(repo.commits[base_sha].files, change) if change else None
        commit = self.world.add_commit(repo, [base_sha], title, author, files)
        self.create_branch(repo, head_ref, commit.sha, self.world.user(author))
        return self.create_pr(
            repo, self.world.user(author), head_ref, repo.default_branch, title, body, faults, change=change
        )

    def create_pr(
        self,
        repo: Repo,
        author: User,
        head_ref: str,
        base_ref: str,
        title: str,
        body: str,
        faults: Iterable[str] = (),
        draft: bool = False,
        change: FileChange | None = None,
    ) -> PullRequest:
        """Open a PR (from the scenario or `POST /pulls`): same webhook, same CI and bots either way."""
        head_sha, base_sha = repo.branches[head_ref], repo.branches[base_ref]
        pr = PullRequest(
            repo=repo.full_name,
            number=repo.next_number,
            id=self.world.new_id("pr"),
            title=title,
            body=body,
            user=author,
            head_ref=head_ref,
            head_sha=head_sha,
            base_ref=base_ref,
            base_sha=base_sha,
            faults=list(faults),
            draft=draft,
            shas=[head_sha],
            change=change,
        )
        repo.next_number += 1
        repo.pulls[pr.number] = pr
        self.world.recompute_mergeability(pr)
        self._emit(
            SimEvent("pull_request", "opened", repo, pr),
            self.state.payloads.pull_request("opened", pr, author),
        )
        return pr

    def _new_head(self, pr: PullRequest, sha: str, sender: User, pushed: bool = False) -> None:
        """The PR's head moved to `sha` (`pushed`: the push webhook went out already)."""
        repo = self.world.repos[pr.repo]
        before = pr.head_sha
        pr.head_sha = sha
        pr.shas.append(sha)
        pr.updated_at = now()
        self.world.set_branch(repo, pr.head_ref, sha)
        if not pushed:
            self._pushed(repo, pr.head_ref, before, sha, sender, workflows=False)
        body = self.state.payloads.pull_request("synchronize", pr, sender, before=before, after=sha)
        self._emit(SimEvent("pull_request", "synchronize", repo, pr, data={"before": before}), body)

    def update_branch(self, pr: PullRequest, sender: User) -> str:
        """Merge the base branch into the head branch (`PUT .../update-branch`); returns the new head."""
        repo = self.world.repos[pr.repo]
        base_tip = repo.branches[pr.base_ref]
        message = f"Merge branch '{pr.base_ref}' into {pr.head_ref}"
        files = self.world.merged_files(repo, pr.head_sha, base_tip)
        commit = self.world.add_commit(repo, [pr.head_sha, base_tip], message, sender.login, files)
        pr.base_sha = base_tip
        self._new_head(pr, commit.sha, sender)
        return commit.sha

    def push(self, pr: PullRequest, sender: User, message: str) -> str:
        """Push one more commit to the head branch (a bot's rebase or fix); returns the new head."""
        repo = self.world.repos[pr.repo]
        commit = self.world.add_commit(repo, [pr.head_sha], message, sender.login)
        self._new_head(pr, commit.sha, sender)
        return commit.sha

    def commit_file(
        self, repo: Repo, branch: str, path: str, text: str | None, message: str, sender: User
    ) -> str:
        """Commit one file (None: delete it) on top of `branch` and push it; returns the new sha."""
        tip = repo.branches[branch]
        files = dict(repo.commits[tip].files)
        if text is None:
            files.pop(path, None)
        else:
            files[path] = text
        commit = self.world.add_commit(repo, [tip], message, sender.login, files)
        self.move_branch(repo, branch, commit.sha, sender)
        return commit.sha

    def move_branch(self, repo: Repo, branch: str, sha: str, sender: User) -> None:
        """A push to `branch`: open PRs from it get the new head (`synchronize`, CI); fix branches run CI."""
        before = repo.branches.get(branch, ZERO_SHA)
        self.world.set_branch(repo, branch, sha)
        self._pushed(repo, branch, before, sha, sender)
        for pr in list(repo.pulls.values()):
            if pr.state == "open" and pr.head_ref == branch and pr.head_sha != sha:
                self._new_head(pr, sha, sender, pushed=True)

    def land_on_base(self, pr: PullRequest, sender: User, conflict: bool) -> str:
        """Someone lands a commit on the PR's base branch; returns its sha.

        Not a conflict: an unrelated CHANGELOG line, and up-to-date branches become required for this PR
        (it is `behind`; other PRs of the repo are not held to it unless `Repo.require_up_to_date`).
        A conflict: the PR's own line edited differently (the PR is `dirty` for good).
        """
        repo = self.world.repos[pr.repo]
        tip = repo.branches[pr.base_ref]
        files = repo.commits[tip].files
        if conflict:
            pr.conflict = True
            edit = hotfix(pr.change) if pr.change else FileChange("CHANGELOG.md", pr.title, "(hotfix)")
            files, message = apply_change(files, edit), f"Pin {edit.package} to {edit.version} (hotfix)"
        else:
            pr.require_up_to_date = True
            message = "docs: update CHANGELOG"
            files = append_line(
                files, "CHANGELOG.md", f"- Internal: prepare release (while #{pr.number} was open)"
            )
        commit = self.world.add_commit(repo, [tip], message, sender.login, files)
        self.move_branch(repo, pr.base_ref, commit.sha, sender)
        return commit.sha

    def close(self, pr: PullRequest, sender: User) -> None:
        pr.state, pr.closed_at, pr.updated_at, pr.closed_by = "closed", now(), now(), sender
        repo = self.world.repos[pr.repo]
        self._emit(
            SimEvent("pull_request", "closed", repo, pr),
            self.state.payloads.pull_request("closed", pr, sender),
        )

    def reopen(self, pr: PullRequest, sender: User) -> None:
        pr.state, pr.closed_at, pr.updated_at, pr.closed_by = "open", None, now(), None
        repo = self.world.repos[pr.repo]
        body = self.state.payloads.pull_request("reopened", pr, sender)
        self._emit(SimEvent("pull_request", "reopened", repo, pr), body)

    def edit(self, pr: PullRequest, sender: User, title: str | None, body_text: str | None) -> None:
        changes: dict[str, Any] = {}
        if title is not None and title != pr.title:
            changes["title"] = {"from": pr.title}
            pr.title = title
        if body_text is not None and body_text != pr.body:
            changes["body"] = {"from": pr.body}
            pr.body = body_text
        if changes:
            pr.updated_at = now()
            repo = self.world.repos[pr.repo]
            body = self.state.payloads.pull_request("edited", pr, sender, changes=changes)
            self._emit(SimEvent("pull_request", "edited", repo, pr), body)

    def merge(self, pr: PullRequest, sender: User, method: str = "merge") -> str:
        """Merge into the base branch (which moves to a new sha); returns the merge commit sha."""
        repo = self.world.repos[pr.repo]
        base_tip = repo.branches[pr.base_ref]
        parents = [base_tip, pr.head_sha] if method == "merge" else [base_tip]
        message = f"Merge pull request #{pr.number} from {pr.head_ref}" if method == "merge" else pr.title
        files = self.world.merged_files(repo, base_tip, pr.head_sha)
        commit = self.world.add_commit(repo, parents, message, sender.login, files)
        self.world.set_branch(repo, pr.base_ref, commit.sha)
        self._pushed(repo, pr.base_ref, base_tip, commit.sha, sender)
        pr.base_sha = base_tip
        pr.state, pr.merged, pr.merged_by, pr.merge_commit_sha = "closed", True, sender, commit.sha
        pr.merged_at = pr.closed_at = pr.updated_at = now()
        self._emit(
            SimEvent("pull_request", "closed", repo, pr),
            self.state.payloads.pull_request("closed", pr, sender),
        )
        return commit.sha

    # --- statuses, reviews, comments, labels, branches ---

    def add_status(
        self,
        repo: Repo,
        sha: str,
        state: str,
        context: str,
        creator: User,
        description: str | None = None,
        target_url: str | None = None,
    ) -> CommitStatus:
        status = CommitStatus(
            self.world.new_id("status"), sha, state, context, creator, description, target_url
        )
        repo.statuses.setdefault(sha, []).append(status)
        prs = self.world.open_prs_for_head(repo, sha)
        ev = SimEvent("status", None, repo, prs[0] if prs else None, status=status)
        self._emit(ev, self.state.payloads.status(repo, status))
        return status

    def add_review(self, pr: PullRequest, user: User, event: str | None, body: str, commit_id: str) -> Review:
        """A review; `event` None leaves it PENDING (no webhook), like GitHub."""
        state = REVIEW_STATES[event] if event else "PENDING"
        review = Review(self.world.new_id("review"), user, state, body, commit_id)
        pr.reviews.append(review)
        if state != "PENDING":
            repo = self.world.repos[pr.repo]
            payload = self.state.payloads.pull_request_review("submitted", pr, review)
            self._emit(SimEvent("pull_request_review", "submitted", repo, pr, review=review), payload)
        return review

    def add_comment(self, pr: PullRequest, user: User, body: str) -> Comment:
        comment = Comment(self.world.new_id("comment"), user, body)
        pr.comments.append(comment)
        repo = self.world.repos[pr.repo]
        payload = self.state.payloads.issue_comment("created", pr, comment)
        self._emit(SimEvent("issue_comment", "created", repo, pr, comment=comment), payload)
        return comment

    def add_labels(self, pr: PullRequest, names: Iterable[str], sender: User) -> None:
        repo = self.world.repos[pr.repo]
        for name in names:
            if any(label.name == name for label in pr.labels):
                continue
            label = repo.labels.setdefault(name, Label(self.world.new_id("label"), name))
            pr.labels.append(label)
            body = self.state.payloads.pull_request(
                "labeled", pr, sender, label=self.state.render.label(repo.full_name, label)
            )
            self._emit(SimEvent("pull_request", "labeled", repo, pr, data={"label": name}), body)

    def remove_label(self, pr: PullRequest, name: str, sender: User) -> bool:
        label = next((lab for lab in pr.labels if lab.name == name), None)
        if label is None:
            return False
        pr.labels.remove(label)
        repo = self.world.repos[pr.repo]
        body = self.state.payloads.pull_request(
            "unlabeled", pr, sender, label=self.state.render.label(repo.full_name, label)
        )
        self._emit(SimEvent("pull_request", "unlabeled", repo, pr, data={"label": name}), body)
        return True

    def delete_branch(self, repo: Repo, name: str, sender: User) -> None:
        """Delete a branch; like GitHub, open PRs from it are closed."""
        sha = repo.branches.pop(name)
        self._branch_deleted(repo, name, sha, sender)
        for pr in list(repo.pulls.values()):
            if pr.state == "open" and pr.head_ref == name:
                self.close(pr, sender)
