"""Slack button clicks over real HTTP: Slack simulator → starter → real Temporal dev server → workflow.

A small workflow (defined here) waits for the `approval` signal and returns it. Clicks are made by the
Slack simulator, signed with the dev signing secret, exactly as Slack sends them.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.signature import Clock, SignatureVerifier
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.worker import Worker

from activities.approval import request_approval
from domain.ci_healing.approval import APPROVE_ACTION_ID, REJECT_ACTION_ID, ApprovalDecision, ApprovalRequest
from domain.ci_healing.approval_messages import PostedMessage
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Tier
from domain.shared.audit import AuditFilter
from runtime.dispatch import EventDispatcher
from runtime.serving import ServerThread, free_port
from runtime.settings import DEV_SLACK_SIGNING_SECRET, set_settings
from simulators.slack import ClickResult, SlackSimulator, block_actions_payload, signed_form
from simulators.slack import create_app as create_slack
from starter.app import create_app
from store import audit
from store.db import engine_for
from tests.conftest import FIXTURES
from tests.support.events import eventually
from tests.support.patience import patient
from tests.support.running_stack import borrowed_hosts
from tests.support.stack import make_settings

SLACK = FIXTURES / "slack"
APPROVERS = ["U123", "@bob"]  # by id, and by user name


@workflow.defn(name="ApprovalProbe", sandboxed=False)
class ApprovalProbe:
    """Waits for one `approval` signal and returns it."""

    def __init__(self) -> None:
        self.decision: ApprovalDecision | None = None

    @workflow.signal(name="approval")
    def approval(self, decision: ApprovalDecision) -> None:
        self.decision = self.decision or decision

    @workflow.query(name="decision")
    def current(self) -> ApprovalDecision | None:
        return self.decision

    @workflow.run
    async def run(self) -> ApprovalDecision:
        await workflow.wait_condition(lambda: self.decision is not None)
        assert self.decision is not None
        return self.decision


@dataclass
class Stack:
    client: Client
    queue: str
    sim: SlackSimulator
    starter_url: str
    slack_url: str

    @property
    def interactivity_url(self) -> str:
        return f"{self.starter_url}/slack/interactivity"

    async def ask(self, *, start: bool = True) -> tuple[WorkflowHandle[Any, Any] | None, PostedMessage]:
        """Start a probe workflow (unless `start=False`) and post its approval request to Slack."""
        wid = f"ci/github/acme/api/{uuid.uuid4().hex[:12]}"
        handle = None
        if start:
            handle = await self.client.start_workflow(
                ApprovalProbe.run, id=wid, task_queue=self.queue, execution_timeout=timedelta(minutes=2)
            )
        return handle, await asyncio.to_thread(request_approval, approval_request(wid))

    async def click(
        self, posted: PostedMessage, action_id: str, user_id: str, user_name: str, **kw: Any
    ) -> ClickResult:
        return await asyncio.to_thread(
            self.sim.click, posted.channel, posted.ts, action_id, user_id, user_name, **kw
        )

    async def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.post(self.interactivity_url, content=body, headers=headers)


def approval_request(wid: str) -> ApprovalRequest:
    return ApprovalRequest(
        workflow_id=wid,
        provider="github",
        project="acme/api",
        run_id=wid.rsplit("/", 1)[1],
        run_url="https://github.com/acme/api/actions/runs/1",
        diagnosis=Diagnosis(
            category=Category.DEPENDENCY,
            action=FixAction.ADD_DEPENDENCY,
            risk_score=6.0,
            tier=Tier.HIGH,
            confidence=90,
            key_line="ModuleNotFoundError: No module named 'yaml'",
            explanation="PyYAML is imported but not declared.",
        ),
        plan="Add PyYAML to the dependencies",
        gate_reasons=["risk 6.0 is above the threshold 4.0"],
        timeout_seconds=60,
    )


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    queue = f"approval-test-{uuid.uuid4().hex[:8]}"
    address = client.service_client.config.target_host
    sim = SlackSimulator()
    with borrowed_hosts(2) as (slack, starter):
        settings = make_settings(
            tmp_path, slack={"simulator_url": f"{slack.url}/api/"}, ci={"approval": {"approvers": APPROVERS}}
        )
        app = create_app(settings, EventDispatcher(address, client.namespace, queue))
        async with (
            Worker(client, task_queue=queue, workflows=[ApprovalProbe]),
            slack.serving(create_slack(sim)),
            starter.serving(app),
        ):
            sim.interactivity_url = f"{starter.url}/slack/interactivity"
            yield Stack(client, queue, sim, starter.url, slack.url)
    set_settings(None)


async def decision_of(handle: WorkflowHandle[Any, Any]) -> ApprovalDecision:
    return await asyncio.wait_for(handle.result(), timeout=patient(20))


async def test_an_allowed_approver_approves(stack: Stack) -> None:
    handle, posted = await stack.ask()
    assert handle is not None

    click = await stack.click(posted, APPROVE_ACTION_ID, "U123", "alice")

    assert click.status == 200, click.body
    assert click.json()["text"].startswith("Recorded")
    decision = await decision_of(handle)
    assert decision.approved is True and decision.approver == "U123 (alice)"
    assert (decision.channel, decision.message_ts) == (posted.channel, posted.ts)
    assert decision.decided_at.tzinfo is not None and abs(decision.decided_at.timestamp() - time.time()) < 30


async def test_a_second_click_is_told_the_first_decision_and_changes_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    handle, posted = await stack.ask()
    assert handle is not None
    first = await stack.click(posted, APPROVE_ACTION_ID, "U123", "alice")
    assert first.status == 200 and first.json()["text"].startswith("Recorded")
    assert (await decision_of(handle)).approved is True

    again = await stack.click(posted, APPROVE_ACTION_ID, "U123", "alice")  # Slack's retry, or a double click
    other = await stack.click(posted, REJECT_ACTION_ID, "U777", "bob")  # a second approver, too late

    for click in (again, other):
        assert click.status == 200, click.body
        assert click.json()["text"] == "Already decided: approved by U123 (alice). Nothing changed."
        assert click.json()["response_type"] == "ephemeral"
    assert (await decision_of(handle)).approved is True
    engine = engine_for(f"sqlite:///{tmp_path / 'mender.db'}")
    rows = audit.query(engine, AuditFilter(action="slack.click", target=handle.id))
    assert [(r.actor, r.details, r.source) for r in rows] == [("U123 (alice)", {"approved": True}, "slack")]


async def test_an_allowed_approver_rejects_by_user_name(stack: Stack) -> None:
    handle, posted = await stack.ask()
    assert handle is not None

    click = await stack.click(posted, REJECT_ACTION_ID, "U777", "bob")

    assert click.status == 200, click.body
    decision = await decision_of(handle)
    assert decision.approved is False and decision.approver == "U777 (bob)"


async def test_a_disallowed_user_is_refused_and_nothing_is_signalled(stack: Stack) -> None:
    handle, posted = await stack.ask()
    assert handle is not None

    click = await stack.click(posted, APPROVE_ACTION_ID, "U999", "mallory")

    assert click.status == 200
    answer = click.json()
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "not allowed to approve" in answer["text"]
    # a signal is in the history once the starter's signal call returns, before it answers Slack
    history = await handle.fetch_history()
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED not in [e.event_type for e in history.events]
    assert await handle.query(ApprovalProbe.current) is None
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    await handle.terminate("test over")


async def test_the_auto_approver_clicks_by_itself(stack: Stack) -> None:
    seen: list[dict[str, Any]] = []

    def approver(message: dict[str, Any]) -> tuple[str, str, str] | None:
        seen.append(message)
        return APPROVE_ACTION_ID, "U123", "alice"

    stack.sim.approver, stack.sim.approver_delay = approver, 0.05
    handle, posted = await stack.ask()
    assert handle is not None

    decision = await decision_of(handle)
    assert decision.approved and decision.approver == "U123 (alice)" and decision.message_ts == posted.ts
    assert [m["ts"] for m in seen] == [posted.ts]
    await eventually(lambda: asyncio.sleep(0, stack.sim.clicks()), lambda clicks: len(clicks) == 1)
    assert stack.sim.clicks()[0].status == 200


async def test_the_control_api_configures_and_clicks(stack: Stack) -> None:
    """`POST /_sim/config` and `POST /_sim/click`, as a script or another process would drive them."""
    handle, posted = await stack.ask()
    assert handle is not None
    stack.sim.interactivity_url = None
    async with httpx.AsyncClient(base_url=stack.slack_url, timeout=20) as sim:
        click = {"channel": posted.channel, "ts": posted.ts, "action_id": REJECT_ACTION_ID, "user_id": "U123"}
        assert (await sim.post("/_sim/click", json=click)).status_code == 409  # nowhere to send it
        config = {"interactivity_url": stack.interactivity_url, "signing_secret": "rotated-secret"}
        assert (await sim.post("/_sim/config", json=config)).json()[
            "interactivity_url"
        ] == stack.interactivity_url
        assert (await sim.post("/_sim/click", json=click)).json()[
            "status"
        ] == 401  # the app has the old secret
        await sim.post("/_sim/config", json={"signing_secret": DEV_SLACK_SIGNING_SECRET})
        assert (await sim.post("/_sim/click", json={**click, "action_id": "nope"})).status_code == 404
        assert (await sim.post("/_sim/click", json={**click, "ts": "1.000000"})).status_code == 404
        answer = (await sim.post("/_sim/click", json={**click, "user_name": "alice"})).json()
        assert answer["status"] == 200 and "Recorded" in json.loads(answer["body"])["text"]
        clicks = (await sim.get("/_sim/clicks")).json()["clicks"]
    assert [c["status"] for c in clicks] == [401, 200] and clicks[-1]["action_id"] == REJECT_ACTION_ID
    decision = await decision_of(handle)
    assert (decision.approved, decision.approver) == (False, "U123 (alice)")


async def test_unknown_workflow_is_no_longer_pending(stack: Stack) -> None:
    _, posted = await stack.ask(start=False)

    click = await stack.click(posted, APPROVE_ACTION_ID, "U123", "alice")

    assert click.status == 200
    assert "no longer pending" in click.json()["text"]


async def test_bad_or_missing_signature_is_401(stack: Stack) -> None:
    handle, posted = await stack.ask()
    assert handle is not None
    message = {**stack.sim.messages(posted.channel)[0], "bot_id": "B1", "type": "message"}
    payload = block_actions_payload(
        message=message,
        channel_id=posted.channel,
        channel_name="mender-approvals",
        action_id=APPROVE_ACTION_ID,
        user_id="U123",
        user_name="alice",
        team_id="T1",
    )
    body, headers = signed_form(payload, "not-the-signing-secret")
    assert (await stack.post(body, headers)).status_code == 401
    _, good = signed_form(payload, DEV_SLACK_SIGNING_SECRET)
    assert (await stack.post(body + b"&x=1", good)).status_code == 401  # body changed after signing
    unsigned = {k: v for k, v in headers.items() if k != "X-Slack-Signature"}
    assert (await stack.post(body, unsigned)).status_code == 401
    assert await handle.query(ApprovalProbe.current) is None
    await handle.terminate("test over")


async def test_a_correctly_signed_replay_six_minutes_old_is_401(stack: Stack) -> None:
    handle, posted = await stack.ask()
    assert handle is not None

    old = await stack.click(posted, APPROVE_ACTION_ID, "U123", "alice", timestamp=int(time.time()) - 360)
    future = await stack.click(posted, APPROVE_ACTION_ID, "U123", "alice", timestamp=int(time.time()) + 360)

    assert (old.status, future.status) == (401, 401)
    assert old.json()["text"] == "stale request (possible replay)"
    assert await handle.query(ApprovalProbe.current) is None
    await handle.terminate("test over")


def fixture_payload(name: str, action_id: str, value: str) -> dict[str, Any]:
    payload = json.loads((SLACK / "interactivity" / name).read_text())
    payload["actions"][0].update(action_id=action_id, value=value)
    return payload


def signed_raw(body: bytes) -> dict[str, str]:
    """Headers that sign an arbitrary (UTF-8) body correctly, now."""
    stamp = str(int(time.time()))
    signature = SignatureVerifier(DEV_SLACK_SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or "",
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"payload=%7Bnot-json", "payload is not JSON"),
        (b"nothing=here", "exactly one form field `payload`"),
        (b"payload=1&payload=2", "exactly one form field `payload`"),
        (b"", "exactly one form field `payload`"),
        (b"payload=%5B%5D", "payload is not a valid interaction"),
        (b"payload=%7B%22type%22%3A%22block_actions%22%7D", "payload is not a valid interaction"),
        (
            b"payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U1%22%7D%2C%22actions%22%3A%5B%5D%7D",
            "actions",
        ),
    ],
)
async def test_malformed_payload_is_400(stack: Stack, body: bytes, reason: str) -> None:
    response = await stack.post(body, signed_raw(body))
    assert response.status_code == 400 and reason in response.json()["text"], response.text


async def test_a_body_that_is_not_utf8_is_refused(stack: Stack) -> None:
    body = b"payload=\xff\xfe"
    stamp = str(int(time.time()))
    mac = hmac.new(DEV_SLACK_SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={mac.hexdigest()}"}
    response = await stack.post(body, headers)  # slack-sdk verifies text only: Slack never sends this
    assert response.status_code == 401


async def test_neither_the_secret_nor_the_body_is_logged(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handle, posted = await stack.ask()
    assert handle is not None
    refused = await stack.click(posted, APPROVE_ACTION_ID, "U999", "mallory")
    stack.sim.signing_secret = "wrong-secret"
    forged = await stack.click(posted, APPROVE_ACTION_ID, "U123", "alice")
    stack.sim.signing_secret = DEV_SLACK_SIGNING_SECRET
    accepted = await stack.click(posted, APPROVE_ACTION_ID, "U123", "alice")
    assert (refused.status, forged.status, accepted.status) == (200, 401, 200)
    await decision_of(handle)

    logged = caplog.text
    assert "not in ci.approval.approvers" in logged and "invalid signature" in logged
    for secret in (DEV_SLACK_SIGNING_SECRET, "wrong-secret", "payload=", "trigger_id", "hooks.slack.com"):
        assert secret not in logged


async def test_a_button_value_that_is_not_a_ci_workflow_is_400(stack: Stack) -> None:
    payload = fixture_payload("block_actions.button.json", APPROVE_ACTION_ID, "pr/acme/api/1")
    response = await stack.post(*signed_form(payload, DEV_SLACK_SIGNING_SECRET))
    assert response.status_code == 400 and "ci/" in response.json()["text"]


async def test_real_payloads_are_understood(stack: Stack) -> None:
    """Slack's own captured payloads, pointed at a waiting workflow, are signalled."""
    handle, _ = await stack.ask()
    assert handle is not None
    payload = fixture_payload("block_actions.button_in_message.json", REJECT_ACTION_ID, handle.id)
    payload["user"]["id"] = "U123"  # the fixture's user (U111, no name) is not an approver

    response = await stack.post(*signed_form(payload, DEV_SLACK_SIGNING_SECRET))

    assert response.status_code == 200, response.text
    decision = await decision_of(handle)
    assert (decision.approved, decision.approver) == (False, "U123")
    assert (decision.channel, decision.message_ts) == ("C111", "1678252213.679169")


async def test_other_buttons_and_interaction_types_are_ignored(stack: Stack) -> None:
    other = fixture_payload("block_actions.button.json", "someone_elses_button", "ci/x")
    shortcut = {"type": "shortcut", "callback_id": "x", "user": {"id": "U1"}}
    for payload in (other, shortcut):
        response = await stack.post(*signed_form(payload, DEV_SLACK_SIGNING_SECRET))
        assert (response.status_code, response.json()["text"]) == (200, "ignored")


async def test_temporal_unavailable_is_503(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, ci={"approval": {"approvers": APPROVERS}})
    down = EventDispatcher(f"127.0.0.1:{free_port()}", "default", "nowhere")
    payload = fixture_payload("block_actions.button.json", APPROVE_ACTION_ID, "ci/github/acme/api/1")
    payload["user"]["id"] = "U123"
    try:
        with ServerThread(create_app(settings, down)) as server:
            async with httpx.AsyncClient(timeout=20) as http:
                body, headers = signed_form(payload, DEV_SLACK_SIGNING_SECRET)
                response = await http.post(f"{server.url}/slack/interactivity", content=body, headers=headers)
    finally:
        set_settings(None)
    assert response.status_code == 503, response.text


def test_the_simulated_click_has_the_shape_of_real_payloads() -> None:
    real = {k for f in (SLACK / "interactivity").glob("*.json") for k in json.loads(f.read_text())}
    message = {"type": "message", "ts": "1.000001", "text": "x", "blocks": copy.deepcopy(BUTTON_BLOCKS)}
    click = block_actions_payload(
        message=message,
        channel_id="C1",
        channel_name="c",
        action_id=APPROVE_ACTION_ID,
        user_id="U1",
        user_name="u",
        team_id="T1",
    )
    assert real <= set(click)
    [action] = click["actions"]
    real_action = json.loads((SLACK / "interactivity" / "block_actions.button.json").read_text())["actions"][
        0
    ]
    assert set(real_action) <= set(action)
    assert (action["value"], action["style"], action["type"]) == ("ci/w", "primary", "button")
    assert action["block_id"] == click["message"]["blocks"][0]["block_id"]


BUTTON_BLOCKS = [
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE_ACTION_ID,
                "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "ci/w",
            }
        ],
    }
]


def test_the_signature_test_vector_passes_slack_sdk() -> None:
    vector = json.loads((SLACK / "signature" / "verification_test_vector.json").read_text())
    stamp = vector["headers"]["X-Slack-Request-Timestamp"]

    class Then(Clock):
        def now(self) -> float:
            return float(stamp)

    verifier = SignatureVerifier(vector["signing_secret"], clock=Then())
    assert verifier.is_valid_request(vector["body"], vector["headers"])
    assert verifier.is_valid(vector["body"], stamp, vector["headers"]["X-Slack-Signature"])
    assert not verifier.is_valid(vector["body"] + "x", stamp, vector["headers"]["X-Slack-Signature"])
    assert not SignatureVerifier(vector["signing_secret"]).is_valid_request(vector["body"], vector["headers"])
    assert signed_form({}, vector["signing_secret"], int(stamp))[1]["X-Slack-Signature"].startswith("v0=")
