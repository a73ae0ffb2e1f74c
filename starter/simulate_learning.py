"""The `ci.learning` section of `mender simulate --report json`: what was learned from human fixes, how
each replay went, and the success history of every playbook used.

`replays[].route` is `review` when the learned fix was in review (its fix PR queued in the review queue,
or, without fix PR workflows, its plan approved in Slack), `auto` when it ran like a built-in playbook
(promoted after `ci.learning.promote_after` successful merges), `refused` when it was rejected or never
ran; `replays[].review` is the review queue item's status (pending, approved, ...) or null.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine

from contracts.fixpr import fixpr_workflow_id
from domain.ci_healing.playbook_history import LEARNED_PREFIX
from store import learned_fixes, playbook_history, review_queue
from store.ci_failures import CIFailureRecord, list_ci_failures

PULL = re.compile(r"/pull/(\d+)\b")


def _review_status(record: CIFailureRecord, statuses: dict[str, str]) -> str | None:
    """The review queue status of the run's fix PR (named in its attempts), or None when not queued."""
    for line in record.attempts:
        if (found := PULL.search(line)) is not None:
            status = statuses.get(fixpr_workflow_id(record.project, int(found[1])))
            if status is not None:
                return status
    return None


def learning_report(engine: Engine) -> dict[str, Any]:
    fixes = learned_fixes.all_fixes(engine)
    records = sorted(list_ci_failures(engine, limit=100_000), key=lambda r: (r.created_at, r.workflow_id))
    statuses = {i.workflow_id: i.status.value for i in review_queue.items(engine, None, 100_000)}
    replays = []
    for r in records:
        if not (r.playbook or "").startswith(LEARNED_PREFIX):
            continue
        review = _review_status(r, statuses)
        route = "review" if r.approver or review else "auto" if r.auto_actions else "refused"
        replays.append(
            {
                "workflow_id": r.workflow_id,
                "repo": r.project,
                "playbook": r.playbook,
                "route": route,
                "outcome": r.outcome,
                "review": review,
            }
        )
    return {
        "learned": [
            {
                "playbook": f.playbook_id,
                "version": f.version,
                "signature": f.signature.template,
                "ecosystem": f.signature.ecosystem.value,
                "edits": [e.describe() for e in f.edits],
                "learned_from": f.learned_from,
                "disabled": f.disabled,
            }
            for f in fixes
        ],
        "replays": replays,
        "playbooks": [
            s.model_dump(mode="json", exclude={"last_at"}) for s in playbook_history.all_stats(engine)
        ],
    }
