"""The polling fallback's activity: list recent failed runs of the watched projects and deliver them."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import Client

from activities.ci_github import GitHubCI
from activities.ci_gitlab import GitLabCI
from activities.ci_learning import PROVIDERS, learn_from_human_fixes
from activities.definition import defn
from activities.sweep_backoff import SourceBackoffs, failure_reason
from contracts.sweeps import PollReport
from domain.ci_healing.config import WatchedProject
from domain.config import MenderConfig
from runtime.ci_dispatch import CIDelivered, deliver_ci
from runtime.dispatch import EventDispatcher
from runtime.settings import get_settings
from store.db import engine_for

log = logging.getLogger("mender.activities.ci_poll")


def watched_projects(config: MenderConfig) -> list[WatchedProject]:
    """`ci.watch`, else every configured GitHub repository."""
    if config.ci.watch:
        return list(config.ci.watch)
    return [WatchedProject(provider="github", project=r.name) for r in config.repositories]


def source_key(watched: WatchedProject) -> str:
    """The project's name in the sweep's backoffs and reports: `provider:project`."""
    return f"{watched.provider}:{watched.project}"


class CIPollActivities:
    """Needs the Temporal client to signal-with-start CI workflows; remembers which projects back off."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.dispatcher = EventDispatcher("", "", task_queue, client=client)
        self.sources = SourceBackoffs("ci.poll", "ci_poll")  # per `provider:project`, stored

    @defn(name="ci.poll")
    async def poll(self) -> PollReport:
        """Deliver every failed run of the last `ci.poll_lookback_seconds` to its workflow.

        Then learn from the human fixes of failures handed over (`ci.learning`).

        A project its provider refuses (gone, forbidden, archived, rate-limited, down) never stops the
        others: it is reported (the poll's report, the audit trail, a metric) and skipped until its
        backoff is over (the poll interval, doubled at each failure in a row, at most an hour).
        """
        config = get_settings().config
        report = PollReport()
        if not config.ci.enabled:
            return report
        now = datetime.now(UTC)
        since = now - timedelta(seconds=config.ci.poll_lookback_seconds)
        watched_keys = [source_key(w) for w in watched_projects(config)]
        backing_off = set(await asyncio.to_thread(self.sources.backing_off, watched_keys, now))
        for watched in watched_projects(config):
            report.projects += 1
            key = source_key(watched)
            if key in backing_off:
                report.backing_off.append(key)
                continue
            ci = GitHubCI(watched.project) if watched.provider == "github" else GitLabCI(watched.project)
            try:
                events = await asyncio.to_thread(ci.recent_failures, since)
            except Exception as exc:  # one project's outage must not hide the others
                await asyncio.to_thread(self._failed, key, watched, failure_reason(exc), now, report)
                continue
            await asyncio.to_thread(self.sources.succeeded, key)
            for event in events:
                report.failures_seen += 1
                try:
                    outcome = await deliver_ci(self.dispatcher, event)
                except Exception as exc:  # one run that cannot be delivered must not stop the rest
                    report.errors.append(f"{key}: run {event.run.key} not delivered: {exc}")
                    continue
                if outcome is CIDelivered.KNOWN:
                    report.known += 1
                elif outcome is CIDelivered.STARTED_OR_SIGNALLED:
                    report.delivered += 1
            activity.heartbeat(report.projects)
        if config.ci.learning.enabled:  # not from a project refused lately: it backs off here too
            skipped = {*report.failed_projects, *report.backing_off}
            learnable = [w for w in watched_projects(config) if w.provider in PROVIDERS]
            await self._learn([w for w in learnable if source_key(w) not in skipped], report)
        log.info("CI poll: %s", report.model_dump())
        return report

    def _failed(
        self, key: str, watched: WatchedProject, reason: str, now: datetime, report: PollReport
    ) -> None:
        base = get_settings().config.ci.poll_interval_seconds
        repository = watched.project if watched.provider == "github" else None
        self.sources.failed(key, reason, now, base, repository)
        report.failed_projects.append(key)
        report.errors.append(f"{key}: {reason}")

    async def _learn(self, projects: list[WatchedProject], report: PollReport) -> None:
        """Learn from the human fixes of failures handed over (`activities.ci_learning`)."""
        settings = get_settings()
        engine = engine_for(settings.database_url)
        for watched in projects:
            project, key = watched.project, source_key(watched)
            try:
                learned = await asyncio.to_thread(
                    learn_from_human_fixes, engine, project, settings.config.ci.learning, (watched.provider,)
                )
            except Exception as exc:  # learning is a bonus: it never fails the poll
                report.errors.append(f"learning from {key}: {exc}")
                log.warning("learning from %s failed: %s", key, exc)
                continue
            report.learned += learned
