"""Idempotent insert statements, built once per dialect and shape and run with their values as parameters.

A statement built with `.values(...)` for every write coerces every value into the statement, and one on
an ORM class is annotated, which SQLAlchemy does not cache: each write compiled its SQL again (most of the
worker's store time). A statement on the table without values is compiled once; its rows are parameters.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.dialects import postgresql, sqlite

from domain.shared.times import utc

DIALECTS = {"sqlite": sqlite, "postgresql": postgresql}


def dialect_of(engine: Engine) -> str:
    """The engine's dialect name; NotImplementedError for one without upserts here."""
    if engine.dialect.name not in DIALECTS:
        raise NotImplementedError(f"upserts need SQLite or PostgreSQL, not {engine.dialect.name}")
    return engine.dialect.name


def insert(engine: Engine, table: Table | type[Any]) -> Any:
    """The dialect's INSERT for `table` or an ORM class (it has `on_conflict_do_nothing` / `_do_update`)."""
    return DIALECTS[dialect_of(engine)].insert(table)


def stored_time(engine: Engine, value: datetime) -> datetime:
    """`value` in UTC; naive for SQLite, whose DATETIME would drop the offset without converting."""
    value = utc(value)
    return value.replace(tzinfo=None) if engine.dialect.name == "sqlite" else value


@cache
def _ignoring(dialect: str, table: Table, unique: str, returning: str) -> Any:
    statement = DIALECTS[dialect].insert(table).on_conflict_do_nothing(index_elements=[unique])
    return statement.returning(table.c[returning])


def insert_ignoring(engine: Engine, table: Table, unique: str, returning: str) -> Any:
    """INSERT ... ON CONFLICT (`unique`) DO NOTHING RETURNING `returning`: a row back per row written
    (rowcount is not portable)."""
    return _ignoring(dialect_of(engine), table, unique, returning)


@cache
def _updating(dialect: str, table: Table, key: str, columns: tuple[str, ...], kept: tuple[str, ...]) -> Any:
    statement = DIALECTS[dialect].insert(table)
    changed = {name: statement.excluded[name] for name in columns if name != key and name not in kept}
    return statement.on_conflict_do_update(index_elements=[key], set_=changed)


def insert_updating(
    engine: Engine, table: Table, key: str, columns: tuple[str, ...], kept: tuple[str, ...] = ()
) -> Any:
    """INSERT ... ON CONFLICT (`key`) DO UPDATE every one of `columns` but `key` and `kept`."""
    return _updating(dialect_of(engine), table, key, columns, kept)
