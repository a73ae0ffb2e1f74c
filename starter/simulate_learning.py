"""The `ci.learning` section of `mender simulate --report json`: what was learned from human fixes, how
each replay went, and the success history of every playbook used.

`replays[].route` is `review` when a human approved the learned fix before its PR was opened (a learned
fix in review), `auto` when it ran like a built-in playbook (promoted after `ci.learning.promote_after`
successes), `refused` when it was rejected or never ran.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from domain.ci_healing.playbook_history import LEARNED_PREFIX
from store import learned_fixes, playbook_history
from store.ci_failures import list_ci_failures


def learning_report(engine: Engine) -> dict[str, Any]:
    fixes = learned_fixes.all_fixes(engine)
    records = sorted(list_ci_failures(engine, limit=100_000), key=lambda r: (r.created_at, r.workflow_id))
    replays = [
        {
            "workflow_id": r.workflow_id,
            "repo": r.project,
            "playbook": r.playbook,
            "route": "review" if r.approver else "auto" if r.auto_actions else "refused",
            "outcome": r.outcome,
        }
        for r in records
        if (r.playbook or "").startswith(LEARNED_PREFIX)
    ]
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
