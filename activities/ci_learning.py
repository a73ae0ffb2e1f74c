"""Learning from human fixes (GitHub through PyGithub; GitLab in `ci_learning_gitlab`): a failure Mender
handed to a human, then a green run of the same workflow (GitLab: the same jobs) on the same branch; the
commits in between, read through the compare API, become a learned fix when the change is small and
replayable (`domain.ci_healing.learn_changes`).

Run by the CI poller after each poll. A failure is examined once a green run follows it (until then it is
looked at again on the next poll); what came of it is stored (`learning_check`) and audited (`ci.learned`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from itertools import islice

from github import GithubException, UnknownObjectException
from github.Repository import Repository
from github.WorkflowRun import WorkflowRun
from gitlab.exceptions import GitlabError
from gitlab.v4.objects import Project
from sqlalchemy import Engine

from activities.ci_gitlab import gitlab_client
from activities.ci_learning_gitlab import read_gitlab_fix
from activities.github import github_client
from activities.github_files import read_text
from domain.ci_healing.config import LearningConfig
from domain.ci_healing.learn_changes import MAX_FILES, ChangedFile, Learned, Refused, read_change
from domain.ci_healing.learned import EditKind, LearnedFix, not_learnable, signature_of
from domain.diagnosis.verdict import Category
from domain.shared.audit import AuditEntry
from domain.shared.times import aware
from runtime.settings import get_settings
from store import audit, learned_fixes
from store.ci_failures import CIFailureRecord, list_ci_failures

HANDED_OVER = ("escalated", "incident")
PROVIDERS = ("github", "gitlab")
GREEN_RUNS_SEARCHED = 30
log = logging.getLogger(__name__)


def learn_from_human_fixes(
    engine: Engine, project: str, config: LearningConfig, providers: tuple[str, ...] = PROVIDERS
) -> list[str]:
    """Examine `project`'s failures (on `providers`) handed to a human that a green run followed; returns
    what was learned (`learned.<id> from <workflow id>`)."""
    since = datetime.now(UTC) - timedelta(days=config.lookback_days)
    rows = [
        r
        for r in list_ci_failures(engine, project, limit=200)
        if r.provider in providers and r.outcome in HANDED_OVER and aware(r.updated_at) >= since
    ]
    done = learned_fixes.examined(engine, [r.workflow_id for r in rows])
    rows = [r for r in rows if r.workflow_id not in done]
    if not rows:
        return []
    clients: dict[str, Repository | Project] = {}
    learned = []
    for row in rows:
        try:
            if row.provider not in clients:
                clients[row.provider] = _client(row.provider, project)
            client = clients[row.provider]
            if isinstance(client, Project):
                result = examine_gitlab(client, row, config)
            else:
                result = examine(client, row, config)
        except (GithubException, UnknownObjectException, GitlabError) as exc:
            log.warning("could not examine %s for a human fix: %s", row.workflow_id, exc)
            continue
        if result is None:
            continue  # no green run yet: looked at again on the next poll
        fix, reason = result
        if fix is not None:
            fix = learned_fixes.save(engine, fix)
            reason = f"learned {fix.playbook_id} v{fix.version} from {reason}"
        if learned_fixes.mark_examined(engine, row.workflow_id, fix.id if fix else None, reason):
            _audit(engine, row, fix, reason)
            if fix is not None:
                learned.append(f"{fix.playbook_id} from {row.workflow_id}")
    return learned


def examine(
    repo: Repository, row: CIFailureRecord, config: LearningConfig
) -> tuple[LearnedFix | None, str] | None:
    """(the fix to learn (not stored yet) or None, why) once a green run follows the failure; None before."""
    failed = repo.get_workflow_run(row.run_id)
    green = _first_green_after(repo, failed)
    if green is None:
        return None
    category = _category(row.category)
    if (why := not_learnable(category)) is not None:
        return None, why
    if not row.key_line:
        return None, "the failure has no key line to recognise it by"
    if green.head_sha == failed.head_sha:
        return None, f"run {green.id} passed on the same commit: nothing was changed (a flaky failure)"
    comparison = repo.compare(failed.head_sha, green.head_sha)
    files = list(comparison.files)
    if len(files) > MAX_FILES:
        return None, f"{len(files)} files changed (at most {MAX_FILES} are learned)"
    changes = [
        ChangedFile(
            path=f.filename,
            status=f.status,
            additions=f.additions,
            deletions=f.deletions,
            before=None if f.status == "added" else read_text(repo, f.filename, failed.head_sha),
            after=None if f.status == "removed" else read_text(repo, f.filename, green.head_sha),
        )
        for f in files
    ]
    found = read_change(changes, config.max_changed_lines)
    if isinstance(found, Refused):
        return None, found.reason
    fix = _learned_fix(row, found, comparison.html_url, [c.sha for c in comparison.commits])
    return fix, f"the commits up to run {green.id} ({comparison.html_url})"


def _client(provider: str, project: str) -> Repository | Project:
    if provider == "gitlab":
        return gitlab_client().projects.get(project)
    return github_client(get_settings(), project).get_repo(project)


def examine_gitlab(
    project: Project, row: CIFailureRecord, config: LearningConfig
) -> tuple[LearnedFix | None, str] | None:
    """`examine` for a GitLab failure: the pipeline's jobs green again on its ref, GitLab's compare API."""
    if (why := not_learnable(_category(row.category))) is not None:
        return None, why
    if not row.key_line:
        return None, "the failure has no key line to recognise it by"
    found = read_gitlab_fix(project, row.run_id, config)
    if found is None or isinstance(found, Refused):
        return None if found is None else (None, found.reason)
    fix = _learned_fix(row, found.learned, found.url, found.commits)
    return fix, f"the commits up to pipeline {found.green_id} ({found.url})"


def _category(value: str | None) -> Category:
    try:
        return Category(value or Category.UNKNOWN.value)
    except ValueError:
        return Category.UNKNOWN


def _learned_fix(row: CIFailureRecord, found: Learned, url: str, commits: list[str]) -> LearnedFix:
    category = _category(row.category)
    if category is Category.UNKNOWN:  # name it after what fixed it
        kinds = {e.kind for e in found.edits}
        dependency = kinds & {EditKind.REQUIREMENT, EditKind.NPM_DEPENDENCY, EditKind.MAVEN_DEPENDENCY}
        category = Category.DEPENDENCY if dependency else Category.ENVIRONMENT
    signature = signature_of(row.key_line or "", category, found.ecosystem)
    return LearnedFix(
        signature=signature, edits=found.edits, learned_from=row.workflow_id, source_url=url, commits=commits
    )


def _first_green_after(repo: Repository, failed: WorkflowRun) -> WorkflowRun | None:
    """The oldest successful run of the failed run's workflow on its branch created after it."""
    runs = repo.get_workflow_runs(branch=failed.head_branch, status="success")
    greens = [
        r
        for r in islice(runs, GREEN_RUNS_SEARCHED)
        if r.workflow_id == failed.workflow_id
        and r.id != failed.id
        and aware(r.created_at) >= aware(failed.created_at)
    ]
    return min(greens, key=lambda r: (aware(r.created_at), r.id), default=None)


def _audit(engine: Engine, row: CIFailureRecord, fix: LearnedFix | None, reason: str) -> None:
    details: dict[str, object] = {"reason": reason}
    if fix is not None:
        details |= {"learned_fix": fix.id, "version": fix.version, "signature": fix.signature.template}
    entry = AuditEntry(
        action="ci.learned",
        actor="mender",
        outcome="learned" if fix else "refused",
        target=row.workflow_id,
        repository=row.project,
        details=details,
        idempotency_key=f"ci.learned:{row.workflow_id}",
    )
    audit.record(engine, entry)
