"""Admin API keys created, rotated and revoked through the API: only `sha256:` hashes are stored.

Keys listed in `mender.yaml` (`api.keys`) are the bootstrap keys; revoking or rotating one leaves a
revoked row with its hash here, so the configured hash stops working without editing the file. A name
has at most one active key. Keys are 256-bit random values, so a plain SHA-256 is enough to store them
(no password-style slow hash is needed: there is nothing to brute-force).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine
from sqlmodel import Field, Session, SQLModel, col, select

from domain.shared.admin_config import ApiKey


class ApiKeyRecord(SQLModel, table=True):
    """One key's hash and role; `revoked_at` set once it may no longer be used."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=100)
    role: str = Field(max_length=20)
    hash: str = Field(unique=True, max_length=80)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=200)
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revoked_by: str | None = Field(default=None, max_length=200)


def active_keys(engine: Engine, configured: list[ApiKey]) -> list[ApiKey]:
    """Configured keys not revoked here, then the active keys created through the API."""
    with Session(engine) as session:
        rows = session.exec(select(ApiKeyRecord)).all()
    revoked = {row.hash for row in rows if row.revoked_at is not None}
    stored = [ApiKey(name=r.name, role=r.role, hash=r.hash) for r in rows if r.revoked_at is None]
    return [key for key in configured if key.hash not in revoked] + stored


def create(engine: Engine, key: ApiKey, actor: str) -> None:
    """Store a new active key (its name must not be active: see `active_keys`)."""
    row = ApiKeyRecord(**key.model_dump(), created_at=datetime.now(UTC), created_by=actor)
    with Session(engine) as session:
        session.add(row)
        session.commit()


def revoke(engine: Engine, key: ApiKey, actor: str) -> None:
    """Make `key` unusable from now on (a configured key gets a revoked row with its hash)."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        row = session.exec(select(ApiKeyRecord).where(col(ApiKeyRecord.hash) == key.hash)).first()
        if row is None:
            row = ApiKeyRecord(**key.model_dump(), created_at=now, created_by="mender.yaml")
        row.revoked_at, row.revoked_by = now, actor
        session.add(row)
        session.commit()


def rotate(engine: Engine, old: ApiKey, new_hash: str, actor: str) -> ApiKey:
    """Revoke `old` and store a key of the same name and role with `new_hash`, in one transaction."""
    now = datetime.now(UTC)
    new = ApiKey(name=old.name, role=old.role, hash=new_hash)
    with Session(engine) as session:
        row = session.exec(select(ApiKeyRecord).where(col(ApiKeyRecord.hash) == old.hash)).first()
        if row is None:
            row = ApiKeyRecord(**old.model_dump(), created_at=now, created_by="mender.yaml")
        row.revoked_at, row.revoked_by = now, actor
        session.add(row)
        session.add(ApiKeyRecord(**new.model_dump(), created_at=now, created_by=actor))
        session.commit()
    return new
