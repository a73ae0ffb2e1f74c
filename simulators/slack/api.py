"""The Slack simulator's FastAPI app: Web API methods under `/api/`, control endpoints under `/_sim/`.

Web API (as slack-sdk's `WebClient(base_url="http://HOST:PORT/api/")` calls it; JSON, form or query
arguments, `Authorization: Bearer xoxb-...`): `chat.postMessage`, `chat.update`, `conversations.history`,
`auth.test`, `api.test`. Failures answer `{"ok": false, "error": code}` (HTTP 200, or 429 for `ratelimited`).

Control (JSON):
- `GET /_sim/messages?channel=` all posted messages, oldest first: channel, channel_name, ts, text, blocks,
  thread_ts, updated. `channel` is an id, `name` or `#name`.
- `POST /_sim/channels` body `{"name"}`: create a channel, 201 `{"id", "name"}`.
- `POST /_sim/faults` body `{"method", "error", "count"?, "status"?, "retry_after"?}`: fail the next calls.
- `POST /_sim/config` body `{"interactivity_url"?, "signing_secret"?, "approver_delay"?}`: where clicks go.
- `POST /_sim/click` body `{"channel", "ts", "action_id", "user_id", "user_name"?}`: a user clicks a button;
  the signed `block_actions` payload is POSTed to `interactivity_url`; answers `{"status", "body"}` (the
  app's answer). 404 unknown message or button, 409 no interactivity URL, 502 the app did not answer.
- `GET /_sim/clicks`: every delivered click and the app's answer.
- `POST /_sim/reset`; `GET /_sim/health`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from simulators.slack.model import BOT_ID, TEAM_ID, USER_ID, Fault, SlackError, SlackSimulator

Handler = Callable[[SlackSimulator, dict[str, Any]], dict[str, Any]]


class ChannelIn(BaseModel):
    name: str


class ConfigIn(BaseModel):
    interactivity_url: str | None = None
    signing_secret: str | None = None
    approver_delay: float | None = None


class ClickIn(BaseModel):
    channel: str
    ts: str
    action_id: str
    user_id: str
    user_name: str = ""


class FaultIn(BaseModel):
    method: str
    error: str
    count: int = 1
    status: int = 200
    retry_after: int | None = None


def _post_message(sim: SlackSimulator, args: dict[str, Any]) -> dict[str, Any]:
    message = sim.post(args.get("channel"), args.get("text"), args.get("blocks"), args.get("thread_ts"))
    return {"channel": message.channel, "ts": message.ts, "message": message.to_slack()}


def _update(sim: SlackSimulator, args: dict[str, Any]) -> dict[str, Any]:
    message = sim.update(args.get("channel"), args.get("ts"), args.get("text"), args.get("blocks"))
    return {"channel": message.channel, "ts": message.ts, "text": message.text, "message": message.to_slack()}


def _history(sim: SlackSimulator, args: dict[str, Any]) -> dict[str, Any]:
    messages = sim.history(args.get("channel"))
    try:
        limit = max(1, min(int(args.get("limit") or 100), 999))
        cursor = args.get("cursor")
        start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
    except ValueError:
        raise SlackError("invalid_arguments") from None
    page = messages[start : start + limit]
    has_more = start + limit < len(messages)
    next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if has_more else ""
    return {
        "messages": [m.to_slack() for m in page],
        "has_more": has_more,
        "pin_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }


def _auth_test(sim: SlackSimulator, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": "https://mender-sim.slack.com/",
        "team": "Mender Simulator",
        "user": "mender",
        "team_id": TEAM_ID,
        "user_id": USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


METHODS: dict[str, Handler] = {
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "conversations.history": _history,
    "auth.test": _auth_test,
}


async def _arguments(request: Request) -> dict[str, Any]:
    """Query string merged with a JSON or form-encoded body (multipart is not supported)."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return args
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError:
            raise SlackError("invalid_json") from None
        if not isinstance(parsed, dict):
            raise SlackError("invalid_json")
        args.update(parsed)
    elif content_type.startswith("application/x-www-form-urlencoded"):
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    else:
        raise SlackError("invalid_form_data")
    return args


def _error_response(exc: SlackError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    status = 429 if exc.code == "ratelimited" and exc.status == 200 else exc.status
    if status == 429 and headers is None:
        headers = {"Retry-After": "1"}
    return JSONResponse(exc.body(), status_code=status, headers=headers)


def create_app(sim: SlackSimulator) -> FastAPI:
    """The simulator app serving `sim`."""
    app = FastAPI(
        title="Mender Slack simulator",
        docs_url="/_sim/docs",
        openapi_url="/_sim/openapi.json",
        redoc_url=None,
    )

    @app.api_route("/api/api.test", methods=["GET", "POST"])
    async def api_test(request: Request) -> JSONResponse:
        try:
            args = await _arguments(request)
        except SlackError as exc:
            return _error_response(exc)
        return JSONResponse({"ok": True, "args": args})

    @app.api_route("/api/{method}", methods=["GET", "POST"])
    async def web_api(method: str, request: Request) -> JSONResponse:
        handler = METHODS.get(method)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"}, status_code=404)
        try:
            sim.check_auth(request.headers.get("authorization"))
            sim.take_fault(method)
            args = await _arguments(request)
            return JSONResponse({"ok": True, **handler(sim, args)})
        except SlackError as exc:
            return _error_response(exc)

    @app.get("/_sim/messages")
    async def messages(channel: str | None = None) -> dict[str, Any]:
        try:
            return {"messages": sim.messages(channel)}
        except SlackError as exc:
            raise HTTPException(404, exc.code) from None

    @app.post("/_sim/channels", status_code=201)
    async def add_channel(body: ChannelIn) -> dict[str, str]:
        channel = sim.add_channel(body.name)
        return {"id": channel.id, "name": channel.name}

    @app.post("/_sim/faults", status_code=201)
    async def add_fault(body: FaultIn) -> dict[str, bool]:
        sim.inject(Fault(**body.model_dump()))
        return {"ok": True}

    @app.post("/_sim/config")
    async def configure(body: ConfigIn) -> dict[str, Any]:
        if body.interactivity_url is not None:
            sim.interactivity_url = body.interactivity_url or None
        if body.signing_secret:
            sim.signing_secret = body.signing_secret
        if body.approver_delay is not None:
            sim.approver_delay = max(0.0, body.approver_delay)
        return {"ok": True, "interactivity_url": sim.interactivity_url, "approver_delay": sim.approver_delay}

    @app.post("/_sim/click")
    def click(body: ClickIn) -> dict[str, Any]:  # sync: runs in a thread while it waits for the app
        try:
            result = sim.click(body.channel, body.ts, body.action_id, body.user_id, body.user_name)
        except SlackError as exc:
            raise HTTPException(exc.status if exc.status >= 400 else 400, exc.code) from None
        return {"ok": True, "status": result.status, "body": result.body}

    @app.get("/_sim/clicks")
    async def clicks() -> dict[str, Any]:
        return {"clicks": [asdict(c) for c in sim.clicks()]}

    @app.post("/_sim/reset")
    async def reset() -> dict[str, bool]:
        sim.reset()
        return {"ok": True}

    @app.get("/_sim/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "messages": len(sim.messages())}

    return app
