"""How pipelines run: a failed pipeline is added, retries re-run its failed jobs and finish after
`ci_seconds` (success only when `heals_on == "retry"`), and every status change queues a Pipeline Hook.

`PipelineRuns` changes a `GitLabState`; callers hold no lock, these methods take it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from simulators.gitlab import render
from simulators.gitlab.model import FINISHED, HEALS_ON, GitLabError, Job, Pipeline, now
from simulators.gitlab.state import GitLabState

SUCCESS_TRACE = "Running with gitlab-runner 17.1.0 (sim)\n$ make test\nok\nJob succeeded\n"


class PipelineRuns:
    """Pipeline creation, retries and their timed completion."""

    def __init__(self, state: GitLabState) -> None:
        self.state = state

    def _emit(self, p: Pipeline) -> None:
        """Queue a Pipeline Hook for the pipeline's current state (caller holds the lock)."""
        body = render.pipeline_hook(self.state.base_url, self.state.projects[p.project_id], p)
        self.state.deliverer.enqueue(p.project_path, p.id, p.status, body)

    def add_pipeline(
        self,
        project: str,
        log_text: str,
        heals_on: str = "retry",
        job: str = "test",
        stage: str = "test",
        approve: Any = None,
        ref: str | None = None,
    ) -> Pipeline:
        """A pipeline that already failed: `build` passed, `job` failed with `log_text` as its trace.

        Hooks go out for pending, running and failed, in that order.
        """
        if heals_on not in HEALS_ON:
            raise ValueError(f"heals_on must be one of {HEALS_ON}")
        if not job or job == "build":
            raise ValueError("job must be a name other than 'build'")
        with self.state.lock:
            proj = self.state.ensure_project(project)
            t0 = now() - timedelta(seconds=90)
            p = self.state.new_pipeline(
                proj, ref or proj.default_branch, None, log_text, heals_on,
                approve=approve, failing_job=job, created_at=t0, updated_at=t0,
            )  # fmt: skip
            pid = p.id
            build = Job(self.state.next_id("job"), pid, proj.id, "build", "build", created_at=t0)
            failing = Job(self.state.next_id("job"), pid, proj.id, job, stage, created_at=t0)
            p.jobs = [build, failing]
            self.state.pipelines[pid] = p
            self.state.jobs.update({build.id: build, failing.id: failing})
            build.status = "pending"
            p.refresh_status()
            self._emit(p)
            build.status, build.started_at = "running", t0 + timedelta(seconds=3)
            p.refresh_status()
            p.started_at = build.started_at
            self._emit(p)
            build.finish("success", "$ make build\nJob succeeded\n")
            build.finished_at = t0 + timedelta(seconds=40)
            failing.status, failing.started_at = "running", t0 + timedelta(seconds=42)
            failing.finish("failed", log_text, "script_failure")
            p.refresh_status()
            p.failed_at = p.finished_at
            self._emit(p)
            return p

    def add_passed_pipeline(
        self, project: str, job: str = "test", log_text: str = SUCCESS_TRACE, ref: str | None = None
    ) -> Pipeline:
        """A pipeline that passed (`build` and `job`, whose trace is `log_text`): the last passing run
        that a later failure of the same job on the same ref is compared with. No hooks go out."""
        with self.state.lock:
            proj = self.state.ensure_project(project)
            t0 = now() - timedelta(seconds=300)
            ref = ref or proj.default_branch
            p = self.state.new_pipeline(
                proj, ref, None, "", "retry", failing_job=job, created_at=t0, updated_at=t0
            )
            pid = p.id
            p.jobs = [
                Job(self.state.next_id("job"), pid, proj.id, name, name, created_at=t0)
                for name in ("build", job)
            ]
            for j, trace in zip(p.jobs, ("$ make build\nJob succeeded\n", log_text), strict=True):
                j.started_at = t0
                j.finish("success", trace)
                self.state.jobs[j.id] = j
            self.state.pipelines[pid] = p
            p.refresh_status()
            return p

    def retry_job(self, project_ref: str | int, job_id: int) -> Job:
        """`POST .../jobs/:id/retry`: a new pending job in the same pipeline; it finishes after ci_seconds."""
        with self.state.lock:
            old = self.state.job(project_ref, job_id)
            p = self.state.pipelines[old.pipeline_id]
            latest = [j for j in p.latest_jobs if j.name == old.name]
            if old.status not in FINISHED or any(j.status not in FINISHED for j in latest):
                raise GitLabError(403, "403 Forbidden  - Job is not retryable")
            p.retries_requested += 1
            return self._rerun(p, [old])[0]

    def retry_pipeline(self, project_ref: str | int, pipeline_id: int) -> Pipeline:
        """`POST .../pipelines/:id/retry`: re-run the pipeline's failed jobs (none failed: no change)."""
        with self.state.lock:
            p = self.state.pipeline(project_ref, pipeline_id)
            failed = [j for j in p.latest_jobs if j.status in ("failed", "canceled")]
            if failed:
                p.retries_requested += 1
                self._rerun(p, failed)
            return p

    def _rerun(self, p: Pipeline, old_jobs: list[Job]) -> list[Job]:
        new_jobs = []
        for old in old_jobs:
            for j in p.jobs:
                if j.name == old.name:
                    j.retried = True
            new = Job(
                self.state.next_id("job"), p.id, p.project_id, old.name, old.stage, "pending", retry_of=old.id
            )
            p.jobs.append(new)
            self.state.jobs[new.id] = new
            new_jobs.append(new)
        p.refresh_status()
        self._emit(p)
        ids = [j.id for j in new_jobs]
        self.state.schedule(0.0, self._start_jobs, p.id, ids, self.state.generation)
        self.state.schedule(
            float(self.state.config.ci_seconds), self._finish_jobs, p.id, ids, self.state.generation
        )
        return new_jobs

    def _start_jobs(self, pipeline_id: int, job_ids: list[int], generation: int) -> None:
        with self.state.lock:
            if generation != self.state.generation:
                return
            p = self.state.pipelines[pipeline_id]
            for jid in job_ids:
                if self.state.jobs[jid].status == "pending":
                    self.state.jobs[jid].start()
            if p.refresh_status() == "running":
                self._emit(p)

    def _finish_jobs(self, pipeline_id: int, job_ids: list[int], generation: int) -> None:
        with self.state.lock:
            if generation != self.state.generation:
                return
            p = self.state.pipelines[pipeline_id]
            for jid in job_ids:
                j = self.state.jobs[jid]
                if j.status in FINISHED:
                    continue
                if j.started_at is None:
                    j.start()
                if p.heals_on == "retry" or j.name != p.failing_job:
                    j.finish("success", SUCCESS_TRACE)
                else:
                    j.finish("failed", p.log_text, "script_failure")
            if p.refresh_status() == "success" and p.healed_at is None:
                p.healed_at, p.healed_by = p.finished_at, "retry"
            self._emit(p)
