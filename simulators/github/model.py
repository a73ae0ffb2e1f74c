"""Data model of the simulated GitHub: users, repos, commits, pull requests, issues, checks, pipelines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PASSING = frozenset({"success", "neutral", "skipped"})
REQUIRED_CONTEXTS = ("build", "test", "policy-bot")
FIX_BRANCH_PREFIX = "mender/ci-fix/"
_FIX_BRANCH = re.compile(rf"^{re.escape(FIX_BRANCH_PREFIX)}(\d+)(?:[-/].*)?$")


def is_fix_branch(branch: str | None) -> bool:
    """A branch Mender commits a CI fix to: its pushes and PRs run the pipeline (pipelines.py)."""
    return (branch or "").startswith(FIX_BRANCH_PREFIX)


def fix_origin(branch: str | None) -> int | None:
    """The run id a `mender/ci-fix/<run_id>[-anything]` branch fixes; None for any other branch."""
    match = _FIX_BRANCH.match(branch or "")
    return int(match[1]) if match else None


def now() -> datetime:
    """Current UTC time at second precision (GitHub timestamps have no fractions)."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class User:
    login: str
    id: int

    @property
    def type(self) -> str:
        return "Bot" if self.login.endswith("[bot]") else "User"


@dataclass
class Commit:
    sha: str
    message: str
    parents: list[str]
    author: str
    tree_sha: str
    timestamp: datetime = field(default_factory=now)
    files: dict[str, str] = field(default_factory=dict)  # the whole tree: path -> text (small repos)
    verified: bool = False  # made through the API (contents, merges): GitHub signs it (web-flow)


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Comment:
    id: int
    user: User
    body: str
    created_at: datetime = field(default_factory=now)


@dataclass
class Review:
    id: int
    user: User
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, PENDING
    body: str
    commit_id: str
    submitted_at: datetime = field(default_factory=now)


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    suite_id: int
    status: str = "in_progress"  # queued, in_progress, completed
    conclusion: str | None = None
    started_at: datetime = field(default_factory=now)
    completed_at: datetime | None = None
    output_title: str | None = None
    output_summary: str | None = None
    output_text: str | None = None
    run_attempt: int = 1  # the workflow run attempt this check run (Actions job) belongs to
    log: str | None = None  # the job's log (None: rendered from the output or a generic success log)


@dataclass
class CheckSuite:
    """One CI workflow run's check suite: `id` is the suite's, `run_id` the workflow run's (they differ,
    as on GitHub); its check runs are the run's jobs (a job's id is its check run's id).

    `driver` "ci" is a PR check suite run by the CI actor; "pipelines" a workflow run started by
    `pipelines.py` (a failing pipeline on the default branch, or a run on a `mender/ci-fix/` branch).
    """

    id: int
    head_sha: str
    head_branch: str
    before: str
    run_number: int
    run_id: int = 0  # the workflow run's own id (`World.add_suite` gives one)
    runs: list[CheckRun] = field(default_factory=list)
    status: str = "queued"
    conclusion: str | None = None
    run_attempt: int = 1
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    run_started_at: datetime = field(default_factory=now)  # start of the latest attempt
    event: str = "pull_request"  # the workflow run's trigger: pull_request or push
    workflow: str = "CI"
    driver: str = "ci"
    pipeline: int | None = None  # `World.pipelines` index this run reproduces or tries to fix
    actor: str | None = None  # who triggered the first attempt (None: the PR author or repo owner)
    triggering_actor: str | None = None  # who triggered the latest attempt (None: `actor`)
    history: list[list[CheckRun]] = field(default_factory=list)  # runs of earlier attempts, oldest first

    def jobs(self, attempt: int | None = None) -> list[CheckRun]:
        """Check runs of `attempt` (default: the latest); [] for an attempt that never happened."""
        if attempt is None or attempt == self.run_attempt:
            return list(self.runs)
        return list(self.history[attempt - 1]) if 1 <= attempt <= len(self.history) else []


@dataclass
class CommitStatus:
    id: int
    sha: str
    state: str  # pending, success, failure, error
    context: str
    creator: User
    description: str | None = None
    target_url: str | None = None
    created_at: datetime = field(default_factory=now)


@dataclass(frozen=True)
class FileChange:
    """The one edit a bot PR makes: pin `package` to `version` in `path` (requirements.txt, package.json)."""

    path: str
    package: str
    version: str


@dataclass
class PullRequest:
    repo: str
    number: int
    id: int
    title: str
    body: str
    user: User
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    faults: list[str] = field(default_factory=list)
    state: str = "open"
    draft: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    closed_at: datetime | None = None
    closed_by: User | None = None
    change: FileChange | None = None  # what a bot PR changes; None for PRs opened through the API
    conflict: bool = False  # a merge conflict with the base makes the PR "dirty"
    require_up_to_date: bool = False  # `Repo.require_up_to_date` for this PR only (the behind_base fault)
    labels: list[Label] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    shas: list[str] = field(default_factory=list)  # every head sha the PR has had
    mergeability_settles_at: float = 0.0  # time.monotonic() when GitHub has computed mergeability again
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    @property
    def key(self) -> str:
        return f"{self.repo}#{self.number}"

    @property
    def outcome(self) -> str:
        return "merged" if self.merged else self.state


@dataclass
class Issue:
    """A plain issue (incident reports); issues share their number space with pull requests."""

    repo: str
    number: int
    id: int
    title: str
    body: str
    user: User
    labels: list[Label] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    state: str = "open"
    state_reason: str | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    closed_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.repo}#{self.number}"


@dataclass
class Pipeline:
    """A failing CI pipeline (scenario `pipelines:` or `POST /_sim/pipelines`) and what became of it."""

    index: int
    repo: str
    log: str
    heals_on: str  # retry | fix | never
    workflow: str = "CI"
    job: str = "test"
    approve: bool | None = None  # what a human approver would answer (reported, not used here)
    group: int | None = None  # scenario `pipelines` group index; None when posted to /_sim/pipelines
    human_fix: dict[str, str] | None = None  # path -> text a human appends to fix it (scenario `human_fix`)
    human_fix_after: float = 0.0  # seconds after the run starts
    run_id: int | None = None  # None until the run starts
    failed_at: datetime | None = None
    reruns_requested: int = 0
    healed_by: str | None = None  # retry | fix | human
    healed_at: datetime | None = None
    fix_checks: dict[str, str] = field(
        default_factory=dict
    )  # quality check runs on fix branches: name -> conclusion
    breaks_after_merge: bool = False  # the default branch fails once its fix is merged (until reverted)
    fix_merged_at: datetime | None = None
    reverted_at: datetime | None = None


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    default_branch: str = "main"
    require_up_to_date: bool = False  # branch protection "require branches to be up to date"
    archived: bool = False  # read-only (`repo_refusals.py` refuses its writes)
    required_contexts: tuple[str, ...] = REQUIRED_CONTEXTS
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)  # plain issues; PRs are in `pulls`
    labels: dict[str, Label] = field(default_factory=dict)
    suites: dict[int, CheckSuite] = field(default_factory=dict)
    workflow_runs: dict[int, CheckSuite] = field(default_factory=dict)  # by workflow run id
    suites_by_sha: dict[str, list[CheckSuite]] = field(default_factory=dict)
    statuses: dict[str, list[CommitStatus]] = field(default_factory=dict)
    next_number: int = 1
    created_at: datetime = field(default_factory=now)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class SimEvent:
    """A world event as actors see it: the webhook's event/action plus the objects involved."""

    name: str
    action: str | None
    repo: Repo
    pr: PullRequest | None
    suite: CheckSuite | None = None
    run: CheckRun | None = None
    status: CommitStatus | None = None
    review: Review | None = None
    comment: Comment | None = None
    data: dict[str, Any] = field(default_factory=dict)
    head_sha: str | None = None  # the PR's head sha when the event happened

    def __post_init__(self) -> None:
        if self.head_sha is None and self.pr is not None:
            self.head_sha = self.pr.head_sha
