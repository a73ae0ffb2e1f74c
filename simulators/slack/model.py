"""The Slack simulator's world: channels, bot messages, injected failures, and users clicking buttons.

All state sits behind one lock, so tests may call these methods from any thread while uvicorn serves.
The only outgoing HTTP is a click (`simulators.slack.interactivity`), POSTed to the app like Slack does.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from simulators.slack.interactivity import (
    Approver,
    ClickFailed,
    ClickResult,
    block_actions_payload,
    deliver,
    has_approval_buttons,
)
from simulators.slack.validation import MAX_TEXT, SlackError, validate_blocks

log = logging.getLogger("mender.simulators.slack")
DEFAULT_CHANNELS = (
    "general",
    "mender-escalations",
    "mender-ops",
    "mender-ci",
    "mender-approvals",
    "mender-critical",
)
BOT_ID = "B0MENDERSIM"
BOT_USERNAME = "mender"
TEAM_ID = "T0MENDERSIM"
USER_ID = "U0MENDERSIM"

DEV_SIGNING_SECRET = "dev-slack-signing-secret"  # the product's dev default (checked in tests)


@dataclass
class Channel:
    id: str
    name: str


@dataclass
class Message:
    """One bot message as the simulator stores it."""

    channel: str  # channel id
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    updated: bool = False
    edited_ts: str | None = None

    def to_slack(self) -> dict[str, Any]:
        """The message as Slack returns it in `chat.postMessage` / `conversations.history`."""
        out: dict[str, Any] = {
            "bot_id": BOT_ID,
            "subtype": "bot_message",
            "text": self.text,
            "ts": self.ts,
            "type": "message",
            "username": BOT_USERNAME,
        }
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.edited_ts is not None:
            out["edited"] = {"user": USER_ID, "ts": self.edited_ts}
        return out


@dataclass
class Fault:
    """Fail the next `count` calls of `method` ("*" = any) with `error`."""

    method: str
    error: str
    count: int = 1
    status: int = 200
    retry_after: int | None = None


@dataclass
class SlackSimulator:
    """In-memory Slack workspace: channels by id and name, messages in posting order.

    `click()` presses a button of a posted message as a user would: a signed `block_actions` POST to
    `interactivity_url`. With `approver` set, every new message with Approve/Reject buttons is clicked
    (after `approver_delay` seconds, in a background thread) as `approver(message)` decides.
    """

    channels: Iterable[str] = DEFAULT_CHANNELS
    token: str | None = None  # if set, the only bot token accepted
    interactivity_url: str | None = None  # the app's Request URL for interactivity
    signing_secret: str = DEV_SIGNING_SECRET
    approver: Approver | None = None
    approver_delay: float = 0.1
    _clicks: list[ClickResult] = field(default_factory=list, init=False)
    _by_id: dict[str, Channel] = field(default_factory=dict, init=False)
    _messages: list[Message] = field(default_factory=list, init=False)
    _faults: list[Fault] = field(default_factory=list, init=False)
    _last_us: int = field(default=0, init=False)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1), init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False)

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.reset()

    # --- channels -------------------------------------------------------------------------------------

    def add_channel(self, name: str) -> Channel:
        """Create a channel (idempotent by name); returns it."""
        name = name.lstrip("#")
        with self._lock:
            existing = self.find_channel(name)
            if existing is not None:
                return existing
            channel = Channel(id=f"C{next(self._ids):08d}", name=name)
            self._by_id[channel.id] = channel
            return channel

    def find_channel(self, ref: str) -> Channel | None:
        """A channel by id, `name` or `#name`; None if unknown."""
        with self._lock:
            if ref in self._by_id:
                return self._by_id[ref]
            name = ref.lstrip("#")
            return next((c for c in self._by_id.values() if c.name == name), None)

    def channel(self, ref: Any) -> Channel:
        if not ref or not isinstance(ref, str):
            raise SlackError("channel_not_found")
        found = self.find_channel(ref)
        if found is None:
            raise SlackError("channel_not_found")
        return found

    # --- auth and faults ------------------------------------------------------------------------------

    def check_auth(self, authorization: str | None) -> str:
        """The bearer token, or SlackError not_authed / invalid_auth."""
        if not authorization or not authorization.startswith("Bearer "):
            raise SlackError("not_authed")
        token = authorization.removeprefix("Bearer ").strip()
        if not token.startswith(("xoxb-", "xoxp-")) or (self.token is not None and token != self.token):
            raise SlackError("invalid_auth")
        return token

    def inject(self, fault: Fault) -> None:
        """Queue a failure for the next calls of a method."""
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, method: str) -> None:
        """Raise the first queued fault matching `method`, consuming one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.method in (method, "*"):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    raise SlackError(fault.error, fault.status, fault.retry_after)

    # --- messages -------------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        now_us = max(int(time.time() * 1_000_000), self._last_us + 1)
        self._last_us = now_us
        return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"

    def post(self, channel: Any, text: Any, blocks: Any = None, thread_ts: Any = None) -> Message:
        """chat.postMessage semantics: `channel` must exist, `text` or `blocks` required."""
        found = self.channel(channel)
        checked = validate_blocks(blocks) if blocks not in (None, "") else None
        text = text if isinstance(text, str) else ""
        if not text and not checked:
            raise SlackError("no_text")
        if len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        with self._lock:
            message = Message(found.id, self._next_ts(), text, checked, thread_ts or None)
            self._messages.append(message)
            if self.approver is not None and has_approval_buttons(checked):
                view = self._view(message)
                threading.Thread(
                    target=self._auto_click, args=(view,), name="slack-sim-approver", daemon=True
                ).start()
            return message

    def update(self, channel: Any, ts: Any, text: Any = None, blocks: Any = None) -> Message:
        """chat.update semantics: replaces text and/or blocks of an existing message."""
        found = self.channel(channel)
        checked = validate_blocks(blocks) if blocks not in (None, "") else None
        if not isinstance(text, str) and checked is None:
            raise SlackError("no_text")
        with self._lock:
            message = next((m for m in self._messages if m.channel == found.id and m.ts == ts), None)
            if message is None:
                raise SlackError("message_not_found")
            if isinstance(text, str):
                message.text = text
            if checked is not None:
                message.blocks = checked
            message.updated = True
            message.edited_ts = self._next_ts()
            return message

    def history(self, channel: Any) -> list[Message]:
        """Top-level messages of a channel, newest first."""
        found = self.channel(channel)
        with self._lock:
            return [m for m in reversed(self._messages) if m.channel == found.id and m.thread_ts is None]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Every posted message (optionally of one channel), oldest first, as the control API shows it."""
        wanted = self.channel(channel).id if channel else None
        with self._lock:
            return [self._view(m) for m in self._messages if wanted is None or m.channel == wanted]

    def _view(self, m: Message) -> dict[str, Any]:
        return {
            "channel": m.channel,
            "channel_name": self._by_id[m.channel].name,
            "ts": m.ts,
            "text": m.text,
            "blocks": m.blocks,
            "thread_ts": m.thread_ts,
            "updated": m.updated,
        }

    # --- users clicking -------------------------------------------------------------------------------

    def click(
        self,
        channel: Any,
        ts: Any,
        action_id: str,
        user_id: str,
        user_name: str = "",
        *,
        timestamp: int | None = None,
    ) -> ClickResult:
        """Click button `action_id` of message `ts` as user `user_id`; the app's HTTP status and body.

        SlackError `message_not_found` / `action_not_found` (404), `interactivity_not_configured` (409),
        `interactivity_unreachable` (502). `timestamp` overrides the signing time (replay tests).
        """
        with self._lock:
            found = self.channel(channel)
            message = next((m for m in self._messages if m.channel == found.id and m.ts == ts), None)
            if message is None:
                raise SlackError("message_not_found", 404)
            snapshot, url, secret = message.to_slack(), self.interactivity_url, self.signing_secret
        if not url:
            raise SlackError("interactivity_not_configured", 409)
        try:
            payload = block_actions_payload(
                message=snapshot,
                channel_id=found.id,
                channel_name=found.name,
                action_id=action_id,
                user_id=user_id,
                user_name=user_name or user_id,
                team_id=TEAM_ID,
            )
            status, body = deliver(url, secret, payload, timestamp=timestamp)
        except ClickFailed as exc:
            raise SlackError(exc.code, exc.status, detail=exc.detail) from None
        result = ClickResult(status, body, found.id, snapshot["ts"], action_id, user_id)
        with self._lock:
            self._clicks.append(result)
        return result

    def clicks(self) -> list[ClickResult]:
        """Every delivered click (by `click()` or the approver), oldest first."""
        with self._lock:
            return list(self._clicks)

    def _auto_click(self, message: dict[str, Any]) -> None:
        time.sleep(self.approver_delay)
        approver = self.approver
        if approver is None:
            return
        try:
            decision = approver(message)
            if decision is not None:
                action_id, user_id, user_name = decision
                result = self.click(message["channel"], message["ts"], action_id, user_id, user_name)
                log.info("auto-approver clicked %s on %s: HTTP %s", action_id, message["ts"], result.status)
        except Exception:
            log.exception("auto-approver failed on message %s", message["ts"])

    def reset(self) -> None:
        """Forget messages, faults and clicks; back to the initial channels (clicking settings are kept)."""
        with self._lock:
            self._messages.clear()
            self._faults.clear()
            self._clicks.clear()
            self._by_id.clear()
            self._ids = itertools.count(1)
            for name in self.channels:
                self.add_channel(name)
