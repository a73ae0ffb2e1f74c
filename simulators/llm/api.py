"""The LLM simulator's FastAPI app: an OpenAI-compatible chat completions endpoint and `/_sim/` controls.

`POST /v1/chat/completions` (`Authorization: Bearer <key>`, else 401 in OpenAI's error shape) answers a
chat completion whose message content is the deterministic analysis of the log in the user message.

Control (JSON):
- `POST /_sim/faults` body `{"mode", "count"?, "delay_seconds"?}`: the next `count` completions are
  `malformed` (content not JSON), `wrong_schema` (JSON of another shape), `slow` (answer after
  `delay_seconds`), `http_500` (server error), `empty_choices` (`choices: []`) or `refusal` (no content,
  a `refusal` message).
- `GET /_sim/requests`: what clients sent (model, messages, response_format), oldest first.
- `POST /_sim/reset`; `GET /_sim/health`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from simulators.llm.model import Fault, FaultMode, LLMSimulator, analyse, log_text

CREATED = 1_767_225_600  # fixed, so identical prompts get byte-identical replies
MALFORMED = "Sure! Here is my analysis: the build failed because of {memory"
REFUSAL = "I'm sorry, I can't help with that."
WRONG_SCHEMA = {"diagnosis": "out of memory", "severity": "high", "risk": "low", "fix": None}


class FaultIn(BaseModel):
    mode: FaultMode
    count: int = Field(1, ge=1)
    delay_seconds: float = Field(0.0, ge=0, le=60)


def _error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    """An error in OpenAI's shape."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status)


def _completion(
    body: dict[str, Any], content: str | None, empty: bool = False, refusal: str | None = None
) -> dict[str, Any]:
    """A chat completion carrying `content`; its id and token counts derive from the request only."""
    prompt = json.dumps(body.get("messages"), sort_keys=True, default=str)
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    prompt_tokens = max(1, len(prompt) // 4)
    completion_tokens = max(1, len(content or "") // 4)
    choices = [
        {
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    return {
        "id": f"chatcmpl-sim{digest[:24]}",
        "object": "chat.completion",
        "created": CREATED,
        "model": str(body.get("model") or "mender-sim"),
        "choices": [] if empty else choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "mender-llm-sim",
    }


def create_app(sim: LLMSimulator) -> FastAPI:
    """The simulator app serving `sim`."""
    app = FastAPI(
        title="Mender LLM simulator",
        docs_url="/_sim/docs",
        openapi_url="/_sim/openapi.json",
        redoc_url=None,
    )

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> JSONResponse:
        if not sim.check_auth(request.headers.get("authorization")):
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "The request body is not valid JSON.", "invalid_request_error")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(400, "'messages' must be a non-empty array.", "invalid_request_error")
        sim.record(body)
        fault = sim.take_fault()
        mode = fault.mode if fault else None
        if mode == "http_500":
            return _error(500, "The server had an error while processing your request.", "server_error")
        if mode == "slow" and fault is not None:
            await asyncio.sleep(fault.delay_seconds)
        if mode == "empty_choices":
            return JSONResponse(_completion(body, None, empty=True))
        if mode == "refusal":
            return JSONResponse(_completion(body, None, refusal=REFUSAL))
        if mode == "malformed":
            content = MALFORMED
        elif mode == "wrong_schema":
            content = json.dumps(WRONG_SCHEMA)
        else:
            content = json.dumps(analyse(log_text(body["messages"])))
        return JSONResponse(_completion(body, content))

    @app.post("/_sim/faults", status_code=201)
    async def add_fault(body: FaultIn) -> dict[str, bool]:
        sim.inject(Fault(body.mode, body.count, body.delay_seconds))
        return {"ok": True}

    @app.get("/_sim/requests")
    async def requests() -> dict[str, Any]:
        return {"requests": sim.requests()}

    @app.post("/_sim/reset")
    async def reset() -> dict[str, bool]:
        sim.reset()
        return {"ok": True}

    @app.get("/_sim/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "requests": len(sim.requests()), "faults": sim.pending_faults()}

    return app
