"""Button clicks as Slack delivers them: a `block_actions` payload, form-encoded as `payload=<JSON>`,
signed with the app's signing secret (`X-Slack-Request-Timestamp`, `X-Slack-Signature`) and POSTed to the
app's interactivity URL. The payload's shape follows real captures (`tests/fixtures/slack/interactivity/`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

APP_ID = "A0MENDERSIM"
TEAM_DOMAIN = "mender-sim"
VERIFICATION_TOKEN = "mender-sim-verification-token"  # Slack's legacy token, sent in every payload
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
APPROVE_ACTION_ID = "mender_approve"  # the action ids of Mender's approval buttons (checked in tests)
REJECT_ACTION_ID = "mender_reject"
APPROVAL_ACTIONS = frozenset({APPROVE_ACTION_ID, REJECT_ACTION_ID})

# Given a posted message (as `GET /_sim/messages` shows it): (action_id, user_id, user_name) to click, or None.
Approver = Callable[[dict[str, Any]], tuple[str, str, str] | None]


class ClickFailed(Exception):
    """A click that could not be delivered: `code` names why, `status` is the control API's answer."""

    def __init__(self, code: str, status: int, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.status, self.detail = code, status, detail


@dataclass(frozen=True)
class ClickResult:
    """What the app answered to one click."""

    status: int
    body: str
    channel: str = ""
    ts: str = ""
    action_id: str = ""
    user_id: str = ""

    def json(self) -> Any:
        """The answer parsed as JSON (None if it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def with_block_ids(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A copy of `blocks` where each block has a `block_id`, as Slack assigns one when the app gave none."""
    out = copy.deepcopy(blocks or [])
    for i, block in enumerate(out):
        if not block.get("block_id"):
            digest = hashlib.sha1(json.dumps(block, sort_keys=True).encode()).hexdigest()
            block["block_id"] = f"{digest[:3]}{i}"
    return out


def buttons(blocks: list[dict[str, Any]] | None) -> list[tuple[str, dict[str, Any]]]:
    """Every button of `blocks` (in `actions` blocks and section accessories) with its block id."""
    found: list[tuple[str, dict[str, Any]]] = []
    for block in blocks or []:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        found += [(block.get("block_id", ""), e) for e in elements if e.get("type") == "button"]
    return found


def has_approval_buttons(blocks: list[dict[str, Any]] | None) -> bool:
    """True if the blocks carry Mender's Approve or Reject button."""
    return any(button.get("action_id") in APPROVAL_ACTIONS for _, button in buttons(blocks))


def block_actions_payload(
    *,
    message: dict[str, Any],
    channel_id: str,
    channel_name: str,
    action_id: str,
    user_id: str,
    user_name: str,
    team_id: str,
) -> dict[str, Any]:
    """The interactivity payload of a click on the button `action_id` of `message` (Slack's shape).

    `message` is the message as Slack returns it (`bot_id`, `ts`, `text`, `blocks`, ...). Raises
    LookupError if it has no such button.
    """
    blocks = with_block_ids(message.get("blocks"))
    match = next(((bid, b) for bid, b in buttons(blocks) if b.get("action_id") == action_id), None)
    if match is None:
        raise ClickFailed("action_not_found", 404, f"the message has no button {action_id!r}")
    block_id, button = match
    now = time.time()
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "text": button.get("text"),
        "value": button.get("value"),
        "type": "button",
        "action_ts": f"{now:.6f}",
    }
    if button.get("style"):
        action["style"] = button["style"]
    ts = message["ts"]
    nonce = secrets.token_hex(8)
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "message", "message_ts": ts, "channel_id": channel_id, "is_ephemeral": False},
        "trigger_id": f"{int(now)}.{secrets.randbelow(10**12)}.{nonce}",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": {**message, "blocks": blocks, "team": team_id, "app_id": APP_ID},
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{team_id}/{int(now)}/{nonce}",
        "actions": [action],
    }


def signed_form(
    payload: dict[str, Any], signing_secret: str, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The form body `payload=<JSON>` and the headers Slack sends with it, signed at `timestamp`."""
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": USER_AGENT,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or "",
    }
    return body, headers


def deliver(
    url: str,
    signing_secret: str,
    payload: dict[str, Any],
    *,
    timestamp: int | None = None,
    timeout: float = 10,
) -> tuple[int, str]:
    """POST the signed payload to `url`; the HTTP status and body. ClickFailed if nobody answers."""
    body, headers = signed_form(payload, signing_secret, timestamp)
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ClickFailed("interactivity_unreachable", 502, f"{type(exc).__name__}: {exc}") from exc
    return response.status_code, response.text
