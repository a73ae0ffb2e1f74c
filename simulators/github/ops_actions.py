"""World-changing GitHub Actions operations: workflow runs whose jobs queue, run and finish.

A run is a `CheckSuite` with `driver="pipelines"` and its jobs are `CheckRun`s (same ids as on GitHub).
Each step emits the webhooks GitHub sends (`workflow_run` requested, in_progress, completed;
`workflow_job` queued, in_progress, completed) through `SimState.emit`, so deliveries share the usual queue, outages and
`webhook_loss`. The bodies carry no PR, so a repo's Actions webhooks go out in order. Call on the loop.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulators.github.model import PASSING, CheckRun, CheckSuite, Repo, SimEvent, User, now
from simulators.github.state import SimState
from simulators.github.world import World


class ActionsOps:
    """Create, start, finish and re-run Actions workflow runs (the engine is `pipelines.Pipelines`)."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    @property
    def world(self) -> World:
        """The simulator's current world (a reset replaces it)."""
        return self.state.world

    def sender(self, repo: Repo, suite: CheckSuite) -> User:
        """Who triggered the run's latest attempt."""
        return self.world.user(suite.triggering_actor or suite.actor or repo.owner)

    def _emit_run(self, action: str, repo: Repo, suite: CheckSuite) -> None:
        body = self.state.payloads.workflow_run(action, repo, suite, self.sender(repo, suite))
        self.state.emit(SimEvent("workflow_run", action, repo, None, suite=suite), body)

    def _emit_job(self, action: str, repo: Repo, suite: CheckSuite, run: CheckRun) -> None:
        body = self.state.payloads.workflow_job(action, repo, run, self.sender(repo, suite))
        self.state.emit(SimEvent("workflow_job", action, repo, None, suite=suite, run=run), body)

    def _queue_jobs(self, suite: CheckSuite, names: Iterable[str]) -> None:
        runs = {run.name: run for run in suite.runs}
        for name in names:
            runs[name] = CheckRun(
                self.world.new_id("run"),
                name,
                suite.head_sha,
                suite.id,
                status="queued",
                run_attempt=suite.run_attempt,
            )
        suite.runs = list(runs.values())
        suite.status, suite.conclusion, suite.updated_at = "queued", None, now()

    def create_run(
        self,
        repo: Repo,
        sha: str,
        branch: str,
        event: str,
        workflow: str,
        jobs: Iterable[str],
        pipeline: int | None,
        actor: User,
    ) -> CheckSuite:
        """A queued workflow run of `jobs` on `sha` (`workflow_run.requested`)."""
        commit = repo.commits[sha]
        before = commit.parents[0] if commit.parents else "0" * 40
        suite = CheckSuite(
            self.world.new_id("suite"),
            sha,
            branch,
            before,
            run_number=len(repo.suites) + 1,
            event=event,
            workflow=workflow,
            driver="pipelines",
            pipeline=pipeline,
            actor=actor.login,
        )
        self._queue_jobs(suite, dict.fromkeys(jobs))
        self.world.add_suite(repo, suite)
        self._emit_run("requested", repo, suite)
        self._announce_queued(repo, suite)
        return suite

    def _announce_queued(self, repo: Repo, suite: CheckSuite) -> None:
        for run in suite.runs:
            if run.status == "queued":
                self._emit_job("queued", repo, suite, run)

    def start_attempt(self, repo: Repo, suite: CheckSuite) -> None:
        """A runner picked the queued jobs up (`workflow_run.in_progress`)."""
        started = now()
        picked = [run for run in suite.runs if run.status == "queued"]
        for run in picked:
            run.status, run.started_at = "in_progress", started
        suite.status, suite.updated_at = "in_progress", started
        self._emit_run("in_progress", repo, suite)
        for run in picked:
            self._emit_job("in_progress", repo, suite, run)

    def finish_job(
        self, repo: Repo, suite: CheckSuite, run: CheckRun, conclusion: str, log: str | None
    ) -> None:
        """A job ends with `conclusion` and `log` (None: a generic log) (`workflow_job.completed`)."""
        run.status, run.conclusion, run.completed_at, run.log = "completed", conclusion, now(), log
        self._emit_job("completed", repo, suite, run)

    def finish_run(self, repo: Repo, suite: CheckSuite) -> None:
        """All jobs ended: the run concludes failure if any job failed (`workflow_run.completed`)."""
        failed = any(run.conclusion not in PASSING for run in suite.runs)
        suite.status, suite.conclusion, suite.updated_at = (
            "completed",
            "failure" if failed else "success",
            now(),
        )
        self._emit_run("completed", repo, suite)

    def requeue(self, repo: Repo, suite: CheckSuite, sender: User, failed_only: bool) -> list[str]:
        """A new attempt of a completed run: all jobs or the failed ones; returns the jobs re-queued."""
        names = [run.name for run in suite.runs if not failed_only or run.conclusion not in PASSING]
        if suite.status != "completed" or not names:
            return []
        suite.history.append(list(suite.runs))
        suite.run_attempt += 1
        suite.run_started_at, suite.triggering_actor = now(), sender.login
        self._queue_jobs(suite, names)
        self._emit_run("requested", repo, suite)
        self._announce_queued(repo, suite)
        return names
