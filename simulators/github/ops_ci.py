"""World-changing CI operations (check suites and runs), the base of `ops.Ops`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simulators.github.model import CheckRun, CheckSuite, PullRequest, Repo, SimEvent, User, now
from simulators.github.state import SimState
from simulators.github.world import World

CHECK_RUN_NAMES = ("build", "test")


class CIOps:
    """Check suites: created and completed by CI, re-run through the API."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    @property
    def world(self) -> World:
        """The simulator's current world (a reset replaces it)."""
        return self.state.world

    def _emit(self, ev: SimEvent, body: dict[str, Any]) -> None:
        self.state.emit(ev, body)

    def create_suite(self, pr: PullRequest, sha: str) -> CheckSuite:
        """CI picks up a pushed sha: a queued check suite whose check runs start right away."""
        repo = self.world.repos[pr.repo]
        commit = repo.commits[sha]
        suite_id = self.world.new_id("suite")
        before = commit.parents[0] if commit.parents else "0" * 40
        suite = CheckSuite(
            suite_id, sha, pr.head_ref, before, run_number=len(repo.suites) + 1, actor=pr.user.login
        )
        self.world.add_suite(repo, suite)
        self._owner_only(SimEvent("check_suite", "requested", repo, pr, suite=suite), pr.user)
        self._start_runs(repo, suite, CHECK_RUN_NAMES, pr)
        return suite

    def _owner_only(self, ev: SimEvent, sender: User) -> None:
        """A `check_suite` requested/rerequested: GitHub sends it to the suite's own app (CI) only.

        `SimulatorConfig.foreign_suite_requests` also delivers it to the webhook (the old, lenient way).
        """
        if self.state.config.foreign_suite_requests:
            assert ev.suite is not None and ev.action is not None
            self._emit(ev, self.state.payloads.check_suite(ev.action, ev.repo, ev.suite, sender))
        else:
            self.state.notify(ev)

    def _start_runs(
        self, repo: Repo, suite: CheckSuite, names: Iterable[str], pr: PullRequest | None
    ) -> None:
        """New check runs (a first attempt or a re-run), each announced by `check_run.created`."""
        if suite.runs:  # a re-run: keep the earlier attempt's jobs for the Actions API
            suite.history.append(list(suite.runs))
        runs = {run.name: run for run in suite.runs}
        started: list[CheckRun] = []
        for name in names:
            runs[name] = CheckRun(
                self.world.new_id("run"), name, suite.head_sha, suite.id, run_attempt=suite.run_attempt
            )
            started.append(runs[name])
        suite.runs = list(runs.values())
        suite.status, suite.conclusion, suite.updated_at = "in_progress", None, now()
        sender = pr.user if pr else self.world.user(repo.owner)
        for run in started:
            body = self.state.payloads.check_run("created", repo, run, sender)
            self._emit(SimEvent("check_run", "created", repo, pr, suite=suite, run=run), body)

    def complete_run(
        self,
        pr: PullRequest,
        run: CheckRun,
        conclusion: str,
        output: tuple[str, str, str] | None = None,
    ) -> None:
        """Finish a check run; `output` is its (title, summary, text)."""
        repo = self.world.repos[pr.repo]
        run.status, run.conclusion, run.completed_at = "completed", conclusion, now()
        if output is not None:
            run.output_title, run.output_summary, run.output_text = output
        body = self.state.payloads.check_run("completed", repo, run, pr.user)
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
        body = self.state.payloads.check_suite("completed", repo, suite, pr.user)
        self._emit(SimEvent("check_suite", "completed", repo, pr, suite=suite), body)

    def rerun_suite(self, repo: Repo, suite: CheckSuite, sender: User, failed_only: bool) -> bool:
        """Re-run a completed suite on the same sha (all runs, or only failed ones); False if none to run."""
        names = [r.name for r in suite.runs if not failed_only or r.conclusion not in ("success", "skipped")]
        if suite.status != "completed" or not names:
            return False
        suite.run_attempt += 1
        suite.run_started_at, suite.triggering_actor = now(), sender.login
        prs = self.world.prs_for_sha(repo, suite.head_sha)
        pr = next((p for p in prs if p.state == "open"), prs[0] if prs else None)
        self._start_runs(repo, suite, names, pr)
        ev = SimEvent("check_suite", "rerequested", repo, pr, suite=suite, data={"runs": names})
        self._owner_only(ev, sender)
        return True
