"""In-memory GitHub world: the model objects plus the queries GitHub answers about them.

Pure state with no I/O and no webhooks (see `ops.py` for world changes that emit events). Ids come
from counters and shas from a seeded `random.Random`, so a seed gives the same world every run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import Any

from simulators.github.contents import Files, merge_files, root_files
from simulators.github.model import (
    PASSING,
    CheckRun,
    CheckSuite,
    Commit,
    CommitStatus,
    Pipeline,
    PullRequest,
    Repo,
    Review,
    User,
    is_fix_branch,
)


class World:
    """All simulated state. Use it from one asyncio event loop only (it holds no locks)."""

    def __init__(self, seed: int = 7, first_pr_number: int = 1) -> None:
        self.rng = random.Random(seed)
        self.first_pr_number = first_pr_number
        self.mergeability_seconds = 0.0  # how long mergeability stays uncomputed after a push
        self.repos: dict[str, Repo] = {}
        self.users: dict[str, User] = {}
        self.pipelines: list[Pipeline] = []  # failing pipelines, by index (see pipelines.py)
        self.vulnerabilities: list[dict[str, Any]] = []  # the OSV feed (`rest_osv.py`), OSV entries
        self._ids: dict[str, int] = {}
        self._shas: set[str] = set()

    def reseed(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def new_id(self, kind: str) -> int:
        """Counter-based id per kind, offset so kinds do not look alike."""
        bases = {
            "repo": 100_000,
            "user": 200_000,
            "pr": 1_000_000,
            "suite": 5_000_000,
            "workflow_run": 7_000_000,
        }
        base = bases.get(kind, 9_000_000)
        self._ids[kind] = self._ids.get(kind, base) + 1
        return self._ids[kind]

    def new_sha(self) -> str:
        while True:
            sha = f"{self.rng.getrandbits(160):040x}"
            if sha not in self._shas:
                self._shas.add(sha)
                return sha

    def user(self, login: str) -> User:
        if login not in self.users:
            self.users[login] = User(login=login, id=self.new_id("user"))
        return self.users[login]

    # --- repos, commits, branches ---

    def ensure_repo(self, full_name: str) -> Repo:
        if full_name in self.repos:
            return self.repos[full_name]
        owner, name = full_name.split("/", 1)
        repo = Repo(owner=owner, name=name, id=self.new_id("repo"), next_number=self.first_pr_number)
        self.user(owner)
        root = self.add_commit(repo, [], "Initial commit", owner, root_files(full_name))
        repo.branches[repo.default_branch] = root.sha
        self.repos[full_name] = repo
        return repo

    def add_commit(
        self, repo: Repo, parents: list[str], message: str, author: str, files: Files | None = None
    ) -> Commit:
        """A new commit; its tree is `files`, or else its first parent's tree."""
        if files is None:
            files = repo.commits[parents[0]].files if parents else {}
        commit = Commit(self.new_sha(), message, list(parents), author, tree_sha=self.new_sha(), files=files)
        repo.commits[commit.sha] = commit
        return commit

    def merged_files(self, repo: Repo, ours: str, theirs: str) -> Files:
        """The tree of a merge of commit `theirs` into commit `ours` (see `contents.merge_files`)."""
        base = self.merge_base(repo, ours, theirs)
        return merge_files(repo.commits[base].files, repo.commits[ours].files, repo.commits[theirs].files)

    def resolve(self, repo: Repo, ref: str) -> str | None:
        """Sha for a branch name, `heads/<branch>`, `refs/heads/<branch>` or a (full) commit sha."""
        name = ref.removeprefix("refs/").removeprefix("heads/")
        if name in repo.branches:
            return repo.branches[name]
        if ref in repo.commits:
            return ref
        if len(ref) >= 7:
            matches = [sha for sha in repo.commits if sha.startswith(ref)]
            if len(matches) == 1:
                return matches[0]
        return None

    def ancestors(self, repo: Repo, sha: str) -> set[str]:
        """The commit and all of its ancestors."""
        seen: set[str] = set()
        todo = [sha]
        while todo:
            current = todo.pop()
            if current in seen or current not in repo.commits:
                continue
            seen.add(current)
            todo.extend(repo.commits[current].parents)
        return seen

    def compare(self, repo: Repo, base: str, head: str) -> tuple[int, int, list[str], str]:
        """(ahead_by, behind_by, shas only in head oldest first, merge base) as `GET /compare/base...head`."""
        base_set, head_set = self.ancestors(repo, base), self.ancestors(repo, head)
        order = {sha: i for i, sha in enumerate(repo.commits)}  # parents are always created first
        only_head = sorted(head_set - base_set, key=order.__getitem__)
        merge_base = max(base_set & head_set, key=order.__getitem__)
        return len(only_head), len(base_set - head_set), only_head, merge_base

    def set_branch(self, repo: Repo, branch: str, sha: str) -> None:
        """Move `branch` to `sha`: open PRs from or into it have their mergeability computed again."""
        repo.branches[branch] = sha
        for pr in repo.pulls.values():
            if pr.state == "open" and branch in (pr.head_ref, pr.base_ref):
                self.recompute_mergeability(pr)

    def recompute_mergeability(self, pr: PullRequest) -> None:
        pr.mergeability_settles_at = time.monotonic() + self.mergeability_seconds

    def mergeability_pending(self, pr: PullRequest) -> bool:
        """True while GitHub would still answer `mergeable: null`, `mergeable_state: unknown`."""
        return pr.state == "open" and time.monotonic() < pr.mergeability_settles_at

    def merge_base(self, repo: Repo, a: str, b: str) -> str:
        """The newest common ancestor of commits `a` and `b`."""
        common = self.ancestors(repo, a) & self.ancestors(repo, b)
        order = {sha: i for i, sha in enumerate(repo.commits)}
        return max(common, key=order.__getitem__)

    # --- pull requests ---

    def find_pr(self, full_name: str, number: int) -> PullRequest | None:
        repo = self.repos.get(full_name)
        return repo.pulls.get(number) if repo else None

    def all_prs(self) -> list[PullRequest]:
        return [pr for repo in self.repos.values() for pr in repo.pulls.values()]

    def prs_for_sha(self, repo: Repo, sha: str) -> list[PullRequest]:
        return [pr for pr in repo.pulls.values() if sha in pr.shas or pr.merge_commit_sha == sha]

    def open_prs_for_head(self, repo: Repo, sha: str) -> list[PullRequest]:
        return [pr for pr in repo.pulls.values() if pr.state == "open" and pr.head_sha == sha]

    # --- checks and statuses ---

    def add_suite(self, repo: Repo, suite: CheckSuite) -> None:
        """Record a new check suite and give it its workflow run id (distinct from the suite id)."""
        suite.run_id = self.new_id("workflow_run")
        repo.suites[suite.id] = suite
        if suite.driver != "checks":  # another app's check suite is no Actions workflow run
            repo.workflow_runs[suite.run_id] = suite
        repo.suites_by_sha.setdefault(suite.head_sha, []).append(suite)

    def suites_for(self, repo: Repo, sha: str) -> list[CheckSuite]:
        return list(repo.suites_by_sha.get(sha, []))

    def runs_for(self, repo: Repo, sha: str) -> list[CheckRun]:
        return [run for suite in self.suites_for(repo, sha) for run in suite.runs]

    def find_job(self, repo: Repo, job_id: int) -> CheckRun | None:
        """A check run (Actions job) by id, of any attempt."""
        for suite in repo.suites.values():
            for run in [*suite.runs, *(r for attempt in suite.history for r in attempt)]:
                if run.id == job_id:
                    return run
        return None

    def latest_statuses(self, repo: Repo, sha: str) -> list[CommitStatus]:
        latest: dict[str, CommitStatus] = {}
        for status in repo.statuses.get(sha, []):
            latest[status.context] = status
        return list(latest.values())

    def context_states(self, repo: Repo, sha: str) -> dict[str, str]:
        """Latest state per check-run name or status context: success, pending or failure."""
        states: dict[str, str] = {}
        for run in self.runs_for(repo, sha):
            if run.status != "completed":
                states[run.name] = "pending"
            else:
                states[run.name] = "success" if run.conclusion in PASSING else "failure"
        for status in self.latest_statuses(repo, sha):
            states[status.context] = {"success": "success", "pending": "pending"}.get(status.state, "failure")
        return states

    @staticmethod
    def combined_state(states: Iterable[str]) -> str:
        values = list(states)
        if any(v in ("failure", "error") for v in values):
            return "failure"
        if not values or "pending" in values:
            return "pending"
        return "success"

    def approved(self, pr: PullRequest) -> bool:
        """True when someone other than the author approved the current head (stale approvals are dismissed)."""
        latest: dict[str, Review] = {}
        for review in pr.reviews:
            if review.state != "PENDING" and review.user.login != pr.user.login:
                latest[review.user.login] = review
        if any(r.state == "CHANGES_REQUESTED" for r in latest.values()):
            return False
        return any(r.state == "APPROVED" and r.commit_id == pr.head_sha for r in latest.values())

    def is_behind(self, pr: PullRequest) -> bool:
        repo = self.repos[pr.repo]
        return repo.branches.get(pr.base_ref, pr.base_sha) not in self.ancestors(repo, pr.head_sha)

    def mergeable_state(self, pr: PullRequest) -> str:
        """GitHub's mergeable_state: dirty, behind, draft, blocked, unstable, clean or unknown (closed)."""
        if pr.state != "open":
            return "unknown"
        repo = self.repos[pr.repo]
        if pr.conflict:
            return "dirty"
        if (repo.require_up_to_date or pr.require_up_to_date) and self.is_behind(pr):
            return "behind"
        if pr.draft:
            return "draft"
        states = self.context_states(repo, pr.head_sha)
        if is_fix_branch(pr.head_ref):  # the ruleset lets the Mender app merge its fixes without a review;
            required = [c for c in repo.required_contexts if c in states]  # the required checks that ran pass
            if not required or any(states[c] != "success" for c in required):
                return "blocked"
            return "unstable" if any(v != "success" for v in states.values()) else "clean"
        required_ok = all(states.get(c) == "success" for c in repo.required_contexts)
        if not required_ok or not self.approved(pr):
            return "blocked"
        if any(v != "success" for k, v in states.items() if k not in repo.required_contexts):
            return "unstable"
        return "clean"

    def mergeable(self, pr: PullRequest) -> bool | None:
        return None if pr.state != "open" else not pr.conflict
