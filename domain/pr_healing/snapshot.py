"""A live snapshot of one PR as GitHub reports it: what trust-but-verify compares with the lifecycle."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.pr_healing.events import PRRef

PASSING = frozenset({"success", "neutral", "skipped"})


class CheckRunFact(BaseModel):
    id: int
    name: str
    status: str  # queued | in_progress | completed
    conclusion: str | None = None
    suite_id: int | None = None
    output: str = ""  # title, summary and text of the run's output, bounded

    @property
    def pending(self) -> bool:
        return self.status != "completed"

    @property
    def failed(self) -> bool:
        return self.status == "completed" and self.conclusion not in PASSING


class CheckSuiteFact(BaseModel):
    id: int
    status: str
    conclusion: str | None = None
    updated_at: str | None = None


class StatusFact(BaseModel):
    id: int
    context: str
    state: str  # pending | success | failure | error
    description: str | None = None


class ReviewFact(BaseModel):
    id: int
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    commit_id: str | None = None


class PRSnapshot(BaseModel):
    """Everything Mender reads about a PR in one refresh."""

    pr: PRRef
    state: str  # open | closed
    merged: bool = False
    merge_commit_sha: str | None = None
    closed_at: str | None = None
    draft: bool = False
    author: str
    title: str = ""
    html_url: str | None = None
    head_sha: str
    head_ref: str = ""
    base_ref: str = "main"
    mergeable: bool | None = None
    mergeable_state: str = "unknown"  # clean | behind | dirty | blocked | unstable | unknown
    behind_by: int = 0  # commits on the base that the head does not have
    labels: list[str] = Field(default_factory=list)
    check_suites: list[CheckSuiteFact] = Field(default_factory=list)
    check_runs: list[CheckRunFact] = Field(default_factory=list)
    statuses: list[StatusFact] = Field(default_factory=list)
    reviews: list[ReviewFact] = Field(default_factory=list)
    fetched_at: datetime

    @property
    def open(self) -> bool:
        return self.state == "open" and not self.merged

    def status_for(self, context: str) -> StatusFact | None:
        """The latest commit status of `context` on the head (GitHub lists newest first)."""
        return next((s for s in self.statuses if s.context == context), None)

    def approval(self) -> ReviewFact | None:
        """An approving review of the current head, if any."""
        return next(
            (
                r
                for r in self.reviews
                if r.state.upper() == "APPROVED" and r.commit_id in (None, self.head_sha)
            ),
            None,
        )

    @property
    def checks_pending(self) -> bool:
        return any(r.pending for r in self.check_runs) or any(
            s.status != "completed" for s in self.check_suites
        )

    @property
    def failed_runs(self) -> list[CheckRunFact]:
        return [r for r in self.check_runs if r.failed]

    @property
    def checks_passed(self) -> bool:
        return bool(self.check_runs) and not self.checks_pending and not self.failed_runs
