"""Failing CI pipelines: GitHub Actions runs that fail with a real log, and what heals them.

A pipeline (`model.Pipeline`, from a scenario's `pipelines:` or `POST /_sim/pipelines`) is one failed
workflow run on the repo's default branch (event push, actor octocat): job `build` passes, the
pipeline's `job` fails with the pipeline's log. Each run is queued, then in progress after
`ci_start_seconds`, then completed after `ci_seconds` (webhooks in `ops_actions.py`).

Healing:
- A re-run (`POST .../rerun` or `.../rerun-failed-jobs`) is a new attempt of the same run id, done
  after `ci_seconds`: success if `heals_on` is retry, else failure with the same log.
- A commit to a branch `mender/ci-fix/<run_id>[-anything]` starts a run on it (event push), and so
  does opening or updating a PR from it (event pull_request): success if `heals_on` is fix, else
  failure with the same log (a `mender/ci-fix/` branch naming no pipeline's run: success). PRs from
  such branches get none of the bot-PR actors (see `actors.py`).
- Quality checks: a pipeline's `fix_checks` (check name -> conclusion) run on each fix-branch commit as
  another app's check suite (check runs, no Actions workflow run), finishing with the Actions run.
- After a merge: a merge into the default branch of a `mender/ci-fix/` PR runs the pipeline's workflow
  on the merge commit (event push): failure when the pipeline `breaks_after_merge` and the fix is still
  in (a merged `mender/ci-fix/revert-<n>` PR takes it out again), else success.
"""

from __future__ import annotations

from simulators.github.model import (
    CheckSuite,
    Pipeline,
    Repo,
    SimEvent,
    User,
    fix_origin,
    is_fix_branch,
    now,
)
from simulators.github.ops import Ops
from simulators.github.ops_actions import ActionsOps
from simulators.github.render_actions import workflow_path
from simulators.github.scenario import HumanFix, Scenario
from simulators.github.state import SimState

PUSHER = "octocat"  # who pushed the commit a failing pipeline runs on
BUILD_JOB = "build"
QUALITY_APP = "quality-checks"  # the app whose check suite carries a pipeline's `fix_checks`
REVERT_PREFIX = "mender/ci-fix/revert-"
BROKEN_LOG = (
    "Run make test\n"
    "FAILED tests/test_app.py::test_startup - AssertionError: the service did not start\n"
    "1 failed, 41 passed in 3.20s\n"
    "Error: Process completed with exit code 1.\n"
)


def workflow_yaml(name: str, jobs: tuple[str, ...], branch: str) -> str:
    """A plain GitHub Actions workflow running `make <job>` for each job."""
    lines = [f"name: {name}", "on:", "  push:", f"    branches: [{branch}]", "  pull_request:", "jobs:"]
    for job in dict.fromkeys(jobs):
        key = "".join(c if c.isalnum() or c in "-_" else "-" for c in job)
        lines += [
            f"  {key}:",
            "    runs-on: ubuntu-latest",
            "    steps:",
            "      - uses: actions/checkout@v4",
        ]
        lines += [f"      - run: make {key}"]
    return "\n".join(lines) + "\n"


class Pipelines(ActionsOps):
    """The Actions engine: starts pipeline runs, re-runs and fix-branch runs, records healing."""

    def __init__(self, state: SimState, ops: Ops) -> None:
        super().__init__(state)
        self.ops = ops

    def add(
        self,
        repo: str,
        log: str,
        heals_on: str,
        workflow: str = "CI",
        job: str = "test",
        approve: bool | None = None,
        group: int | None = None,
        fix_checks: dict[str, str] | None = None,
        breaks_after_merge: bool = False,
        human_fix: HumanFix | None = None,
    ) -> Pipeline:
        """Register a pipeline (its run starts with `start`)."""
        self.world.ensure_repo(repo)
        pipeline = Pipeline(len(self.world.pipelines), repo, log, heals_on, workflow, job, approve, group)
        pipeline.fix_checks = dict(fix_checks or {})
        pipeline.breaks_after_merge = breaks_after_merge
        if human_fix is not None:
            pipeline.human_fix, pipeline.human_fix_after = dict(human_fix.append), human_fix.after_seconds
        self.world.pipelines.append(pipeline)
        return pipeline

    def start(self, pipeline: Pipeline) -> CheckSuite:
        """The pipeline's run on the default branch's head; it fails `ci_start + ci` seconds later.

        The first run of a workflow in a repo pushes its workflow file (`.github/workflows/<name>.yml`)
        to the default branch and runs on that commit.
        """
        repo = self.world.ensure_repo(pipeline.repo)
        branch = repo.default_branch
        jobs = (BUILD_JOB, pipeline.job)
        pusher = self.world.user(PUSHER)
        path = workflow_path(pipeline.workflow)
        if path not in repo.commits[repo.branches[branch]].files:
            text = workflow_yaml(pipeline.workflow, jobs, branch)
            self.ops.commit_file(
                repo, branch, path, text, f"ci: add the {pipeline.workflow} workflow", pusher
            )
        suite = self.create_run(
            repo, repo.branches[branch], branch, "push", pipeline.workflow, jobs, pipeline.index, pusher
        )
        pipeline.run_id = suite.run_id
        self._drive(repo, suite, self.state.timing.ci_start_seconds)
        if pipeline.human_fix:
            self.state.spawn(self._fixed_by_hand(pipeline), name=f"human fix of run {suite.run_id}")
        return suite

    def add_passed_run(self, repo_name: str, log: str, workflow: str = "CI", job: str = "test") -> CheckSuite:
        """A run of `workflow` on the default branch's head that passed at once (`build` and `job`, whose
        log is `log`): the last passing run a later failure of the same job is compared with."""
        repo = self.world.ensure_repo(repo_name)
        branch, pusher = repo.default_branch, self.world.user(PUSHER)
        path = workflow_path(workflow)
        if path not in repo.commits[repo.branches[branch]].files:
            text = workflow_yaml(workflow, (BUILD_JOB, job), branch)
            self.ops.commit_file(repo, branch, path, text, f"ci: add the {workflow} workflow", pusher)
        suite = self.create_run(
            repo, repo.branches[branch], branch, "push", workflow, (BUILD_JOB, job), None, pusher
        )
        self.start_attempt(repo, suite)
        for run in suite.runs:
            self.finish_job(repo, suite, run, "success", log if run.name == job else None)
        self.finish_run(repo, suite)
        return suite

    async def _fixed_by_hand(self, pipeline: Pipeline) -> None:
        await self.state.pause(pipeline.human_fix_after)
        repo = self.world.ensure_repo(pipeline.repo)
        tip = repo.commits[repo.branches[repo.default_branch]].files
        appended = {path: tip.get(path, "") + text for path, text in (pipeline.human_fix or {}).items()}
        self.human_fix(pipeline, appended, "alice", "Fix the build by hand")

    def schedule(self, scenario: Scenario) -> list[Pipeline]:
        """Register the scenario's GitHub pipelines; each group starts `after_seconds` from now."""
        added: list[Pipeline] = []
        for index, group in enumerate(scenario.pipelines):
            if group.provider != "github":
                continue  # kept in the scenario for the GitLab simulator
            if group.log_text is None:
                raise ValueError(f"pipelines[{index}]: log {group.log!r} was not read (use load_scenario)")
            members = [
                self.add(
                    group.repo,
                    group.log_text,
                    group.heals_on,
                    group.workflow,
                    group.job,
                    group.approve,
                    index,
                    group.fix_checks,
                    group.breaks_after_merge,
                    group.human_fix,
                )
                for _ in range(group.count)
            ]
            added += members
            interval = scenario.timing.open_interval_seconds
            self.state.spawn(self._group(members, group.after_seconds, interval), name=f"pipelines[{index}]")
        return added

    async def _group(self, members: list[Pipeline], after: float, interval: float) -> None:
        await self.state.pause(after)
        for i, pipeline in enumerate(members):
            if i:
                await self.state.pause(interval)
            self.start(pipeline)

    # --- running ---

    def pipeline_of(self, suite: CheckSuite) -> Pipeline | None:
        return self.world.pipelines[suite.pipeline] if suite.pipeline is not None else None

    def failing_log(self, suite: CheckSuite) -> str | None:
        """The log the pipeline's job fails with on this attempt; None when the attempt passes."""
        pipeline = self.pipeline_of(suite)
        if pipeline is None:
            return None
        if is_fix_branch(suite.head_branch):
            return None if pipeline.heals_on == "fix" else pipeline.log
        if suite.run_id != pipeline.run_id:  # a run on a merge commit of the default branch
            broken = pipeline.breaks_after_merge and pipeline.fix_merged_at and not pipeline.reverted_at
            return BROKEN_LOG if broken else None
        if suite.run_attempt == 1 or pipeline.heals_on != "retry":
            return pipeline.log
        return None

    def _drive(self, repo: Repo, suite: CheckSuite, start_delay: float) -> None:
        self.state.spawn(self._run(repo, suite, start_delay), name=f"workflow run {suite.run_id}")

    async def _run(self, repo: Repo, suite: CheckSuite, start_delay: float) -> None:
        await self.state.pause(start_delay)
        self.start_attempt(repo, suite)
        await self.state.pause(self.state.timing.ci_seconds)
        pipeline, log = self.pipeline_of(suite), self.failing_log(suite)
        failing = pipeline.job if pipeline is not None and log is not None else None
        for run in suite.runs:
            if run.status != "completed":
                fails = run.name == failing
                self.finish_job(repo, suite, run, "failure" if fails else "success", log if fails else None)
        self.finish_run(repo, suite)
        self._record(suite)

    def _record(self, suite: CheckSuite) -> None:
        pipeline = self.pipeline_of(suite)
        if pipeline is None:
            return
        fix = is_fix_branch(suite.head_branch)
        if suite.run_id != pipeline.run_id and not fix:
            return  # a run after a merge: it neither fails nor heals the pipeline
        if not fix and suite.run_attempt == 1 and suite.conclusion == "failure":
            pipeline.failed_at = suite.updated_at
        if suite.conclusion == "success" and pipeline.healed_at is None:
            pipeline.healed_by, pipeline.healed_at = ("fix" if fix else "retry"), now()

    def rerun(self, repo: Repo, suite: CheckSuite, sender: User, failed_only: bool) -> bool:
        """Re-run a completed run (all jobs or the failed ones); False when nothing was re-queued."""
        pipeline = self.pipeline_of(suite)
        if pipeline is not None and pipeline.run_id == suite.run_id:
            pipeline.reruns_requested += 1
        if not self.requeue(repo, suite, sender, failed_only):
            return False
        self._drive(repo, suite, 0)
        return True

    def human_fix(self, pipeline: Pipeline, files: dict[str, str], author: str, message: str) -> CheckSuite:
        """A human fixes the pipeline by hand: one commit of `files` on the branch its run failed on, then a
        run of the same workflow on that commit, which passes."""
        repo = self.world.ensure_repo(pipeline.repo)
        branch = repo.default_branch
        user = self.world.user(author)
        tip = repo.branches[branch]
        commit = self.world.add_commit(repo, [tip], message, author, {**repo.commits[tip].files, **files})
        self.ops.move_branch(repo, branch, commit.sha, user)
        jobs = (BUILD_JOB, pipeline.job)
        suite = self.create_run(repo, commit.sha, branch, "push", pipeline.workflow, jobs, None, user)
        if pipeline.healed_at is None:
            pipeline.healed_by, pipeline.healed_at = "human", now()
        self._drive(repo, suite, self.state.timing.ci_start_seconds)
        return suite

    # --- fix branches ---

    def on_event(self, ev: SimEvent) -> None:
        """A push to a fix branch: a push run; a PR from one opened, updated or reopened: a pull_request run;
        a fix (or its revert) merged into the default branch: a push run on the merge commit."""
        if ev.name == "push":
            branch = ev.data["ref"]
            if is_fix_branch(branch) and ev.data["workflows"]:
                self._fix_run(ev.repo, ev.data["after"], branch, "push", ev.data["sender"])
            elif branch == ev.repo.default_branch:
                self._after_merge(ev.repo, ev.data["after"], ev.data["sender"])
            return
        pr = ev.pr
        if pr is None or ev.name != "pull_request" or ev.action not in ("opened", "synchronize", "reopened"):
            return
        if is_fix_branch(pr.head_ref) and ev.head_sha is not None:
            self._fix_run(ev.repo, ev.head_sha, pr.head_ref, "pull_request", pr.user)

    def _fix_run(self, repo: Repo, sha: str, branch: str, event: str, actor: User) -> None:
        origin = fix_origin(branch)
        found = [p for p in self.world.pipelines if p.run_id == origin and p.repo == repo.full_name]
        pipeline = found[0] if found else None  # no or an unknown run id: a plain run that passes
        workflow, job = (pipeline.workflow, pipeline.job) if pipeline else ("CI", "test")
        index = pipeline.index if pipeline else None
        suite = self.create_run(repo, sha, branch, event, workflow, (BUILD_JOB, job), index, actor)
        self._drive(repo, suite, self.state.timing.ci_start_seconds)
        if pipeline is not None and pipeline.fix_checks and event == "push":
            self.state.spawn(self._quality(repo, sha, branch, pipeline), name=f"quality checks {sha[:7]}")

    async def _quality(self, repo: Repo, sha: str, branch: str, pipeline: Pipeline) -> None:
        """The pipeline's `fix_checks` as another app's check runs on `sha`, done with the Actions run."""
        suite = CheckSuite(
            self.world.new_id("suite"), sha, branch, sha, run_number=0, event="push",
            workflow=QUALITY_APP, driver="checks", actor=QUALITY_APP,
        )  # fmt: skip
        self._queue_jobs(suite, pipeline.fix_checks)
        self.world.add_suite(repo, suite)
        await self.state.pause(self.state.timing.ci_start_seconds)
        for run in suite.runs:
            run.status, run.started_at = "in_progress", now()
        await self.state.pause(self.state.timing.ci_seconds)
        for run in suite.runs:
            run.status, run.conclusion, run.completed_at = "completed", pipeline.fix_checks[run.name], now()
            run.output_title = f"{run.name}: {run.conclusion}"
        failed = any(run.conclusion not in ("success", "neutral", "skipped") for run in suite.runs)
        suite.status, suite.conclusion, suite.updated_at = (
            "completed",
            "failure" if failed else "success",
            now(),
        )

    def _after_merge(self, repo: Repo, sha: str, actor: User) -> None:
        """A merge commit of a fix (or revert) PR on the default branch runs its pipeline's workflow."""
        commit = repo.commits.get(sha)
        if commit is None or len(commit.parents) < 2:
            return
        merged = next((p for p in repo.pulls.values() if p.head_sha == commit.parents[1]), None)
        if merged is None or not is_fix_branch(merged.head_ref):
            return
        if merged.head_ref.startswith(REVERT_PREFIX):
            number = merged.head_ref.removeprefix(REVERT_PREFIX)
            fixed = repo.pulls.get(int(number)) if number.isdigit() else None
            origin = fix_origin(fixed.head_ref) if fixed is not None else None
        else:
            origin = fix_origin(merged.head_ref)
        found = [p for p in self.world.pipelines if p.run_id == origin and p.repo == repo.full_name]
        if not found:
            return
        pipeline = found[0]
        if merged.head_ref.startswith(REVERT_PREFIX):
            pipeline.reverted_at = now()
        else:
            pipeline.fix_merged_at = now()
        jobs = (BUILD_JOB, pipeline.job)
        suite = self.create_run(
            repo, sha, repo.default_branch, "push", pipeline.workflow, jobs, pipeline.index, actor
        )
        self._drive(repo, suite, self.state.timing.ci_start_seconds)
