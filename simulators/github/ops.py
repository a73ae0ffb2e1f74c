"""World-changing operations: each mutates the world and emits the webhook GitHub would send.

Both the REST API and the simulated actors go through these, so an API write (update-branch, merge,
a status) wakes the actors exactly like a bot's write does. Call them on the simulator's event loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from simulators.github.model import (
    CheckRun,
    CheckSuite,
    Comment,
    CommitStatus,
    Label,
    PullRequest,
    Repo,
    Review,
    SimEvent,
    User,
    now,
)
from simulators.github.world import World

if TYPE_CHECKING:
    from simulators.github.simulator import Simulator

CHECK_RUN_NAMES = ("build", "test")
REVIEW_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}


class Ops:
    """The simulator's write operations."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @property
    def world(self) -> World:
        """The simulator's current world (a reset replaces it)."""
        return self.sim.world

    def _emit(self, ev: SimEvent, body: dict[str, Any]) -> None:
        self.sim.emit(ev, body)

    # --- pull requests ---

    def open_pr(
        self,
        repo_name: str,
        author: str,
        title: str,
        body: str,
        head_ref: str,
        faults: Iterable[str] = (),
    ) -> PullRequest:
        """A bot pushes a one-commit branch off the default branch and opens a PR from it."""
        repo = self.world.ensure_repo(repo_name)
        base_sha = repo.branches[repo.default_branch]
        commit = self.world.add_commit(repo, [base_sha], title, author)
        repo.branches[head_ref] = commit.sha
        return self.create_pr(
            repo, self.world.user(author), head_ref, repo.default_branch, title, body, faults
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
    ) -> PullRequest:
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
        )
        repo.next_number += 1
        repo.pulls[pr.number] = pr
        self._emit(
            SimEvent("pull_request", "opened", repo, pr), self.sim.payloads.pull_request("opened", pr, author)
        )
        return pr

    def _new_head(self, pr: PullRequest, sha: str, sender: User) -> None:
        repo = self.world.repos[pr.repo]
        before = pr.head_sha
        pr.head_sha = sha
        pr.shas.append(sha)
        pr.updated_at = now()
        repo.branches[pr.head_ref] = sha
        body = self.sim.payloads.pull_request("synchronize", pr, sender, before=before, after=sha)
        self._emit(SimEvent("pull_request", "synchronize", repo, pr, data={"before": before}), body)

    def update_branch(self, pr: PullRequest, sender: User) -> str:
        """Merge the base branch into the head branch (`PUT .../update-branch`); returns the new head."""
        repo = self.world.repos[pr.repo]
        base_tip = repo.branches[pr.base_ref]
        message = f"Merge branch '{pr.base_ref}' into {pr.head_ref}"
        commit = self.world.add_commit(repo, [pr.head_sha, base_tip], message, sender.login)
        pr.base_sha = base_tip
        self._new_head(pr, commit.sha, sender)
        return commit.sha

    def push(self, pr: PullRequest, sender: User, message: str) -> str:
        """Push one more commit to the head branch (a bot's rebase or fix); returns the new head."""
        repo = self.world.repos[pr.repo]
        commit = self.world.add_commit(repo, [pr.head_sha], message, sender.login)
        self._new_head(pr, commit.sha, sender)
        return commit.sha

    def close(self, pr: PullRequest, sender: User) -> None:
        pr.state, pr.closed_at, pr.updated_at = "closed", now(), now()
        repo = self.world.repos[pr.repo]
        self._emit(
            SimEvent("pull_request", "closed", repo, pr), self.sim.payloads.pull_request("closed", pr, sender)
        )

    def reopen(self, pr: PullRequest, sender: User) -> None:
        pr.state, pr.closed_at, pr.updated_at = "open", None, now()
        repo = self.world.repos[pr.repo]
        body = self.sim.payloads.pull_request("reopened", pr, sender)
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
            body = self.sim.payloads.pull_request("edited", pr, sender, changes=changes)
            self._emit(SimEvent("pull_request", "edited", repo, pr), body)

    def merge(self, pr: PullRequest, sender: User, method: str = "merge") -> str:
        """Merge into the base branch (which moves to a new sha); returns the merge commit sha."""
        repo = self.world.repos[pr.repo]
        base_tip = repo.branches[pr.base_ref]
        parents = [base_tip, pr.head_sha] if method == "merge" else [base_tip]
        message = f"Merge pull request #{pr.number} from {pr.head_ref}" if method == "merge" else pr.title
        commit = self.world.add_commit(repo, parents, message, sender.login)
        repo.branches[pr.base_ref] = commit.sha
        pr.base_sha = base_tip
        pr.state, pr.merged, pr.merged_by, pr.merge_commit_sha = "closed", True, sender, commit.sha
        pr.merged_at = pr.closed_at = pr.updated_at = now()
        self._emit(
            SimEvent("pull_request", "closed", repo, pr), self.sim.payloads.pull_request("closed", pr, sender)
        )
        return commit.sha

    # --- CI ---

    def create_suite(self, pr: PullRequest, sha: str) -> CheckSuite:
        """CI picks up a pushed sha: a queued check suite whose check runs start right away."""
        repo = self.world.repos[pr.repo]
        commit = repo.commits[sha]
        suite_id = self.world.new_id("suite")
        before = commit.parents[0] if commit.parents else "0" * 40
        suite = CheckSuite(suite_id, sha, pr.head_ref, before, run_number=len(repo.suites) + 1)
        self.world.add_suite(repo, suite)
        body = self.sim.payloads.check_suite("requested", repo, suite, pr.user)
        self._emit(SimEvent("check_suite", "requested", repo, pr, suite=suite), body)
        self._start_runs(repo, suite, CHECK_RUN_NAMES)
        return suite

    def _start_runs(self, repo: Repo, suite: CheckSuite, names: Iterable[str]) -> None:
        runs = {run.name: run for run in suite.runs}
        for name in names:
            runs[name] = CheckRun(self.world.new_id("run"), name, suite.head_sha, suite.id)
        suite.runs = list(runs.values())
        suite.status, suite.conclusion, suite.updated_at = "in_progress", None, now()

    def complete_run(self, pr: PullRequest, run: CheckRun, conclusion: str) -> None:
        repo = self.world.repos[pr.repo]
        run.status, run.conclusion, run.completed_at = "completed", conclusion, now()
        body = self.sim.payloads.check_run("completed", repo, run, pr.user)
        self._emit(SimEvent("check_run", "completed", repo, pr, run=run), body)

    def complete_suite(self, pr: PullRequest, suite: CheckSuite) -> None:
        repo = self.world.repos[pr.repo]
        conclusions = [run.conclusion for run in suite.runs]
        failed = any(c not in ("success", "neutral", "skipped") for c in conclusions)
        suite.status, suite.conclusion, suite.updated_at = (
            "completed",
            "failure" if failed else "success",
            now(),
        )
        body = self.sim.payloads.check_suite("completed", repo, suite, pr.user)
        self._emit(SimEvent("check_suite", "completed", repo, pr, suite=suite), body)

    def rerun_suite(self, repo: Repo, suite: CheckSuite, sender: User, failed_only: bool) -> bool:
        """Re-run a completed suite on the same sha (all runs, or only failed ones); False if none to run."""
        names = [r.name for r in suite.runs if not failed_only or r.conclusion not in ("success", "skipped")]
        if suite.status != "completed" or not names:
            return False
        suite.run_attempt += 1
        self._start_runs(repo, suite, names)
        prs = self.world.prs_for_sha(repo, suite.head_sha)
        pr = next((p for p in prs if p.state == "open"), prs[0] if prs else None)
        body = self.sim.payloads.check_suite("rerequested", repo, suite, sender)
        self._emit(SimEvent("check_suite", "rerequested", repo, pr, suite=suite, data={"runs": names}), body)
        return True

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
        self._emit(ev, self.sim.payloads.status(repo, status))
        return status

    def add_review(self, pr: PullRequest, user: User, event: str | None, body: str, commit_id: str) -> Review:
        """A review; `event` None leaves it PENDING (no webhook), like GitHub."""
        state = REVIEW_STATES[event] if event else "PENDING"
        review = Review(self.world.new_id("review"), user, state, body, commit_id)
        pr.reviews.append(review)
        if state != "PENDING":
            repo = self.world.repos[pr.repo]
            payload = self.sim.payloads.pull_request_review("submitted", pr, review)
            self._emit(SimEvent("pull_request_review", "submitted", repo, pr, review=review), payload)
        return review

    def add_comment(self, pr: PullRequest, user: User, body: str) -> Comment:
        comment = Comment(self.world.new_id("comment"), user, body)
        pr.comments.append(comment)
        repo = self.world.repos[pr.repo]
        payload = self.sim.payloads.issue_comment("created", pr, comment)
        self._emit(SimEvent("issue_comment", "created", repo, pr, comment=comment), payload)
        return comment

    def add_labels(self, pr: PullRequest, names: Iterable[str], sender: User) -> None:
        repo = self.world.repos[pr.repo]
        for name in names:
            if any(label.name == name for label in pr.labels):
                continue
            label = repo.labels.setdefault(name, Label(self.world.new_id("label"), name))
            pr.labels.append(label)
            body = self.sim.payloads.pull_request(
                "labeled", pr, sender, label=self.sim.render.label(repo.full_name, label)
            )
            self._emit(SimEvent("pull_request", "labeled", repo, pr, data={"label": name}), body)

    def remove_label(self, pr: PullRequest, name: str, sender: User) -> bool:
        label = next((lab for lab in pr.labels if lab.name == name), None)
        if label is None:
            return False
        pr.labels.remove(label)
        repo = self.world.repos[pr.repo]
        body = self.sim.payloads.pull_request(
            "unlabeled", pr, sender, label=self.sim.render.label(repo.full_name, label)
        )
        self._emit(SimEvent("pull_request", "unlabeled", repo, pr, data={"label": name}), body)
        return True

    def delete_branch(self, repo: Repo, name: str, sender: User) -> None:
        """Delete a branch; like GitHub, open PRs from it are closed."""
        del repo.branches[name]
        for pr in list(repo.pulls.values()):
            if pr.state == "open" and pr.head_ref == name:
                self.close(pr, sender)
