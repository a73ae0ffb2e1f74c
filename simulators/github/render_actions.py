"""JSON shapes of GitHub Actions objects and plain issues: `workflow`, `workflow-run`, `job`, `issue`.

A workflow run is a `CheckSuite` (same id) and a job is a `CheckRun` (same id), as on GitHub. Job logs
are plain text: a job's own `log`, else its check run output, else a short generic success log.
"""

from __future__ import annotations

import zlib
from datetime import datetime

from simulators.github.model import CheckRun, CheckSuite, Issue, Repo
from simulators.github.render import JSON, node_id, ts
from simulators.github.render_checks import RenderChecks
from simulators.github.render_pulls import reactions

CI_WORKFLOW_ID = 161335  # the PR check suites' workflow "CI"
RUNNER = {"runner_id": 5, "runner_name": "GitHub Actions 5", "runner_group_id": 2}
CHECKOUT = "actions/checkout@v4"


def workflow_id(name: str) -> int:
    """A stable id per workflow name."""
    return CI_WORKFLOW_ID if name == "CI" else 200_000 + zlib.crc32(name.encode()) % 800_000


def workflow_path(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "workflow"
    return f".github/workflows/{slug}.yml"


def log_time(value: datetime | None) -> str:
    """Actions log line timestamps: 2024-01-01T12:00:00.0000000Z."""
    return (value.strftime("%Y-%m-%dT%H:%M:%S") if value else "1970-01-01T00:00:00") + ".0000000Z"


class RenderActions(RenderChecks):
    """The full renderer: adds Actions and plain issue shapes to `RenderChecks`."""

    def workflow(self, repo: Repo, name: str) -> JSON:
        ident, path = workflow_id(name), workflow_path(name)
        return {
            "id": ident,
            "node_id": node_id("Workflow", ident),
            "name": name,
            "path": path,
            "state": "active",
            "created_at": ts(repo.created_at),
            "updated_at": ts(repo.created_at),
            "url": f"{self.repo_api(repo.full_name)}/actions/workflows/{ident}",
            "html_url": self.html(f"/{repo.full_name}/blob/{repo.default_branch}/{path}"),
            "badge_url": self.html(f"/{repo.full_name}/workflows/{name}/badge.svg"),
        }

    def workflow_run(self, repo: Repo, suite: CheckSuite) -> JSON:
        repo_url = self.repo_api(repo.full_name)
        url = f"{repo_url}/actions/runs/{suite.run_id}"
        prs = self.world.open_prs_for_head(repo, suite.head_sha) if suite.event == "pull_request" else []
        owner = prs[0].user if prs else self.world.user(repo.owner)
        actor = self.user(self.world.user(suite.actor) if suite.actor else owner)
        triggering = self.user(self.world.user(suite.triggering_actor)) if suite.triggering_actor else actor
        commit = repo.commits.get(suite.head_sha)
        title = prs[0].title if prs else (commit.message.splitlines()[0] if commit and commit.message else "")
        ident = workflow_id(suite.workflow)
        return {
            "id": suite.run_id,
            "name": suite.workflow,
            "node_id": node_id("WorkflowRun", suite.run_id),
            "check_suite_id": suite.id,
            "check_suite_node_id": node_id("CheckSuite", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "path": workflow_path(suite.workflow),
            "display_title": title or suite.head_branch,
            "run_number": suite.run_number,
            "run_attempt": suite.run_attempt,
            "event": suite.event,
            "status": suite.status,
            "conclusion": suite.conclusion,
            "workflow_id": ident,
            "url": url,
            "html_url": self.html(f"/{repo.full_name}/actions/runs/{suite.run_id}"),
            "pull_requests": [self.pull_ref(pr) for pr in prs],
            "created_at": ts(suite.created_at),
            "updated_at": ts(suite.updated_at),
            "run_started_at": ts(suite.run_started_at),
            "actor": actor,
            "triggering_actor": triggering,
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "check_suite_url": f"{repo_url}/check-suites/{suite.id}",
            "artifacts_url": f"{url}/artifacts",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "previous_attempt_url": f"{url}/attempts/{suite.run_attempt - 1}"
            if suite.run_attempt > 1
            else None,
            "workflow_url": f"{repo_url}/actions/workflows/{ident}",
            "head_commit": self.head_commit(repo, suite.head_sha),
            "repository": self.repo(repo),
            "head_repository": self.repo(repo),
        }

    def job(self, repo: Repo, run: CheckRun) -> JSON:
        repo_url = self.repo_api(repo.full_name)
        suite = repo.suites[run.suite_id]
        queued = run.status == "queued"
        return {
            "id": run.id,
            "run_id": suite.run_id,
            "run_url": f"{repo_url}/actions/runs/{suite.run_id}",
            "run_attempt": run.run_attempt,
            "node_id": node_id("WorkflowJob", run.id),
            "head_sha": run.head_sha,
            "url": f"{repo_url}/actions/jobs/{run.id}",
            "html_url": self.html(f"/{repo.full_name}/actions/runs/{suite.run_id}/job/{run.id}"),
            "status": run.status,
            "conclusion": run.conclusion,
            "created_at": ts(run.started_at),
            "started_at": ts(run.started_at),
            "completed_at": ts(run.completed_at),
            "name": run.name,
            "steps": self.steps(run),
            "check_run_url": f"{repo_url}/check-runs/{run.id}",
            "labels": ["ubuntu-latest"],
            **({key: None for key in RUNNER} if queued else RUNNER),
            "runner_group_name": None if queued else "GitHub Actions",
            "workflow_name": suite.workflow,
            "head_branch": suite.head_branch,
        }

    def steps(self, run: CheckRun) -> list[JSON]:
        """Five steps around `Run make <job name>`, which carries the job's conclusion."""
        if run.status == "queued":
            return []
        names = [
            "Set up job",
            f"Run {CHECKOUT}",
            f"Run make {run.name}",
            f"Post Run {CHECKOUT}",
            "Complete job",
        ]
        done = run.status == "completed"
        steps = []
        for number, name in enumerate(names, start=1):
            if done:
                status, conclusion = "completed", run.conclusion if number == 3 else "success"
            else:
                status = "completed" if number < 3 else "in_progress" if number == 3 else "queued"
                conclusion = "success" if number < 3 else None
            finished = status == "completed"
            steps.append(
                {
                    "name": name,
                    "status": status,
                    "conclusion": conclusion,
                    "number": number,
                    "started_at": ts(run.started_at) if status != "queued" else None,
                    "completed_at": ts(run.completed_at or run.started_at) if finished else None,
                }
            )
        return steps

    def job_log(self, repo: Repo, run: CheckRun) -> str:
        """The job's log as GitHub serves it (text/plain)."""
        if run.log is not None:
            return run.log
        if run.output_text:
            return run.output_text
        start, end = log_time(run.started_at), log_time(run.completed_at or run.started_at)
        return "\n".join(
            [
                f"{start} ##[group]Run {CHECKOUT}",
                f"{start} Syncing repository: {repo.full_name}",
                f"{start} ##[endgroup]",
                f"{start} ##[group]Run make {run.name}",
                f"{end} {run.name}: all checks passed",
                f"{end} ##[endgroup]",
                f"{end} Cleaning up orphan processes",
                "",
            ]
        )

    def plain_issue(self, issue: Issue) -> JSON:
        """The REST `issue` object of an issue that is not a pull request."""
        repo_url = self.repo_api(issue.repo)
        url = f"{repo_url}/issues/{issue.number}"
        return {
            "id": issue.id,
            "node_id": node_id("Issue", issue.id),
            "url": url,
            "repository_url": repo_url,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": self.html(f"/{issue.repo}/issues/{issue.number}"),
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self.user(issue.user),
            "labels": [self.label(issue.repo, label) for label in issue.labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(issue.comments),
            "created_at": ts(issue.created_at),
            "updated_at": ts(issue.updated_at),
            "closed_at": ts(issue.closed_at),
            "closed_by": None,
            "author_association": "NONE",
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "reactions": reactions(url),
        }
