"""The trust-but-verify sweep over bot PRs: discovery (open ones, and lately closed ones never seen:
`activities/reconcile_closed.py`), refresh requests, and the `scan` audit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from github import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository
from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.definition import defn
from activities.github import github_client, github_errors
from activities.github_gate import HeldByRateGate
from activities.reconcile_closed import ClosedPR, closed_bot_prs, ending_events, opened_event, unrecorded
from activities.reconcile_commands import unanswered_commands
from activities.sweep_backoff import SourceBackoffs, failure_reason
from contracts.pr import REFRESH_SIGNAL, STATUS_QUERY, PRStatus
from contracts.sweeps import OpenPR, SweepReport
from domain.pr_healing.events import PRRef
from domain.pr_healing.lifecycle import PRState
from runtime import metrics
from runtime.dispatch import Delivered, EventDispatcher, TemporalUnavailable
from runtime.settings import Settings, get_settings
from store import installations, repository, stale
from store.db import engine_for

if TYPE_CHECKING:
    from sqlalchemy import Engine

REFRESH_WAIT_SECONDS = 10.0  # how long a recovered command waits for its workflow to read GitHub


def swept_repos(settings: Settings) -> list[str]:
    """The configured repositories, then those the GitHub App was installed on (installation webhooks)."""
    names = [r.name for r in settings.config.repositories]
    added = installations.installed(engine_for(settings.database_url))
    return names + [name for name in added if name not in names]


def open_bot_pulls(
    settings: Settings, repos: list[str] | None = None
) -> Iterator[tuple[Repository, PullRequest]]:
    """Every open PR by a tracked author in `repos` (default: every swept one), as PyGithub objects."""
    for name in swept_repos(settings) if repos is None else repos:
        repo = github_client(settings, name).get_repo(name)
        for pull in repo.get_pulls(state="open"):
            if settings.config.bots.tracks(pull.user.login, pull.head.ref):
                yield repo, pull


class RepoFailure(BaseModel):
    """Why a sweep could not list a repository's PRs; `charged`: GitHub refused this repository itself
    (4xx: gone, forbidden, archived, rate-limited), so it backs off. Not charged, retried next sweep:
    GitHub down (5xx, network: the breaker's business) or the whole token's rate-limit wait, met before
    any call."""

    reason: str
    charged: bool = True
    wait_seconds: float = 0.0  # at least this long before the next try (GitHub's Retry-After)


def list_open_bot_prs(
    settings: Settings, repos: list[str] | None = None
) -> tuple[list[OpenPR], dict[str, RepoFailure]]:
    """Every open PR by a tracked author, per repository (default: every swept one); a repository GitHub
    refuses (gone, forbidden, rate-limited, down) is left out with the reason, never failing the others."""
    found, _, failed = list_bot_prs(settings, repos, closed=False)
    return found, failed


def list_bot_prs(
    settings: Settings, repos: list[str] | None = None, closed: bool = True
) -> tuple[list[OpenPR], list[ClosedPR], dict[str, RepoFailure]]:
    """The open PRs by tracked authors and (`closed`) those closed within the lookback window
    (`activities/reconcile_closed.py`), per repository; a repository GitHub refuses is left out with
    the reason, never failing the others."""
    found: list[OpenPR] = []
    ended: list[ClosedPR] = []
    failed: dict[str, RepoFailure] = {}
    now = datetime.now(UTC)
    for name in swept_repos(settings) if repos is None else repos:
        try:
            with github_errors(f"listing the PRs of {name}"):  # waits out a rate limit, as every call
                pulls = list(open_bot_pulls(settings, [name]))
                gone = closed_bot_prs(settings, name, now) if closed else []
            found.extend(
                OpenPR(
                    pr=PRRef(repo=name, number=pull.number),
                    author=pull.user.login,
                    head_sha=pull.head.sha,
                    title=pull.title or "",
                    html_url=pull.html_url,
                    updated_at=pull.updated_at,
                )
                for _, pull in pulls
            )
            ended.extend(gone)
        except (GithubException, httpx.HTTPError, ApplicationError) as exc:
            failed[name] = _failure(exc)
    return found, ended, failed


def _failure(exc: Exception) -> RepoFailure:
    cause = exc.__cause__ if isinstance(exc.__cause__, GithubException) else exc
    delay = exc.next_retry_delay if isinstance(exc, ApplicationError) else None
    held = isinstance(cause, HeldByRateGate)  # the token's wait, met before GitHub was asked
    refused = isinstance(cause, GithubException) and 400 <= cause.status < 500 and not held
    return RepoFailure(
        reason=failure_reason(cause),
        charged=refused,
        wait_seconds=delay.total_seconds() if delay else 0.0,
    )


class ReconcileActivities:
    """The sweep needs a Temporal client (to find, start and signal PR workflows)."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._dispatcher = EventDispatcher("", client.namespace, task_queue, client=client)
        self.sources = SourceBackoffs("reconciler", "reconcile")  # repositories GitHub refused lately

    @defn(name="reconcile.sweep")
    async def sweep(self) -> SweepReport:
        """Start workflows for open bot PRs that never got one; ask for a refresh where GitHub disagrees."""
        settings = get_settings()
        started = time.monotonic()
        report = SweepReport()
        open_prs, closed_prs, read = await self._list(settings, report)
        engine = engine_for(settings.database_url)
        deadline = started + settings.config.reconciler.max_run_seconds
        await self._record_closed(engine, closed_prs, report, deadline)
        for item in open_prs:
            if time.monotonic() > deadline:
                report.truncated = True
                break
            report.scanned += 1
            try:
                await self._reconcile(item, report)
            except RPCError as exc:
                report.errors.append(f"{item.pr.key}: {exc}")
        if not report.truncated:
            await self._recover_commands(settings, open_prs, report)
        seen = {item.pr.key for item in open_prs} | {item.pr.key for item in closed_prs}
        for record in await asyncio.to_thread(repository.list_prs, engine):
            gone = record.repo in read and record.key not in seen
            if gone and record.state not in (PRState.MERGED, PRState.CLOSED, None):
                # GitHub no longer lists it as open: the merge or close webhook was lost.
                ref = PRRef(repo=record.repo, number=record.number)
                if await self._dispatcher.signal(ref, REFRESH_SIGNAL) is Delivered.SIGNALLED:
                    report.refreshed.append(ref.key)
        activity.logger.info("reconciler: %s", report.model_dump_json())
        now = datetime.now(UTC)
        found = await asyncio.to_thread(stale.stale_prs, engine, settings.config, now)
        metrics.sweep_done(report.scanned, len(report.discovered), len(report.refreshed), len(found))
        return report

    async def _list(
        self, settings: Settings, report: SweepReport
    ) -> tuple[list[OpenPR], list[ClosedPR], list[str]]:
        """The open and lately closed bot PRs of every swept repository not backing off; those GitHub
        refused back off (`activities/sweep_backoff.py`). Returns them and the repositories read."""
        now = self.sources.clock()
        repos = await asyncio.to_thread(swept_repos, settings)
        report.backing_off = await asyncio.to_thread(self.sources.backing_off, repos, now)
        due = [name for name in repos if name not in report.backing_off]
        open_prs, closed_prs, failed = await asyncio.to_thread(list_bot_prs, settings, due)
        read = [name for name in due if name not in failed]
        await asyncio.to_thread(self.sources.succeeded, *read)
        base = settings.config.reconciler.interval_seconds
        for name, failure in failed.items():
            report.failed_repos.append(name)
            report.errors.append(f"{name}: {failure.reason}")
            if failure.charged:
                wait = max(base, failure.wait_seconds)
                await asyncio.to_thread(self.sources.failed, name, failure.reason, now, wait, name)
            else:
                activity.logger.warning("reconciler: %s skipped this sweep: %s", name, failure.reason)
        return open_prs, closed_prs, read

    async def _record_closed(
        self, engine: Engine, closed: list[ClosedPR], report: SweepReport, deadline: float
    ) -> None:
        """Have Mender record the end of the closed bot PRs it never saw end: a running workflow looks
        again; otherwise one starts with the opening and the end (`activities/reconcile_closed.py`)."""
        states = await asyncio.to_thread(repository.pr_states, engine, [item.pr.key for item in closed])
        now = datetime.now(UTC)
        for item in unrecorded(closed, states):
            if time.monotonic() > deadline:
                report.truncated = True
                return
            try:
                tracked = item.pr.key in states
                if tracked and await self._dispatcher.signal(item.pr, REFRESH_SIGNAL) is Delivered.SIGNALLED:
                    report.refreshed.append(item.pr.key)
                    continue
                for event in ending_events(item, now):
                    await self._dispatcher.deliver(event)
                report.recorded_closed.append(item.pr.key)
            except (TemporalUnavailable, RPCError) as exc:
                report.errors.append(f"{item.pr.key}: {failure_reason(exc)}")

    async def _recover_commands(
        self, settings: Settings, open_prs: list[OpenPR], report: SweepReport
    ) -> None:
        """Send the PR workflows the comment commands Mender never answered (their webhook was lost)."""
        lookback = settings.config.reconciler.command_lookback_seconds
        if not lookback:
            return
        since = datetime.now(UTC) - timedelta(seconds=lookback)
        for item in open_prs:
            try:
                requests = await asyncio.to_thread(unanswered_commands, settings, item.pr, since)
                if requests:  # the workflow missed the comment; it may have missed more: catch up first
                    await self._refreshed(item.pr)
                for request in requests:
                    if await self._dispatcher.command(item.pr, request, wait="accepted") is not None:
                        report.commands.append(f"{item.pr.key}:{request.idempotency_key}")
            except (GithubException, httpx.HTTPError, ApplicationError, TemporalUnavailable, RPCError) as exc:
                report.errors.append(f"{item.pr.key}: comments: {failure_reason(exc)}")

    async def _refreshed(self, pr: PRRef) -> None:
        """Have the PR's workflow read GitHub (bounded wait): a command is judged on the PR as it is."""
        handle = self._client.get_workflow_handle(pr.workflow_id)
        before = (await handle.query(STATUS_QUERY, result_type=PRStatus)).verified_at
        await handle.signal(REFRESH_SIGNAL)
        deadline = time.monotonic() + REFRESH_WAIT_SECONDS
        while time.monotonic() < deadline:
            verified = (await handle.query(STATUS_QUERY, result_type=PRStatus)).verified_at
            if verified is not None and verified != before:
                return
            await asyncio.sleep(0.25)

    async def _reconcile(self, item: OpenPR, report: SweepReport) -> None:
        handle = self._client.get_workflow_handle(item.pr.workflow_id)
        try:
            running = (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        except RPCError:
            running = False
        if not running:
            await self._dispatcher.deliver(opened_event(item, datetime.now(UTC)))
            report.discovered.append(item.pr.key)
            return
        status = await handle.query(STATUS_QUERY, result_type=PRStatus)
        if status.head_sha != item.head_sha:
            await handle.signal(REFRESH_SIGNAL)
            report.refreshed.append(item.pr.key)
