"""What `mender playbooks` and `GET /api/playbooks` show: every playbook with its success history, and
the learned fixes with their stage (in review, or promoted to run like a built-in playbook)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Engine

from activities.ci_logs import playbooks_for
from domain.ci_healing.config import CIConfig
from domain.ci_healing.learned import LearnedFix, healed_replays, promoted, successes
from domain.ci_healing.learned_apply import export_yaml
from domain.ci_healing.playbook_history import PlaybookStats, stats
from store import learned_fixes, playbook_history


class PlaybookView(PlaybookStats):
    """One playbook: its counts and rate, and whether it may run without approval."""

    category: str | None = None
    action: str | None = None
    auto_fix: bool = False
    disabled: bool = False


class LearnedView(BaseModel):
    """One version of a learned fix."""

    id: int
    playbook: str
    version: int
    signature: str
    pattern: str
    category: str
    ecosystem: str
    edits: list[str]
    successes: int  # the human's fix plus merged replays not reverted (verified ones without fix PRs)
    promoted: bool  # runs like a built-in playbook (auto-fix on)
    promote_after: int = 3  # successes needed to be promoted (`ci.learning.promote_after`)
    disabled: bool
    learned_from: str
    source_url: str
    created_at: datetime | None = None


def playbooks(engine: Engine, config: CIConfig) -> list[PlaybookView]:
    """Built-in rules and learned fixes, each with its history; the most attempted first."""
    history = {s.playbook: s for s in playbook_history.all_stats(engine, config.learning.min_samples)}
    rows = []
    for rule in playbooks_for(config).rules:
        row = history.pop(rule.id, None) or stats(rule.id, {}, config.learning.min_samples)
        extra = {"category": rule.category.value, "action": rule.action.value, "auto_fix": rule.auto_fix}
        rows.append(PlaybookView(**row.model_dump(), **extra))
    for fix in learned_fixes.all_fixes(engine):
        row = history.pop(fix.playbook_id, None) or stats(fix.playbook_id, {}, config.learning.min_samples)
        healed = healed_replays(row, config.fix_prs.enabled)
        is_promoted = promoted(healed, row.reverted, config.learning.promote_after)
        extra = {"category": fix.signature.category.value, "action": fix.action.value}
        rows.append(PlaybookView(**row.model_dump(), **extra, auto_fix=is_promoted, disabled=fix.disabled))
    rows += [PlaybookView(**row.model_dump()) for row in history.values()]  # rules since removed
    return sorted(rows, key=lambda r: (-r.attempts, r.playbook))


def _learned(engine: Engine, fix: LearnedFix, config: CIConfig) -> LearnedView:
    row = playbook_history.stats_for(engine, fix.playbook_id, config.learning.min_samples)
    healed = healed_replays(row, config.fix_prs.enabled)
    return LearnedView(
        id=fix.id or 0,
        playbook=fix.playbook_id,
        version=fix.version,
        signature=fix.signature.template,
        pattern=fix.signature.pattern,
        category=fix.signature.category.value,
        ecosystem=fix.signature.ecosystem.value,
        edits=[e.describe() for e in fix.edits],
        successes=successes(healed, row.reverted),
        promoted=promoted(healed, row.reverted, config.learning.promote_after),
        promote_after=config.learning.promote_after,
        disabled=fix.disabled,
        learned_from=fix.learned_from,
        source_url=fix.source_url,
        created_at=fix.created_at,
    )


def learned(engine: Engine, config: CIConfig) -> list[LearnedView]:
    """Every learned fix, oldest first."""
    return [_learned(engine, fix, config) for fix in learned_fixes.all_fixes(engine)]


def exported(engine: Engine, config: CIConfig, fix_id: int) -> str | None:
    """The learned fix as playbook YAML; None when there is no such fix."""
    fix = learned_fixes.get(engine, fix_id)
    if fix is None:
        return None
    view = _learned(engine, fix, config)
    return export_yaml(fix, config.learning.promote_after, view.promoted)


def disable(engine: Engine, config: CIConfig, fix_id: int) -> LearnedView | None:
    """Disable one learned fix (it is never matched again); None when there is no such fix."""
    fix = learned_fixes.set_disabled(engine, fix_id, True)
    return _learned(engine, fix, config) if fix else None
