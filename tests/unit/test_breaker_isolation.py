"""One bad repository gets a breaker of its own: isolated, backed off, never the shared breaker's failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.config import BreakerConfig
from domain.pr_healing import decider
from domain.pr_healing.classifier import Decision, PRAction
from domain.pr_healing.effects import Failed, Plan, ReportToBreaker, RunStrategy
from domain.pr_healing.remedies import Strategy
from domain.shared import breaker_isolation as isolation
from domain.shared.breaker import BreakerState
from tests.unit.test_merge_queue import context, memory

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CFG = BreakerConfig(window_seconds=60, failure_rate=0.5, min_samples=3, cooldown_seconds=10)


def failing(rb: isolation.RepoBreakers, repo: str, times: int, at: datetime = NOW) -> isolation.RepoBreakers:
    for i in range(times):
        rb, _ = isolation.record(rb, repo, at + timedelta(seconds=i), False, CFG, f"pr/{repo}/1")
    return rb


def test_a_repository_failing_alone_is_isolated_and_the_others_are_not() -> None:
    rb = failing(isolation.RepoBreakers(), "acme/gone", 3)
    assert isolation.isolated(rb) == ["acme/gone"]
    rb, refused, _ = isolation.permit(rb, "acme/gone", NOW + timedelta(seconds=5), CFG, "pr/acme/gone/1")
    assert not refused.granted and "acme/gone isolated" in refused.reason
    rb, granted, _ = isolation.permit(rb, "acme/api", NOW + timedelta(seconds=5), CFG, "pr/acme/api/1")
    assert granted.granted


def test_the_probe_of_an_isolated_repository_backs_off_and_one_success_frees_it() -> None:
    rb = failing(isolation.RepoBreakers(), "acme/gone", 3)
    opened = NOW + timedelta(seconds=2)
    waits = []
    for attempt in range(3):  # every probe fails: 10 s, 20 s, 40 s between them
        at = opened + timedelta(seconds=sum(waits))
        cooldown = isolation.repo_config(CFG, rb.failed_probes.get("acme/gone", 0)).cooldown_seconds
        waits.append(cooldown)
        early = at + timedelta(seconds=cooldown - 1)
        assert not isolation.permit(rb, "acme/gone", early, CFG, "p")[1].granted
        rb, probe, change = isolation.permit(rb, "acme/gone", at + timedelta(seconds=cooldown), CFG, "p")
        assert probe.granted and probe.probe and change is not None
        rb, change = isolation.record(rb, "acme/gone", at + timedelta(seconds=cooldown), False, CFG, "p")
        assert change is not None and change.new is BreakerState.OPEN
        assert rb.failed_probes["acme/gone"] == attempt + 1
    assert waits == [10, 20, 40]
    at = opened + timedelta(seconds=sum(waits) + 80)
    rb, probe, _ = isolation.permit(rb, "acme/gone", at, CFG, "p")
    rb, change = isolation.record(rb, "acme/gone", at, True, CFG, "p")
    assert change is not None and change.new is BreakerState.CLOSED
    assert isolation.isolated(rb) == [] and "acme/gone" not in rb.failed_probes


def test_the_backoff_is_bounded_and_quiet_repositories_are_forgotten() -> None:
    assert isolation.repo_config(CFG, 40).cooldown_seconds == isolation.COOLDOWN_CAP_SECONDS
    rb = failing(isolation.RepoBreakers(), "acme/flaky", 1)
    later = NOW + timedelta(seconds=CFG.window_seconds + 1)
    rb, _ = isolation.record(rb, "acme/other", later, False, CFG, "p")
    assert set(rb.breakers) == {"acme/other"}


def test_a_success_on_a_repository_without_a_breaker_changes_nothing() -> None:
    rb = isolation.RepoBreakers()
    assert isolation.record(rb, "acme/api", NOW, True, CFG, "p") == (rb, None)


@pytest.mark.parametrize(
    ("kind", "alone"),
    [
        ("GitHubRepoUnavailable", True),
        ("GitHubAccessDenied", True),
        ("GitHubError", False),
        ("GitHubRateLimited", False),
        ("", False),
    ],
)
def test_the_decider_tells_the_breaker_which_failures_are_the_repositorys_alone(
    kind: str, alone: bool
) -> None:
    plan = Plan(decision=Decision(action=PRAction.RETRY_CHECKS, reason="flaky"), head_sha="a" * 40, attempt=1)
    effect = RunStrategy(plan, Strategy.REBUILD)
    step = decider.resume(memory(), context(), effect, Failed("GitHub answered 404", kind=kind))
    reports = [e for e in step.effects if isinstance(e, ReportToBreaker)]
    assert [(r.ok, r.repo_only) for r in reports] == [(False, alone)]


def test_mender_breaker_status_names_the_isolated_repositories() -> None:
    from starter.views import breaker_text

    status = {"scope": "github", "state": "closed", "failure_rate": 0.0, "samples": 3, "changes": []}
    assert "isolated" not in breaker_text(status)
    text = breaker_text({**status, "isolated": ["acme/gone"]})
    assert "isolated repositories (own breaker open): acme/gone" in text
