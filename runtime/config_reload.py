"""Configuration without restart: `mender.yaml` is watched, and a valid change replaces the settings.

An invalid file is refused with every key path and reason, and the settings in force stay. Each
reload, applied or refused, is an audit row (`config.reload`). Running workflows read the new values at
their next decision (`config.repo_policy`, `config.ci_policy`); the worker also hands a changed
`breaker:` section to the running breaker (`on_change`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.config import MenderConfig
from domain.shared.audit import AuditEntry, AuditOutcome
from runtime.settings import ConfigError, Settings, get_settings, load_config, set_settings
from store import audit
from store.db import engine_for

log = logging.getLogger("mender.config")
RELOAD_ACTION = "config.reload"


@dataclass
class ReloadResult:
    """What a reload did: `applied` with the top-level sections that changed, or `error`."""

    applied: bool
    changed: list[str] = field(default_factory=list)
    error: str | None = None


def changed_sections(old: MenderConfig, new: MenderConfig) -> list[str]:
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    return sorted(key for key in after if before.get(key) != after.get(key))


def reload_settings(
    current: Settings, actor: str = "mender", source: str = "file", audited: bool = True
) -> tuple[ReloadResult, Settings]:
    """Read `mender.yaml` again: the settings to use from now on (new when valid and changed, else
    `current`) and what happened. Both outcomes are audited (unless not `audited`: a second process
    following the same file); the caller installs the settings."""
    path = current.env.mender_config
    try:
        if not path.exists():  # at start a missing file means defaults; mid-flight it means a mistake
            raise ConfigError(f"{path} does not exist")
        config = load_config(path)
    except ConfigError as exc:
        result, after = ReloadResult(applied=False, error=str(exc)), current
        log.error("configuration change refused, the previous one stays: %s", exc)
    else:
        result = ReloadResult(applied=True, changed=changed_sections(current.config, config))
        after = Settings(config, current.env) if result.changed else current
        if result.changed:
            log.info("configuration reloaded: %s changed", ", ".join(result.changed))
    if audited:
        _audit(current, result, actor, source)
    return result, after


def _audit(settings: Settings, result: ReloadResult, actor: str, source: str) -> None:
    if result.applied and not result.changed:
        return
    entry = AuditEntry(
        action=RELOAD_ACTION,
        actor=actor,
        outcome=AuditOutcome.SUCCEEDED if result.applied else AuditOutcome.REFUSED,
        target=str(settings.env.mender_config),
        source=source,
        details={"changed": result.changed},
        error=result.error,
        at=datetime.now(UTC),
    )
    try:
        audit.record(engine_for(settings.database_url), entry)
    except Exception as exc:  # the reload stands; only its audit row is missing
        log.error("config.reload not audited: %s", exc)


class ConfigWatcher:
    """Polls the file's modification time; reloads on change and calls `on_change` with old and new.
    The worker's reloads are audited; the starter follows the same file without a second row."""

    def __init__(
        self,
        interval: float = 2.0,
        on_change: Callable[[Settings, Settings], Awaitable[None]] | None = None,
        audited: bool = True,
    ) -> None:
        self.interval = interval
        self.on_change = on_change
        self.audited = audited
        self._stamp = self._mtime()

    def _mtime(self) -> float | None:
        path = get_settings().env.mender_config
        return path.stat().st_mtime if path.exists() else None

    async def check(self) -> ReloadResult | None:
        """Reload if the file changed since the last check; None when it did not."""
        stamp = self._mtime()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        before = get_settings()
        result, after = await asyncio.to_thread(reload_settings, before, audited=self.audited)
        if after is not before:
            set_settings(after)
            if self.on_change is not None:
                await self.on_change(before, after)
        return result

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # a watcher that dies silently would freeze the configuration
                log.exception("configuration watch failed; trying again")
