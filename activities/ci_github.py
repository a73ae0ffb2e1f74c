"""GitHub Actions behind Mender's CI port, through PyGithub: logs, re-runs, fix PRs, rollback, incidents."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from itertools import islice

import httpx
from github import GithubException, UnknownObjectException
from github.Repository import Repository
from github.WorkflowRun import WorkflowRun

from activities.ci_history import learned_fix_for
from activities.ci_logs import PassingLogs, analyse_jobs, lines_of
from activities.github import github_client, github_errors
from activities.github_files import ensure_branch, read_text
from activities.github_gate import exception_delay
from contracts.ci import (
    FixArgs,
    FixResult,
    FixVerdict,
    IncidentArgs,
    IncidentResult,
    RerunResult,
    RunAnalysis,
)
from domain.ci_healing.config import CIConfig
from domain.ci_healing.fixes import WORKFLOW_DIR, FixPlan, plan_fix
from domain.ci_healing.learned_apply import plan_learned
from domain.ci_healing.reports import fix_pr_body, incident_body, incident_title
from domain.ci_healing.runs import (
    CIRunEvent,
    CIRunRef,
    Conclusion,
    Provider,
    RunEventOrigin,
    fix_branch_origin,
)
from domain.shared.redaction import redact
from runtime.settings import get_settings

LOG_TIMEOUT = httpx.Timeout(30.0, read=120.0)
PASSING_RUNS_SEARCHED = 20  # the newest successful runs of a branch searched for the same workflow
ROLLBACK_NOTE = "Verification failed: Mender closes this fix and deletes its branch."
INCIDENTS_SEARCHED = 50  # the newest issues a retried incident looks for itself in

log = logging.getLogger(__name__)


def _logins(run: WorkflowRun) -> list[str | None]:
    return [user.login if user else None for user in (run.actor, run.triggering_actor)]


class GitHubCI:
    """One project's GitHub Actions."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.repo: Repository = github_client(get_settings(), project).get_repo(project)

    def _run(self, run: CIRunRef) -> WorkflowRun:
        with github_errors(f"read run {run.key}", self.project):
            return self.repo.get_workflow_run(run.run_id)

    def analyse(self, run: CIRunRef, config: CIConfig) -> RunAnalysis:
        """Stream each failed job's log through the diagnosis (nothing unredacted is kept)."""
        workflow_run = self._run(run)
        with github_errors(f"list jobs of {run.key}", self.project):
            failed = [job for job in workflow_run.jobs() if job.conclusion in ("failure", "timed_out")]
        jobs = ((job.name, self._log_lines(job.logs_url())) for job in failed)
        return analyse_jobs(
            jobs,
            "github_actions",
            config,
            run_url=workflow_run.html_url,
            head_branch=workflow_run.head_branch,
            head_sha=workflow_run.head_sha,
            passing_logs=self._passing_logs(workflow_run),
            base_branch=self.repo.default_branch,
        )

    def _passing_logs(self, failed: WorkflowRun) -> PassingLogs:
        """Per job name, the log of the last successful run of the same workflow on the run's branch, else
        on the default branch (None when there is none). Looked up once, when first asked."""
        found: dict[str, str] | None = None

        def jobs() -> dict[str, str]:
            nonlocal found
            if found is None:
                found = {}
                try:
                    if (run := self._last_passing_run(failed)) is not None:
                        found = {
                            job.name: job.logs_url() for job in run.jobs() if job.conclusion == "success"
                        }
                except (GithubException, httpx.HTTPError) as exc:
                    log.warning("no passing run of %s read (%s)", failed.html_url, exc)
            return found

        def lines(name: str) -> Iterator[str] | None:
            url = jobs().get(name)
            return self._log_lines(url) if url else None

        return lines

    def _last_passing_run(self, failed: WorkflowRun) -> WorkflowRun | None:
        """The newest successful run of the failed run's workflow on its branch, else on the default one."""
        for branch in dict.fromkeys(b for b in (failed.head_branch, self.repo.default_branch) if b):
            runs = islice(self.repo.get_workflow_runs(branch=branch, status="success"), PASSING_RUNS_SEARCHED)
            run = next((r for r in runs if r.workflow_id == failed.workflow_id and r.id != failed.id), None)
            if run is not None:
                return run
        return None

    def _log_lines(self, url: str) -> Iterator[str]:
        with httpx.stream("GET", url, timeout=LOG_TIMEOUT, follow_redirects=True) as response:
            response.raise_for_status()
            yield from lines_of(response.iter_bytes())

    def rerun(self, run: CIRunRef) -> RerunResult:
        workflow_run = self._run(run)
        if workflow_run.status != "completed":
            return RerunResult(
                requested=False, detail=f"run is {workflow_run.status}", attempt=workflow_run.run_attempt
            )
        try:
            workflow_run.rerun_failed_jobs()
        except GithubException as exc:
            if exc.status == 403 and exception_delay(exc) is None:  # already running: wait for that attempt
                return RerunResult(
                    requested=True, detail="already re-running", attempt=workflow_run.run_attempt
                )
            with github_errors(f"re-run {run.key}", self.project):
                raise
        return RerunResult(requested=True, detail="failed jobs re-run", attempt=workflow_run.run_attempt)

    def status(self, run: CIRunRef) -> CIRunEvent | None:
        return self._event(self._run(run), None)

    def branch_status(self, run: CIRunRef, branch: str) -> CIRunEvent | None:
        with github_errors(f"list runs on {branch}", self.project):
            runs = self.repo.get_workflow_runs(branch=branch)
            newest = next(iter(runs), None)
        return self._event(newest, run) if newest is not None else None

    def recent_failures(self, since: datetime) -> list[CIRunEvent]:
        """Failed runs created since `since` (the polling fallback); fix branches and runs of bot PRs
        (healed by their PR workflow) excluded, as the webhook ingest does."""
        bots = get_settings().config.bots
        created = f">={since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        with github_errors(f"list failed runs of {self.project}", self.project):
            runs = self.repo.get_workflow_runs(status="failure", created=created)
            return [
                self._event(r, None)
                for r in runs
                if fix_branch_origin(r.head_branch) is None
                and not bots.own_ci_run(r.event, bool(r.pull_requests), _logins(r))
            ]

    def _event(self, run: WorkflowRun, fix_for: CIRunRef | None) -> CIRunEvent:
        return polled_event(self.project, run, fix_for)

    def open_fix(self, args: FixArgs) -> FixResult:
        """Commit the fix on `mender/ci-fix/<run>-<attempt>` and open a PR (idempotent on retries)."""
        base = args.head_branch or self.repo.default_branch
        with github_errors(f"read {base}", self.project):
            base_sha = self.repo.get_branch(base).commit.sha
            workflow_files = self._workflow_files(base_sha)
        read = lambda path: read_text(self.repo, path, base_sha)  # noqa: E731
        learned = learned_fix_for(args.diagnosis.playbook)
        if learned is not None:  # a human's fix of the same failure, replayed (`domain.ci_healing.learned`)
            preferred = args.diagnosis.params.get("workflow_path")
            plan = plan_learned(learned, read, workflow_files, preferred) if args.attempt == 1 else None
            plan = plan or FixPlan.none("no further fix: the learned fix was tried")
        else:
            plan = plan_fix(args.diagnosis, args.attempt, read, workflow_files)
        if not plan.edits:
            return FixResult(opened=False, detail=plan.reason)
        branch = args.run.fix_branch(args.attempt)
        with github_errors(f"open fix branch {branch}", self.project):
            ensure_branch(self.repo, branch, base_sha)
            for edit in plan.edits:
                self._write(branch, edit.path, edit.content, f"{plan.title}\n\nMender fix for {args.run_url}")
            pull = next(
                iter(self.repo.get_pulls(state="open", head=f"{self.repo.owner.login}:{branch}")), None
            )
            if pull is None:
                body = fix_pr_body(args, plan, "pending: waiting for the run on this branch")
                pull = self.repo.create_pull(
                    title=f"[mender] {plan.title}", body=body, head=branch, base=base
                )
        return FixResult(
            opened=True,
            detail=plan.description,
            branch=branch,
            pr_number=pull.number,
            pr_url=pull.html_url,
            files=[e.path for e in plan.edits],
        )

    def _workflow_files(self, ref: str) -> list[str]:
        try:
            entries = self.repo.get_contents(WORKFLOW_DIR, ref=ref)
        except UnknownObjectException:
            return []
        entries = entries if isinstance(entries, list) else [entries]
        return [e.path for e in entries if e.path.endswith((".yml", ".yaml"))]

    def _write(self, branch: str, path: str, content: str, message: str) -> None:
        try:
            current = self.repo.get_contents(path, ref=branch)
        except UnknownObjectException:
            self.repo.create_file(path, message, content, branch=branch)
            return
        if isinstance(current, list):
            raise ValueError(f"{path} is a directory")
        if current.decoded_content.decode("utf-8", errors="replace") != content:
            self.repo.update_file(path, message, content, current.sha, branch=branch)

    def report_fix(self, verdict: FixVerdict) -> None:
        if verdict.fix.pr_number is None:
            return
        with github_errors(f"update fix PR #{verdict.fix.pr_number}", self.project):
            pull = self.repo.get_pull(verdict.fix.pr_number)
            marker = "**Verification:**"
            body = pull.body or ""
            result = ("passed: " if verdict.passed else "failed: ") + redact(verdict.detail)
            head, _, _ = body.partition(marker)
            if body != (updated := f"{head}{marker} {result}\n"):  # a retry finds it written
                pull.edit(body=updated)

    def rollback(self, verdict: FixVerdict) -> None:
        """Close the fix PR and delete its branch (both idempotent)."""
        fix = verdict.fix
        with github_errors(f"roll back {fix.branch}", self.project):
            if fix.pr_number is not None:
                pull = self.repo.get_pull(fix.pr_number)
                if pull.state == "open":
                    if not any(c.body == ROLLBACK_NOTE for c in pull.get_issue_comments()):  # a retry
                        pull.create_issue_comment(ROLLBACK_NOTE)
                    pull.edit(state="closed")
            if fix.branch:
                with contextlib.suppress(UnknownObjectException):
                    ref = self.repo.get_git_ref(f"heads/{fix.branch}")
                    _ = ref.object  # a lazy ref only knows its (singular) read URL: load it first
                    ref.delete()

    def open_incident(self, args: IncidentArgs) -> IncidentResult:
        title = incident_title(args)
        with github_errors(f"open incident for {args.run.key}", self.project):
            recent = self.repo.get_issues(state="all", sort="created", direction="desc")
            issue = next((i for i in islice(recent, INCIDENTS_SEARCHED) if i.title == title), None)  # a retry
            if issue is None:
                issue = self.repo.create_issue(title=title, body=incident_body(args))
        return IncidentResult(opened=True, url=issue.html_url)


def polled_event(project: str, run: WorkflowRun, fix_for: CIRunRef | None = None) -> CIRunEvent:
    """What a poll of GitHub Actions saw of `run`, as the event a webhook would have brought."""
    return CIRunEvent(
        run=CIRunRef(provider=Provider.GITHUB, project=project, run_id=run.id),
        attempt=max(1, run.run_attempt or 1),
        conclusion=Conclusion.of(run.conclusion) if run.status == "completed" else None,
        head_branch=run.head_branch,
        head_sha=run.head_sha,
        html_url=run.html_url,
        name=run.name or "",
        occurred_at=run.updated_at,
        origin=RunEventOrigin.POLL,
        fix_for=fix_for,
    )
