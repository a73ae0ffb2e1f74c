"""The Slack activities, called directly, against the Slack simulator over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.slack import notify_breaker, notify_escalation, slack_client
from domain.config import MenderConfig
from domain.pr_healing.events import PRRef
from domain.shared.notifications import ActionAttempt, BreakerNotice, EscalationNotice
from runtime.serving import free_port
from runtime.settings import Environment, Settings, set_settings
from simulators.slack import SlackSimulator
from tests.support.stack import make_settings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FAKE_TOKEN = "ghp_" + "Fake0Token1" * 3 + "abc"  # 36 characters after the prefix, like a real one
SLACK_SECRET = "xoxb-1234567890-0987654321-abcdefghijklmnopqrstuvwx"


@pytest.fixture
def url(slack_served: tuple[SlackSimulator, str]) -> str:
    slack_served[0].reset()
    return slack_served[1]


@pytest.fixture
def slack_settings(tmp_path: Path, url: str) -> Iterator[Settings]:
    yield make_settings(tmp_path, slack={"simulator_url": f"{url}/api/"})
    set_settings(None)


def posted(url: str, channel: str) -> list[dict[str, Any]]:
    return httpx.get(f"{url}/_sim/messages", params={"channel": channel}).json()["messages"]


def escalation(**overrides: Any) -> EscalationNotice:
    base: dict[str, Any] = {
        "pr": PRRef(repo="acme/api", number=42),
        "html_url": "https://github.com/acme/api/pull/42",
        "state": "CHECKS_FAILED",
        "reason": f"rerun budget exhausted; last push used {FAKE_TOKEN}",
        "history": [
            "opened by dependabot",
            f"check build failed: git clone https://x-access-token:{FAKE_TOKEN}@github.com/acme/api",
            f"env SLACK_BOT_TOKEN={SLACK_SECRET}",
        ],
        "actions": [
            ActionAttempt(action="rerun_failed_jobs", outcome="failed", at=T0, detail="job 7 failed again"),
            ActionAttempt(action="update_branch", outcome="succeeded", at=T0 + timedelta(minutes=3)),
        ],
    }
    return EscalationNotice(**{**base, **overrides})


def test_escalation_lands_in_the_escalation_channel(slack_settings: Settings, url: str) -> None:
    result = notify_escalation(escalation())

    [message] = posted(url, slack_settings.config.slack.escalation_channel)
    assert (message["channel"], message["ts"]) == (result.channel, result.ts)
    assert posted(url, slack_settings.config.slack.ops_channel) == []
    body = json.dumps(message["blocks"]) + message["text"]
    assert "Mender needs a human: acme/api#42" in body
    assert "<https://github.com/acme/api/pull/42|acme/api#42>" in body
    assert "rerun budget exhausted" in body
    assert "rerun_failed_jobs" in body and "job 7 failed again" in body and "update_branch" in body
    assert "opened by dependabot" in body
    assert FAKE_TOKEN not in body and FAKE_TOKEN[4:] not in body and "ghp_***" in body
    assert SLACK_SECRET not in body and SLACK_SECRET[5:] not in body


def test_escalation_without_html_url_links_github(slack_settings: Settings, url: str) -> None:
    notify_escalation(escalation(html_url=None))
    [message] = posted(url, "#mender-escalations")
    assert "https://github.com/acme/api/pull/42" in json.dumps(message["blocks"])


def test_huge_history_still_posts(slack_settings: Settings, url: str) -> None:
    notify_escalation(escalation(history=[f"line {i} " + "y" * 2000 for i in range(1000)]))
    [message] = posted(url, "#mender-escalations")
    assert "line 999" in json.dumps(message["blocks"])


def test_breaker_lands_in_the_ops_channel(slack_settings: Settings, url: str) -> None:
    notice = BreakerNotice(
        scope="github:acme/api",
        old_state="closed",
        new_state="open",
        reason=f"6 of 10 actions failed (token={FAKE_TOKEN})",
        failure_rate=0.6,
        samples=10,
        at=T0,
    )
    result = notify_breaker(notice)

    [message] = posted(url, slack_settings.config.slack.ops_channel)
    assert message["ts"] == result.ts
    body = json.dumps(message["blocks"], ensure_ascii=False) + message["text"]
    assert "Circuit breaker github:acme/api: closed → open" in body
    assert "6 of 10 actions failed" in body and "60%" in body and "10" in body
    assert FAKE_TOKEN not in body


def test_unknown_channel_is_not_retryable(tmp_path: Path, url: str) -> None:
    make_settings(tmp_path, slack={"simulator_url": f"{url}/api/", "escalation_channel": "#nowhere"})
    try:
        with pytest.raises(ApplicationError) as exc:
            notify_escalation(escalation())
    finally:
        set_settings(None)
    assert exc.value.non_retryable and exc.value.type == "SlackRejected"
    assert exc.value.details == ("channel_not_found",)


def test_invalid_token_is_not_retryable(tmp_path: Path, url: str) -> None:
    config = MenderConfig.model_validate({"slack": {"api_url": f"{url}/api/"}})
    env = Environment(mender_config=tmp_path / "absent.yaml", slack_bot_token="not-a-slack-token")
    set_settings(Settings(config, env))
    try:
        with pytest.raises(ApplicationError) as exc:
            notify_breaker(BreakerNotice(scope="s", old_state="open", new_state="closed", reason="ok", at=T0))
    finally:
        set_settings(None)
    assert exc.value.non_retryable and exc.value.details == ("invalid_auth",)
    assert "not-a-slack-token" not in str(exc.value)


def test_rate_limit_is_retryable_after_retry_after(slack_settings: Settings, url: str) -> None:
    httpx.post(
        f"{url}/_sim/faults", json={"method": "chat.postMessage", "error": "ratelimited", "retry_after": 3}
    )
    with pytest.raises(ApplicationError) as exc:
        notify_escalation(escalation())
    assert not exc.value.non_retryable and exc.value.type == "SlackRateLimited"
    assert exc.value.next_retry_delay == timedelta(seconds=3)
    notify_escalation(escalation())  # the retry goes through
    assert len(posted(url, "#mender-escalations")) == 1


def test_server_error_is_retryable(slack_settings: Settings, url: str) -> None:
    httpx.post(f"{url}/_sim/faults", json={"method": "*", "error": "internal_error", "status": 500})
    with pytest.raises(ApplicationError) as exc:
        notify_escalation(escalation())
    assert not exc.value.non_retryable and exc.value.type == "SlackUnavailable"


def test_unreachable_slack_is_retryable(tmp_path: Path) -> None:
    make_settings(tmp_path, slack={"simulator_url": f"http://127.0.0.1:{free_port()}/api/"})
    try:
        with pytest.raises(ApplicationError) as exc:
            notify_escalation(escalation())
    finally:
        set_settings(None)
    assert not exc.value.non_retryable and exc.value.type == "SlackUnavailable"


def test_client_factory_uses_settings(slack_settings: Settings, url: str) -> None:
    client = slack_client()
    assert client.base_url == f"{url}/api/" and client.token == slack_settings.slack_token
    assert client.auth_test()["ok"]


def test_runs_inside_an_activity_context(slack_settings: Settings, url: str) -> None:
    result = ActivityEnvironment().run(notify_escalation, escalation())
    assert posted(url, "#mender-escalations")[0]["ts"] == result.ts
