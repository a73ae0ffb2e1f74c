"""Repositories the GitHub App is installed on, kept from `installation` webhooks (the reconciler sweeps
them besides `repositories:` in mender.yaml)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine, delete
from sqlmodel import Field, Session, SQLModel, col, select


class InstalledRepositoryRecord(SQLModel, table=True):
    __tablename__ = "installed_repository"

    repo: str = Field(primary_key=True, max_length=250)  # owner/name
    installation_id: int = Field(index=True)
    added_at: datetime


def add(engine: Engine, installation_id: int, repos: Iterable[str]) -> int:
    """Record `repos` as installed (idempotent); returns how many were new."""
    added = 0
    with Session(engine) as session:
        for repo in repos:
            if session.get(InstalledRepositoryRecord, repo) is None:
                session.add(
                    InstalledRepositoryRecord(
                        repo=repo, installation_id=installation_id, added_at=datetime.now(UTC)
                    )
                )
                added += 1
        session.commit()
    return added


def remove(engine: Engine, repos: Iterable[str]) -> int:
    with Session(engine) as session:
        result = session.exec(
            delete(InstalledRepositoryRecord).where(col(InstalledRepositoryRecord.repo).in_(list(repos)))
        )
        session.commit()
        return max(result.rowcount or 0, 0)


def remove_installation(engine: Engine, installation_id: int) -> list[str]:
    """Forget every repository of an uninstalled App installation; returns them."""
    with Session(engine) as session:
        gone = list(
            session.exec(
                select(InstalledRepositoryRecord.repo).where(
                    InstalledRepositoryRecord.installation_id == installation_id
                )
            )
        )
        session.exec(
            delete(InstalledRepositoryRecord).where(
                InstalledRepositoryRecord.installation_id == installation_id
            )
        )
        session.commit()
    return gone


def installed(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(InstalledRepositoryRecord.repo)))
