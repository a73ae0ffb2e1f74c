"""The store and the process log keep no secret, whatever is handed to them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from domain.shared.audit import AuditEntry, AuditFilter
from runtime.logs import install_log_redaction
from store import audit
from store.db import engine_for

TOKEN = "ghp_" + "Sk9Lq2Zr7vBn4Tc0Hy6Wd3Ps9Ja5Ge1UfEw"


def test_audit_rows_are_stored_redacted(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'audit.db'}")
    entry = AuditEntry(
        action="api.call",
        actor="ops",
        outcome="4xx",
        target=f"push with {TOKEN}",
        details={"body": {"password": "hunter2hunter2", "list": [f"Bearer {TOKEN}"]}, "count": 3},
        error=f"GitHub said: bad credentials {TOKEN}",
    )
    assert audit.record(engine, entry)
    [row] = audit.query(engine, AuditFilter())
    assert TOKEN not in str(row.model_dump()) and "hunter2hunter2" not in str(row.details)
    assert row.details["count"] == 3 and row.details["body"]["password"] == "***"
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("audit.db*"))
    assert TOKEN.encode() not in raw


def test_log_records_and_tracebacks_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    log = logging.getLogger("mender.test")
    with caplog.at_level(logging.INFO):
        log.info("cloning with %s", f"https://bot:{TOKEN}@github.com/acme/api")
        try:
            raise RuntimeError(f"auth failed for token={TOKEN}")
        except RuntimeError:
            log.exception("push failed")
    assert "cloning with https://***@github.com/acme/api" in caplog.text
    assert "auth failed for token=***" in caplog.text
    assert TOKEN not in caplog.text
