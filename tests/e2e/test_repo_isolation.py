"""One archived repository never stops healing elsewhere, end to end on the strict GitHub simulator: its
refused writes go to its own breaker, which isolates it, while a PR of another repository is healed and
the shared breaker stays closed."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from activities.breaker import BreakerActivities
from domain.pr_healing.lifecycle import PRState
from domain.shared.breaker import BreakerState
from runtime.settings import get_settings, set_settings
from tests.support.events import eventually
from tests.support.stack import make_settings, quick_lifecycle
from tests.support.world import mender_world


async def test_an_archived_repository_is_isolated_and_the_others_heal(client: Client, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        lifecycle=quick_lifecycle(),
        repositories=[{"name": "acme/old"}, {"name": "acme/api"}],
        breaker={"min_samples": 2, "failure_rate": 0.5, "window_seconds": 120, "cooldown_seconds": 600},
    )
    try:
        async with mender_world(client, settings) as world:
            old = [await world.open_pr("acme/old", faults=["approver_bot_missed"]) for _ in range(2)]
            body = {"repo": "acme/old", "kind": "archived"}
            (await world.http.post(f"{world.sim_url}/_sim/repos/refusal", json=body)).raise_for_status()
            api = await world.open_pr("acme/api", faults=["approver_bot_missed"])
            breakers = BreakerActivities(client, world.queue, lambda: get_settings().config.breaker)
            scope = settings.config.breaker.scope
            isolated = await eventually(
                lambda: breakers.status(scope),
                lambda s: s is not None and s.isolated == ["acme/old"],
                timeout=90,
            )
            assert isolated.state is BreakerState.CLOSED  # the shared breaker never saw acme/old's refusals
            healed = await eventually(
                lambda: world.status("acme/api", api), lambda s: s.state is PRState.MERGED, timeout=90
            )
            assert healed.state is PRState.MERGED
            status = await breakers.status(scope)
            assert status is not None and status.state is BreakerState.CLOSED
            for number in old:
                assert (await world.status("acme/old", number)).state is not PRState.MERGED
                await client.get_workflow_handle(f"pr/acme/old/{number}").terminate("test over")
    finally:
        set_settings(None)
