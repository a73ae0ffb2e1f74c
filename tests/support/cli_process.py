"""The real `mender` entry point in a child process: its exit code and output, the modules it imported
(`-X importtime`) and its own peak RSS (read by the child at exit, so other children do not count)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The console script's `starter.cli:app`, plus the process's own peak RSS (KiB) on stderr at exit. Read
# from VmHWM of /proc/self/status (this program's own memory since exec), not getrusage's ru_maxrss: Linux
# carries the peak of the image exec replaced into it, i.e. the forking test process's (hundreds of MB).
LAUNCH = (
    "import atexit, re, sys\n"
    "def _peak():\n"
    "    peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
    "    print('max-rss-kib=' + peak, file=sys.stderr)\n"
    "atexit.register(_peak)\n"
    "from starter.cli import app\n"
    "sys.argv[0] = 'mender'\n"
    "app()\n"
)


@dataclass
class MenderRun:
    returncode: int
    stdout: str
    stderr: str
    modules: set[str]
    max_rss_mb: float


def run_mender(
    workdir: Path, *args: str, stdin: bytes = b"", timeout: float = 120.0, **env_vars: str
) -> MenderRun:
    """`mender ARGS...` with no mender.yaml (defaults, offline), run in `workdir` with `stdin` as input."""
    env = {**os.environ, "MENDER_CONFIG": str(workdir / "absent.yaml"), "NO_COLOR": "1", **env_vars}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", LAUNCH, *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=workdir,
        timeout=timeout,
        check=False,
    )
    stdout = result.stdout.decode("utf-8", "replace")
    lines = result.stderr.decode("utf-8", "replace").splitlines()
    modules = {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}
    rss = [int(line.split("=", 1)[1]) for line in lines if line.startswith("max-rss-kib=")]
    stderr = "\n".join(line for line in lines if not line.startswith(("import time:", "max-rss-kib=")))
    return MenderRun(result.returncode, stdout, stderr, modules, rss[-1] / 1024 if rss else -1.0)
