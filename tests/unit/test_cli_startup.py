"""CLI start-up stays lean: the real `mender` process imports no Temporal, HTTP client, database or web stack
for `mender diagnose` (nor for `mender --help`, which builds every command). Read from `-X importtime`,
not timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
LAUNCH = "import sys; from starter.cli import app; sys.argv[0] = 'mender'; app()"


def mender(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the `mender` entry point in a child process; its result and every module it imported."""
    env = {**os.environ, "MENDER_CONFIG": str(tmp_path / "absent.yaml"), "NO_COLOR": "1"}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", LAUNCH, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return result, modules


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


def test_diagnose_imports_the_diagnosis_and_nothing_heavy(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(OOM)
    result, modules = mender(tmp_path, "diagnose", str(log), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["action"] == "increase_memory"
    assert {"domain.diagnosis.engine", "runtime.settings", "starter.diagnose"} <= modules
    assert heavy_in(modules) == []


def test_help_builds_every_command_without_importing_their_dependencies(tmp_path: Path) -> None:
    result, modules = mender(tmp_path, "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "diagnose" in result.stdout and "doctor" in result.stdout
    assert heavy_in(modules) == []
