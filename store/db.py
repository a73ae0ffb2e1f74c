"""Engine factory: one engine per URL, tables created on first use."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import SQLModel, create_engine

from store import (  # noqa: F401  (registers the tables)
    api_keys,
    audit,
    flaky_tests,
    installations,
    learned_fixes,
    models,
    playbook_history,
    review_queue,
    source_backoffs,
)

POOL_SIZE, POOL_OVERFLOW = 8, 24  # per process: up to 32 server connections (PostgreSQL's max_connections)
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    """The engine for `url`, with its tables created. SQLite files get WAL and a busy timeout."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create(url)
        return engine


def _create(url: str) -> Engine:
    is_sqlite = url.startswith("sqlite")
    if is_sqlite and url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if not is_sqlite:  # a connection for each of the worker's activity threads (`worker.py`), not 5 + 10
        engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    try:
        SQLModel.metadata.create_all(engine)
    except (OperationalError, ProgrammingError):
        # Another process (worker and starter share the file) created the tables at the same moment.
        SQLModel.metadata.create_all(engine)
    return engine
