"""A real PostgreSQL server for the store tests: `MENDER_TEST_POSTGRES_URL`, or a private cluster started
from Debian's `postgresql` package (`.ci/run` installs it) in a temporary directory, stopped afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.serving import free_port

NOT_AVAILABLE = (
    "PostgreSQL is not installed (Debian package `postgresql`): the store's PostgreSQL tests cannot run"
)


def _bindir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """The SQLAlchemy URL of a running PostgreSQL (None when none can be had)."""
    given = os.environ.get("MENDER_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = _bindir()
    if bindir is None:
        yield None
        return
    data = Path(tempfile.mkdtemp(prefix="mender-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(data, user="postgres", group="postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data / "db"), "-U", "mender", "--auth=trust", "-E", "UTF8")
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data / "db"),
            "-o",
            options,
            "-l",
            str(data / "log"),
            "-w",
            "start",
        )
    except (subprocess.SubprocessError, OSError):
        shutil.rmtree(data, ignore_errors=True)
        yield None
        return
    try:
        yield f"postgresql+psycopg://mender@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(data, ignore_errors=True)
