"""CLI start-up stays lean: the real `mender` process imports no Temporal, HTTP client, database or web stack
for `mender diagnose` (nor for `mender --help`, which builds every command). Read from `-X importtime`,
not timed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli_process import run_mender

# Packages a command imports in its body when it needs them; never at start-up.
HEAVY = {
    "temporalio",
    "github",
    "gitlab",
    "slack_sdk",
    "openai",
    "httpx",
    "sqlmodel",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "store",
    "workflows",
    "worker",
    "simulators",
}
OOM = "Step 4/9 : RUN npm run build\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n"


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


def test_diagnose_imports_the_diagnosis_and_nothing_heavy(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(OOM)
    run = run_mender(tmp_path, "diagnose", str(log), "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout)["action"] == "increase_memory"
    assert {"domain.diagnosis.engine", "runtime.settings", "starter.diagnose"} <= run.modules
    assert heavy_in(run.modules) == []


def test_help_builds_every_command_without_importing_their_dependencies(tmp_path: Path) -> None:
    run = run_mender(tmp_path, "--help")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "diagnose" in run.stdout and "doctor" in run.stdout
    assert heavy_in(run.modules) == []
