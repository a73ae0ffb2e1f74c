"""GitLab as a webhook source: `X-Gitlab-Token` (constant-time), `X-Gitlab-Event-UUID`, Pipeline Hooks,
and Merge Request Hooks of Mender's fix MRs (`gitlab_fixes.py`: they nudge the fix MR's workflow)."""

from __future__ import annotations

from starlette.datastructures import Headers

from runtime.settings import Settings
from starter import ci_ingest
from starter.intake.gitlab_fixes import MERGE_REQUEST_HOOK, fix_mr_event, fix_mr_pipeline
from starter.intake.model import Delivery, Intake, Rejection
from starter.intake.parsing import json_body
from starter.intake.pipeline import MAX_BODY_BYTES, reply_json
from starter.signatures import verify_token

PIPELINE_HOOK = "Pipeline Hook"


class GitLabSource:
    name = "gitlab"
    max_body_bytes = MAX_BODY_BYTES
    in_memory_events: frozenset[str] = frozenset()
    parse = staticmethod(json_body)
    reply = staticmethod(reply_json)

    def verify(self, headers: Headers, body: bytes, settings: Settings) -> Rejection | None:
        if not verify_token(settings.gitlab_webhook_tokens, headers.get("x-gitlab-token")):
            return Rejection(401, "missing or wrong X-Gitlab-Token")
        if not headers.get("x-gitlab-event") or not headers.get("x-gitlab-event-uuid"):
            return Rejection(400, "X-Gitlab-Event and X-Gitlab-Event-UUID are required")
        return None

    def delivery_id(self, headers: Headers) -> str | None:
        return headers.get("x-gitlab-event-uuid")

    def event(self, headers: Headers) -> str:
        return headers.get("x-gitlab-event", "")

    def translate(self, delivery: Delivery, settings: Settings) -> Intake:
        if delivery.event == MERGE_REQUEST_HOOK:
            return fix_mr_event(delivery.payload)
        if delivery.event != PIPELINE_HOOK:
            return Intake(ignored=f"event {delivery.event!r} is not handled")
        fix_mr = fix_mr_pipeline(delivery.payload, settings.config, delivery.received_at)
        if fix_mr is not None:
            return fix_mr
        run = ci_ingest.from_pipeline_hook(delivery.payload, settings.config, delivery.received_at)
        return Intake(ignored=run) if isinstance(run, str) else Intake(ci=run)


GITLAB = GitLabSource()
