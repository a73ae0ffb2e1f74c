"""GitHub as a webhook source: `X-Hub-Signature-256`, `X-GitHub-Delivery`, `X-GitHub-Event`.

PR events and comment commands come from `starter/github_events.py`; `workflow_run` from
`starter/ci_ingest.py`. A finished check or workflow run, or an approval, of one of Mender's fix PRs
nudges that fix PR's workflow (`fixpr/<repo>/<n>`) to look again at once instead of at its next poll.
Only a check suite that names no PR (a fork's) costs a store read, to find the PR by its head.
"""

from __future__ import annotations

from starlette.datastructures import Headers

from contracts.fixpr import fixpr_workflow_id
from runtime.settings import Settings
from starter import ci_ingest, github_events, installations
from starter.intake.model import Delivery, Intake, PRCommandItem, Rejection
from starter.intake.parsing import json_body
from starter.intake.pipeline import MAX_BODY_BYTES, reply_json
from starter.signatures import verify_github_signature
from store import repository
from store.db import engine_for

CI_EVENTS = {"workflow_run"}


class GitHubSource:
    name = "github"
    max_body_bytes = MAX_BODY_BYTES
    in_memory_events = frozenset({"pull_request"})  # (the head lookup serves check and status events)
    parse = staticmethod(json_body)
    reply = staticmethod(reply_json)

    def verify(self, headers: Headers, body: bytes, settings: Settings) -> Rejection | None:
        if not verify_github_signature(settings.webhook_secrets, body, headers.get("x-hub-signature-256")):
            return Rejection(401, "missing or bad X-Hub-Signature-256")
        if not headers.get("x-github-event") or not headers.get("x-github-delivery"):
            return Rejection(400, "X-GitHub-Event and X-GitHub-Delivery are required")
        return None

    def delivery_id(self, headers: Headers) -> str | None:
        return headers.get("x-github-delivery")

    def event(self, headers: Headers) -> str:
        return headers.get("x-github-event", "")

    def translate(self, delivery: Delivery, settings: Settings) -> Intake:
        config = settings.config
        if delivery.event == "ping":
            return Intake(answer_only="pong")
        if delivery.event in installations.EVENTS:  # the GitHub App's repositories
            return Intake(
                applied=[installations.apply(settings.database_url, delivery.event, delivery.payload)]
            )
        if delivery.event in CI_EVENTS:
            run = ci_ingest.from_workflow_run(delivery.payload, config, delivery.received_at)
            fixes = ci_ingest.fix_prs_of_workflow_run(delivery.payload)
            nudges = [fixpr_workflow_id(run_repo(delivery.payload), n) for n in fixes]
            if isinstance(run, str):
                return Intake(nudges=nudges) if nudges else Intake(ignored=run)
            return Intake(ci=run, nudges=nudges)
        translation = github_events.translate(
            delivery.event,
            delivery.payload,
            config,
            delivery.received_at,
            lambda repo, sha: repository.find_pr_by_head(engine_for(settings.database_url), repo, sha),
        )
        return Intake(
            events=list(translation.events),
            commands=[PRCommandItem(pr=c.pr, request=c.request) for c in translation.commands],
            nudges=[fixpr_workflow_id(pr.repo, pr.number) for pr in translation.fix_prs],
            ignored=translation.ignored or "",
        )


def run_repo(payload: dict) -> str:
    """The repository of a validated `workflow_run` payload."""
    return str(payload["repository"]["full_name"])


GITHUB = GitHubSource()
