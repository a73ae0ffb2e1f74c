"""GitHub through the real activities against the strict simulator: a bad token or a missing
permission is not retried and says why; a rate limit is retried after the time GitHub names, and no
other call of the same token goes out before then; mergeability is read once GitHub computed it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities import github as gh
from activities.github_gate import GATE
from domain.pr_healing.events import PRRef
from runtime.serving import ServerThread
from runtime.settings import set_settings
from simulators.github import Simulator, SimulatorConfig, create_app
from simulators.github.access import AccessConfig
from tests.support.stack import make_settings

TOKEN = "simulator-token"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[Simulator, PRRef]]:
    simulator = Simulator(SimulatorConfig(actors=()))
    server = ServerThread(create_app(simulator))
    simulator.set_base_url(server.url)
    with server:
        settings = make_settings(tmp_path)
        settings.config = settings.config.model_copy(
            update={"github": settings.config.github.model_copy(update={"simulator_url": server.url})}
        )
        number = httpx.post(f"{server.url}/_sim/prs", json={"repo": "acme/api"}).json()["number"]
        GATE.clear()
        yield simulator, PRRef(repo="acme/api", number=number)
        GATE.clear()
    set_settings(None)


def test_a_bad_token_is_not_retried(sim: tuple[Simulator, PRRef]) -> None:
    simulator, pr = sim
    simulator.state.access.configure(AccessConfig(tokens=("some-other-token",)))
    with pytest.raises(ApplicationError) as refused:
        gh.fetch_snapshot(pr)
    assert refused.value.non_retryable and refused.value.type == "GitHubAccessDenied"
    assert "bad credentials" in refused.value.message


def test_a_missing_permission_is_not_retried_and_names_it(sim: tuple[Simulator, PRRef]) -> None:
    simulator, pr = sim
    simulator.state.access.configure(AccessConfig(denied={TOKEN: frozenset({"issues"})}))
    with pytest.raises(ApplicationError) as refused:
        gh.retrigger_bot(gh.BotArgs(pr=pr, bot="policy"))  # a comment or a label: the issues permission
    assert refused.value.non_retryable and refused.value.type == "GitHubAccessDenied"
    assert "Resource not accessible by integration" in refused.value.message
    assert "issues=write" in refused.value.message


def test_a_rate_limit_waits_for_the_reset_across_calls(sim: tuple[Simulator, PRRef]) -> None:
    simulator, pr = sim
    simulator.state.access.configure(AccessConfig(limit=2))
    with pytest.raises(ApplicationError) as limited:
        gh.fetch_snapshot(pr)  # more than two calls
    error = limited.value
    assert not error.non_retryable and error.type == "GitHubRateLimited"
    assert error.next_retry_delay is not None and 60 < error.next_retry_delay.total_seconds() <= 3600
    used = simulator.state.access.quota(TOKEN, time.time()).used
    with pytest.raises(ApplicationError) as waiting:
        gh.merge(gh.StrategyArgs(pr=pr))
    assert waiting.value.type == "GitHubRateLimited" and "waiting out" in waiting.value.message
    assert simulator.state.access.quota(TOKEN, time.time()).used == used  # no call went out


def test_a_secondary_limit_honours_retry_after(sim: tuple[Simulator, PRRef]) -> None:
    simulator, pr = sim
    simulator.state.access.configure(AccessConfig(writes_per_minute=1))
    assert gh.retrigger_bot(gh.BotArgs(pr=pr, bot="policy")).ok
    with pytest.raises(ApplicationError) as limited:
        gh.retrigger_bot(gh.BotArgs(pr=pr, bot="policy"))
    delay = limited.value.next_retry_delay
    assert not limited.value.non_retryable and delay is not None and 0 < delay.total_seconds() <= 61


def test_the_snapshot_waits_for_github_to_compute_mergeability(sim: tuple[Simulator, PRRef]) -> None:
    simulator, pr = sim
    pull = simulator.world.find_pr(pr.repo, pr.number)
    assert pull is not None
    simulator.world.recompute_mergeability(pull)  # as after a push: null/unknown for a while
    assert simulator.world.mergeability_pending(pull)
    snapshot = gh.fetch_snapshot(pr)
    assert not simulator.world.mergeability_pending(pull)
    assert snapshot.mergeable is True and snapshot.mergeable_state == "blocked"  # no CI ran (no actors)


def test_a_rate_limited_branch_update_is_retried_after_the_header_and_nothing_goes_out_before(
    sim: tuple[Simulator, PRRef],
) -> None:
    """PyGithub's `update_branch` returns False on any refusal: the gate still sees the 429, and no
    write of that token (any activity) is sent until its Retry-After is over; reads, which GitHub's
    limit on content-creating requests does not count, go on."""
    simulator, pr = sim
    simulator.state.access.configure(AccessConfig(writes_per_minute=1, write_window_seconds=30))
    assert gh.retrigger_bot(gh.BotArgs(pr=pr, bot="policy")).ok  # the one write of the window
    pull = simulator.world.find_pr(pr.repo, pr.number)
    assert pull is not None
    simulator.ops.land_on_base(pull, simulator.world.user("teammate"), conflict=False)  # behind now
    sent = len(httpx.get(f"{simulator.base_url}/_sim/requests").json())
    with pytest.raises(ApplicationError) as limited:
        gh.update_branch(gh.StrategyArgs(pr=pr))
    delay = limited.value.next_retry_delay
    assert (
        limited.value.type == "GitHubRateLimited" and delay is not None and 20 < delay.total_seconds() <= 31
    )
    after = httpx.get(f"{simulator.base_url}/_sim/requests").json()
    assert [r["status"] for r in after[sent:]][-1] == 429
    assert gh.fetch_snapshot(pr).pr == pr  # a read, another activity: sent and answered
    read = httpx.get(f"{simulator.base_url}/_sim/requests").json()
    assert len(read) > len(after) and all(r["method"] == "GET" for r in read[len(after) :])
    with pytest.raises(ApplicationError) as waiting:
        gh.retrigger_bot(gh.BotArgs(pr=pr, bot="policy"))  # a write, another activity: held, not sent
    assert waiting.value.type == "GitHubRateLimited" and "waiting out" in waiting.value.message
    assert httpx.get(f"{simulator.base_url}/_sim/requests").json() == read  # nothing sent
