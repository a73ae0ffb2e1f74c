"""The Slack simulator over real HTTP, driven by slack-sdk's WebClient (and httpx for form posts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from runtime.serving import ServerThread, free_port
from simulators.slack import SlackSimulator, create_app
from tests.support.patience import patient

ROOT = Path(__file__).resolve().parents[2]
SLACK_FIXTURES = ROOT / "tests" / "fixtures" / "slack" / "web_api"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}


@pytest.fixture
def sim(slack_served: tuple[SlackSimulator, str]) -> SlackSimulator:
    slack_served[0].reset()
    return slack_served[0]


@pytest.fixture
def url(slack_served: tuple[SlackSimulator, str], sim: SlackSimulator) -> str:
    return slack_served[1]


@pytest.fixture
def client(url: str) -> WebClient:
    return WebClient(token="xoxb-test-token", base_url=f"{url}/api/")


def sim_messages(url: str, channel: str | None = None) -> list[dict[str, Any]]:
    params = {"channel": channel} if channel else {}
    response = httpx.get(f"{url}/_sim/messages", params=params)
    response.raise_for_status()
    return response.json()["messages"]


def slack_error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return exc.value.response["error"]


def test_post_message_answers_like_slack(client: WebClient, url: str) -> None:
    expected = json.loads((SLACK_FIXTURES / "chat.postMessage.response.json").read_text())
    response = client.chat_postMessage(channel="#mender-escalations", text="hi", blocks=[SECTION])

    assert response["ok"] is True
    assert set(expected) == set(response.data)
    assert set(expected["message"]) - {"attachments"} <= set(response["message"])
    assert response["message"]["ts"] == response["ts"]
    assert response["channel"].startswith("C")
    assert response["message"]["blocks"] == [SECTION]
    [stored] = sim_messages(url, "#mender-escalations")
    assert stored["channel"] == response["channel"]
    assert stored["channel_name"] == "mender-escalations"
    assert (stored["ts"], stored["text"], stored["blocks"], stored["updated"]) == (
        response["ts"],
        "hi",
        [SECTION],
        False,
    )


def test_channels_resolve_by_id_name_and_hash(client: WebClient, url: str) -> None:
    first = client.chat_postMessage(channel="mender-ops", text="one")
    client.chat_postMessage(channel=first["channel"], text="two")
    client.chat_postMessage(channel="#mender-ops", text="three")
    assert [m["text"] for m in sim_messages(url, first["channel"])] == ["one", "two", "three"]
    assert sim_messages(url, "general") == []


def test_timestamps_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="general", text=str(i))["ts"] for i in range(30)]
    assert len(set(stamps)) == 30
    assert stamps == sorted(stamps, key=float)


def test_form_encoded_post_with_blocks_as_json_text(url: str) -> None:
    response = httpx.post(
        f"{url}/api/chat.postMessage",
        data={"channel": "general", "text": "form", "blocks": json.dumps([SECTION])},
        headers={"Authorization": "Bearer xoxb-form"},
    )
    assert response.json()["ok"] is True
    assert sim_messages(url, "general")[0]["blocks"] == [SECTION]


def test_update_replaces_text_and_blocks(client: WebClient, url: str) -> None:
    posted = client.chat_postMessage(channel="general", text="before")
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="after", blocks=[SECTION])

    assert (updated["channel"], updated["ts"], updated["text"]) == (posted["channel"], posted["ts"], "after")
    [stored] = sim_messages(url)
    assert (stored["text"], stored["blocks"], stored["updated"]) == ("after", [SECTION], True)
    [latest] = client.conversations_history(channel=posted["channel"])["messages"]
    assert latest["text"] == "after" and "edited" in latest


def test_update_of_unknown_message_is_refused(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="general", text="x")
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel=posted["channel"], ts="1.000001", text="y")
    assert slack_error(exc) == "message_not_found"


def test_history_is_newest_first_and_pages(client: WebClient) -> None:
    for i in range(5):
        client.chat_postMessage(channel="mender-ops", text=f"m{i}")
    client.chat_postMessage(channel="general", text="elsewhere")

    everything = client.conversations_history(channel="#mender-ops")
    assert [m["text"] for m in everything["messages"]] == ["m4", "m3", "m2", "m1", "m0"]
    assert everything["has_more"] is False

    page = client.conversations_history(channel="#mender-ops", limit=2)
    assert [m["text"] for m in page["messages"]] == ["m4", "m3"] and page["has_more"] is True
    cursor = page["response_metadata"]["next_cursor"]
    rest = client.conversations_history(channel="#mender-ops", limit=10, cursor=cursor)
    assert [m["text"] for m in rest["messages"]] == ["m2", "m1", "m0"]


def test_auth_test(client: WebClient) -> None:
    response = client.auth_test()
    assert response["ok"] is True and response["bot_id"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "#nowhere", "text": "x"}, "channel_not_found"),
        ({"channel": "", "text": "x"}, "channel_not_found"),
        ({"channel": "general"}, "no_text"),
        ({"channel": "general", "blocks": []}, "no_text"),
        ({"channel": "general", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": "general", "blocks": [SECTION] * 51}, "invalid_blocks"),
        (
            {
                "channel": "general",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            },
            "invalid_blocks",
        ),
        ({"channel": "general", "blocks": {"type": "section"}}, "invalid_blocks"),
        ({"channel": "general", "text": "x" * 40_001}, "msg_too_long"),
    ],
)
def test_post_errors_raise_slack_api_error(
    client: WebClient, url: str, kwargs: dict[str, Any], error: str
) -> None:
    expected = json.loads((SLACK_FIXTURES / "chat.postMessage.error_response.json").read_text())
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(**kwargs)
    assert slack_error(exc) == error
    assert set(expected) <= set(exc.value.response.data)
    assert exc.value.response["ok"] is False
    assert sim_messages(url) == []


def test_missing_token_is_not_authed(url: str) -> None:
    with pytest.raises(SlackApiError) as exc:
        WebClient(base_url=f"{url}/api/").chat_postMessage(channel="general", text="x")
    assert slack_error(exc) == "not_authed"


def test_token_that_is_not_a_slack_token_is_invalid(url: str) -> None:
    with pytest.raises(SlackApiError) as exc:
        WebClient(token="ghp_not_slack", base_url=f"{url}/api/").auth_test()
    assert slack_error(exc) == "invalid_auth"


def test_strict_simulator_accepts_only_its_token() -> None:
    with ServerThread(create_app(SlackSimulator(token="xoxb-right"))) as server:
        assert WebClient(token="xoxb-right", base_url=f"{server.url}/api/").auth_test()["ok"]
        with pytest.raises(SlackApiError) as exc:
            WebClient(token="xoxb-wrong", base_url=f"{server.url}/api/").auth_test()
    assert slack_error(exc) == "invalid_auth"


def test_injected_rate_limit_answers_429_with_retry_after(client: WebClient, url: str) -> None:
    httpx.post(
        f"{url}/_sim/faults", json={"method": "chat.postMessage", "error": "ratelimited", "retry_after": 7}
    )
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="general", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel="general", text="x")["ok"]  # the fault was used up


def test_unknown_method(url: str) -> None:
    response = httpx.post(f"{url}/api/files.upload", headers={"Authorization": "Bearer xoxb-x"})
    assert response.json() == {"ok": False, "error": "unknown_method"}


def test_control_endpoints(client: WebClient, url: str) -> None:
    created = httpx.post(f"{url}/_sim/channels", json={"name": "#new-channel"}).json()
    client.chat_postMessage(channel="new-channel", text="x")
    assert sim_messages(url, created["id"])[0]["channel_name"] == "new-channel"
    assert httpx.get(f"{url}/_sim/health").json() == {"ok": True, "messages": 1}
    assert httpx.get(f"{url}/_sim/messages", params={"channel": "#nowhere"}).status_code == 404
    assert httpx.post(f"{url}/_sim/reset").json() == {"ok": True}
    assert sim_messages(url) == []
    assert httpx.get(f"{url}/_sim/messages", params={"channel": "new-channel"}).status_code == 404


def test_cli_serves_the_simulator() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.slack",
            "--port",
            str(port),
            "--channel",
            "extra",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + patient(10)
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_sim/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        client = WebClient(token="xoxb-cli", base_url=f"http://127.0.0.1:{port}/api/")
        assert client.chat_postMessage(channel="#extra", text="from the CLI")["ok"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_simulator_shares_the_products_dev_secret_and_button_ids() -> None:
    from domain.ci_healing import approval
    from runtime.settings import DEV_SLACK_SIGNING_SECRET
    from simulators.slack import interactivity, model

    assert model.DEV_SIGNING_SECRET == DEV_SLACK_SIGNING_SECRET
    assert (interactivity.APPROVE_ACTION_ID, interactivity.REJECT_ACTION_ID) == (
        approval.APPROVE_ACTION_ID,
        approval.REJECT_ACTION_ID,
    )
