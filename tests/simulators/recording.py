"""An ASGI wrapper that records every REST exchange the simulator answers (for the contract tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Exchange:
    method: str
    path: str
    route: str | None  # the simulator route that answered (its path template), None if unrouted
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Recorder:
    """Wraps an app; `exchanges` lists every HTTP request it served, in order."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(scope["method"], scope["path"], None)
        chunks: list[bytes] = []

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, recording_send)
        route: Any = scope.get("route")
        exchange.route = getattr(route, "path", None)
        exchange.body = b"".join(chunks)
        self.exchanges.append(exchange)
