"""Datetimes made aware: SQLite and PyGithub hand back naive ones, which are UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    """`value` with its own zone; a naive datetime is taken to be UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def aware_or_none(value: datetime | None) -> datetime | None:
    """`aware(value)`, or None for None."""
    return None if value is None else aware(value)


def utc(value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is taken to be UTC already."""
    return aware(value).astimezone(UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    """`utc(value)`, or None for None."""
    return None if value is None else utc(value)
