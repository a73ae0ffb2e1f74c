"""One bad repository never stops the reconciler's sweep for the others, against the strict GitHub
simulator: a repository that is gone (404), one the token may not read (403), one archived (reads
answer: swept as usual), one rate-limited (429 with Retry-After). The refused ones are reported (the
sweep's report, a `reconciler.source_failed` audit row, the metric, `mender doctor`) and retried after a
backoff that doubles while they fail and is cleared by a success; meanwhile GitHub is not asked again,
by this worker or another (the backoff is stored: `store/source_backoffs.py`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client

from activities.github_gate import GATE
from activities.reconcile import ReconcileActivities, list_open_bot_prs
from domain.shared.audit import AuditFilter
from runtime.metrics import REGISTRY
from runtime.settings import set_settings
from starter.doctor import run_doctor
from store import audit as audit_store
from store.db import engine_for
from tests.support.stack import make_settings, quick_lifecycle
from tests.support.world import World, mender_world

INTERVAL = 60.0


async def refuse(world: World, repo: str, kind: str | None, retry_after: int = 60) -> None:
    body = {"repo": repo, "kind": kind, "retry_after": retry_after}
    (await world.http.post(f"{world.sim_url}/_sim/repos/refusal", json=body)).raise_for_status()


async def asked(world: World, repo: str, since: float) -> list[str]:
    """The REST paths of `repo` GitHub answered since `since` (the simulator's request log)."""
    rows = (await world.http.get(f"{world.sim_url}/_sim/requests", params={"since": since})).json()
    return [r["path"] for r in rows if r["path"].startswith(f"/repos/{repo}")]


def failures_metric() -> float:
    return REGISTRY.get_sample_value("mender_source_failures_total", {"sweep": "reconcile"}) or 0.0


async def test_refused_repositories_are_reported_backed_off_and_retried(
    client: Client, tmp_path: Path
) -> None:
    repos = [{"name": n} for n in ("acme/gone", "acme/locked", "acme/old", "acme/api")]
    settings = make_settings(
        tmp_path,
        lifecycle=quick_lifecycle(),
        repositories=repos,
        reconciler={"interval_seconds": INTERVAL, "command_lookback_seconds": 0},
    )
    metric_before = failures_metric()
    try:
        async with mender_world(client, settings) as world:
            world.sim.set_webhook_url(None)  # only the sweep can find the PRs
            api = await world.open_pr("acme/api", faults=["approver_bot_missed"])
            old = await world.open_pr("acme/old")
            locked_pr = await world.open_pr("acme/locked")
            await refuse(world, "acme/locked", "forbidden")
            await refuse(world, "acme/old", "archived")
            acts = ReconcileActivities(client, world.queue)

            first = await acts.sweep()
            assert first.failed_repos == ["acme/gone", "acme/locked"], first
            assert sorted(first.discovered) == [
                f"acme/api#{api}",
                f"acme/old#{old}",
            ]  # archived: read as usual
            assert any("acme/locked: GithubException" in e and "403" in e for e in first.errors), first.errors
            assert failures_metric() - metric_before == 2
            engine = engine_for(settings.database_url)
            rows = audit_store.query(engine, AuditFilter(action="reconciler.source_failed"))
            assert sorted((r.repository, r.details["failures_in_a_row"]) for r in rows) == [
                ("acme/gone", 1),
                ("acme/locked", 1),
            ]
            [locked] = run_doctor(settings, ["acme/locked"]).repositories
            assert locked.status == "failed" and [s.sweep for s in locked.skipped_by] == ["reconciler"]
            assert any("the reconciler skipped it (1 failures in a row" in r for r in locked.reasons)

            since = time.time()
            acts = ReconcileActivities(client, world.queue)  # a restarted (or another) worker: stored
            second = await acts.sweep()  # within the backoff: the bad ones are not asked again
            assert second.backing_off == ["acme/gone", "acme/locked"] and second.failed_repos == []
            assert second.scanned == 2 and not await asked(world, "acme/locked", since)
            assert await asked(world, "acme/api", since)

            await refuse(world, "acme/locked", None)  # access granted again
            later = datetime.now(UTC) + timedelta(seconds=INTERVAL + 1)
            acts.sources.clock = lambda: later  # the first backoff is over
            third = await acts.sweep()
            assert third.failed_repos == ["acme/gone"] and third.discovered == [f"acme/locked#{locked_pr}"]
            assert third.scanned == 3 and "acme/locked" not in acts.sources.states  # a success clears it
            [locked] = run_doctor(settings, ["acme/locked"]).repositories
            assert locked.skipped_by == []  # the doctor shows the backoffs of now
            gone = acts.sources.states["acme/gone"]
            assert gone.failures == 2 and gone.retry_at == later + timedelta(seconds=2 * INTERVAL)  # doubled
            fourth = await acts.sweep()
            assert fourth.backing_off == ["acme/gone"] and fourth.failed_repos == []
            for pr in (f"pr/acme/api/{api}", f"pr/acme/old/{old}", f"pr/acme/locked/{locked_pr}"):
                await client.get_workflow_handle(pr).terminate("test over")
    finally:
        set_settings(None)


async def test_a_rate_limited_repository_waits_as_long_as_github_says(client: Client, tmp_path: Path) -> None:
    """A 429 charges the repository that met it a backoff of at least its Retry-After; the calls the
    token's wait stopped before they reached GitHub are not charged (retried at the next sweep)."""
    repos = [{"name": "acme/busy"}, {"name": "acme/api"}]
    settings = make_settings(tmp_path, repositories=repos, reconciler={"interval_seconds": 5})
    GATE.clear()
    try:
        async with mender_world(client, settings) as world:
            world.sim.set_webhook_url(None)
            await world.open_pr("acme/busy")
            await refuse(world, "acme/busy", "rate_limited", retry_after=30)
            acts = ReconcileActivities(client, world.queue)
            since = time.time()
            report = await acts.sweep()
            assert report.failed_repos == ["acme/busy", "acme/api"], report
            busy = acts.sources.states["acme/busy"]
            assert busy.retry_at is not None and busy.retry_at - datetime.now(UTC) > timedelta(seconds=25)
            assert "acme/api" not in acts.sources.states  # never reached GitHub: not its failure
            assert await asked(world, "acme/busy", since) and not await asked(world, "acme/api", since)
            _, failed = list_open_bot_prs(settings, ["acme/api"])
            assert not failed["acme/api"].charged
    finally:
        GATE.clear()
        set_settings(None)


def test_only_a_repository_github_refuses_is_charged_a_backoff() -> None:
    from github import GithubException
    from temporalio.exceptions import ApplicationError

    from activities.reconcile import _failure

    def wrapped(status: int) -> ApplicationError:
        error = ApplicationError(f"GitHub answered {status}")
        error.__cause__ = GithubException(status, {"message": "x"}, {})
        return error

    assert [_failure(wrapped(s)).charged for s in (404, 403, 451, 429, 502, 503)] == [True] * 4 + [False] * 2
    assert not _failure(ApplicationError("waiting out GitHub's rate limit (12s left)")).charged
