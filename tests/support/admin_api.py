"""Admin API test helpers: settings with an admin and a read key, and a starter served on a real port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from temporalio.client import Client

from runtime.dispatch import EventDispatcher
from runtime.settings import Settings
from starter.app import create_app
from starter.auth import generate_key, hash_key
from tests.support.running_stack import borrowed_hosts
from tests.support.stack import make_settings

ADMIN_KEY = generate_key()
READ_KEY = generate_key()
UNKNOWN_KEY = generate_key()
KEYS = [
    {"name": "ops-admin", "role": "admin", "hash": hash_key(ADMIN_KEY)},
    {"name": "dashboard", "role": "read", "hash": hash_key(READ_KEY)},
]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def admin_settings(tmp_path: Path, **config: Any) -> Settings:
    """Test settings (see `make_settings`) whose `api.keys` hold ADMIN_KEY and READ_KEY."""
    return make_settings(tmp_path, api={"keys": KEYS}, **config)


@contextmanager
def served_starter(
    settings: Settings, client: Client, queue: str, address: str | None = None
) -> Iterator[str]:
    """The starter app on a real port, dispatching to `queue` on the dev server (or `address`)."""
    target = address or client.service_client.config.target_host
    app = create_app(settings, EventDispatcher(target, client.namespace, queue))
    with borrowed_hosts(1) as (host,), host.serving_blocking(app):
        yield host.url
