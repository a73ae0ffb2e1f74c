"""What the CI activities read from the playbook history and the learned fixes (best effort: a store that
cannot answer leaves the analysis as the playbooks made it, with a warning)."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from contracts.ci import CIRecordUpdate, RunAnalysis
from domain.ci_healing.config import LearningConfig
from domain.ci_healing.learned import (
    LearnedFix,
    healed_replays,
    learned_diagnosis,
    match_learned,
    progress,
    promoted,
)
from domain.ci_healing.playbook_history import LEARNED_PREFIX, EventKind, PlaybookEvent, outcome_events
from domain.shared.audit import AuditAction, AuditEntry
from runtime.settings import get_settings
from store import learned_fixes, playbook_history
from store.db import engine_for

log = logging.getLogger(__name__)


def _settings() -> tuple[Engine, LearningConfig]:
    settings = get_settings()
    return engine_for(settings.database_url), settings.config.ci.learning


def _review_queue() -> bool:
    """Whether learned fixes in review go to the review queue (fix PR workflows on): merges count."""
    return get_settings().config.ci.fix_prs.enabled


def is_promoted(engine: Engine, fix: LearnedFix, config: LearningConfig) -> bool:
    """True once the learned fix has been merged successfully enough times to run like a built-in one."""
    return _promotion(engine, fix, config)[0]


def _promotion(engine: Engine, fix: LearnedFix, config: LearningConfig) -> tuple[bool, str]:
    row = playbook_history.stats_for(engine, fix.playbook_id, config.min_samples)
    queue = _review_queue()
    is_promoted = promoted(healed_replays(row, queue), row.reverted, config.promote_after)
    return is_promoted, progress(row, queue, config.promote_after)


def with_history(analysis: RunAnalysis) -> RunAnalysis:
    """`analysis` with the learned fix its key line matches (if any) and its playbook's success rate."""
    engine, config = _settings()
    try:
        diagnosis = analysis.diagnosis
        fix = match_learned(diagnosis, learned_fixes.all_fixes(engine, include_disabled=False))
        if fix is not None:
            diagnosis = learned_diagnosis(diagnosis, fix, *_promotion(engine, fix, config))
        rate = playbook_prior(diagnosis.playbook)
        return analysis.model_copy(update={"diagnosis": diagnosis, "playbook_success_rate": rate})
    except SQLAlchemyError as exc:
        log.warning("playbook history not read (%s): the analysis stands as diagnosed", type(exc).__name__)
        return analysis


def playbook_prior(playbook: str | None) -> float | None:
    """The playbook's measured success rate: the prior of a fix PR's confidence (it can only lower it);
    None without a playbook, below `ci.learning.min_samples` attempts, or when the store cannot answer."""
    if not playbook:
        return None
    engine, config = _settings()
    try:
        return playbook_history.stats_for(engine, playbook, config.min_samples).success_rate
    except SQLAlchemyError as exc:
        log.warning("playbook history not read (%s): no prior", type(exc).__name__)
        return None


def record_revert(playbook: str | None, workflow_id: str, project: str) -> None:
    """A merged fix of `playbook` was reverted: its success rate drops (best effort, once per fix)."""
    if not playbook:
        return
    engine, _ = _settings()
    try:
        playbook_history.record_revert(engine, playbook, workflow_id, project)
    except SQLAlchemyError as exc:
        log.warning("revert of %s not recorded in the playbook history (%s)", playbook, type(exc).__name__)


def learned_fix_for(playbook: str | None) -> LearnedFix | None:
    """The learned fix a diagnosis's playbook id names (`learned.<id>`), if it is one and still enabled."""
    if not playbook or not playbook.startswith(LEARNED_PREFIX):
        return None
    engine, _ = _settings()
    try:
        fix = learned_fixes.get(engine, int(playbook.removeprefix(LEARNED_PREFIX)))
    except ValueError:
        return None
    return fix if fix is not None and not fix.disabled else None


def record_outcome(engine: Engine, update: CIRecordUpdate) -> int:
    """The playbook events of a run's recorded status (a store-side projection of the CI outcome)."""
    status = update.status
    if status.diagnosis is None:
        return 0
    events = outcome_events(
        status.run.workflow_id,
        status.run.project,
        status.diagnosis.playbook,
        status.outcome,
        attempted=bool(status.attempts),
    )
    return playbook_history.record(engine, events)


def record_fix_pr_merge(engine: Engine, entry: AuditEntry) -> bool:
    """A `ci.fix_pr` audit row `merged` (written by the fix PR workflow once its merge went through) is a
    `merged` event of the fix's playbook: learned fixes are promoted by merges. True when newly recorded."""
    playbook = entry.details.get("playbook")
    if entry.action != AuditAction.CI_FIX_PR or entry.outcome != "merged" or not playbook or not entry.target:
        return False
    event = PlaybookEvent(
        playbook=str(playbook),
        kind=EventKind.MERGED,
        workflow_id=entry.target or "",
        project=entry.repository or "",
    )
    return playbook_history.record(engine, [event]) == 1
