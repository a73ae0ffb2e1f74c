"""The floor's webhook receiver: a bare FastAPI app that verifies GitHub's HMAC signature, parses the
JSON, and signal-with-starts one workflow per PR. Nothing else: no dedupe, no store, no translation.

Environment: FLOOR_TEMPORAL_ADDRESS, FLOOR_TASK_QUEUE, FLOOR_WEBHOOK_SECRET.
Run: uvicorn bench.floor.app:app --port P
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.client import Client

WORKFLOW = "FloorPR"
SIGNAL = "event"

app = FastAPI()
_client: Client | None = None


async def client() -> Client:
    global _client
    if _client is None:
        _client = await Client.connect(os.environ["FLOOR_TEMPORAL_ADDRESS"])
    return _client


@app.post("/webhooks/github")
async def webhook(request: Request) -> JSONResponse:
    body = await request.body()
    secret = os.environ["FLOOR_WEBHOOK_SECRET"].encode()
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("x-hub-signature-256", "")):
        return JSONResponse({"outcome": "rejected"}, status_code=401)
    payload = json.loads(body)
    pr = payload["pull_request"]
    workflow_id = f"floor/{payload['repository']['full_name']}/{pr['number']}"
    event = {"action": payload["action"], "number": pr["number"], "head_sha": pr["head"]["sha"]}
    await (await client()).start_workflow(
        WORKFLOW,
        workflow_id,
        id=workflow_id,
        task_queue=os.environ["FLOOR_TASK_QUEUE"],
        start_signal=SIGNAL,
        start_signal_args=[event],
    )
    return JSONResponse({"outcome": "accepted"}, status_code=202)
