"""Start-up of the `mender` CLI against its floor: the bare interpreter, and the interpreter importing typer.

Runs each command `--runs` times in a child process (no mender.yaml, an empty working directory) and
prints the minimum wall and CPU time (user + system) of each, and the CPU ratio to the floors: `mender
--help` (builds every command), `mender doctor` (no repositories configured: it still loads PyGithub and
the store) and `mender diagnose` of a two-line log. The minimum is the figure to read on a shared machine;
the modules each command imports are checked by tests/unit/test_cli_startup.py, not here.
`make bench-cli-startup` (ARGS="--runs 10").
Usage: .venv/bin/python bench/cli_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OOM = "Step 4/9 : RUN npm run build\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n"


def timed(command: list[str], runs: int, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(min wall s, min CPU s) of `command` over `runs` runs; exits if it fails."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (the minimum counts)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mender-startup-"))
    (work / "build.log").write_text(OOM)
    env = {
        **os.environ,
        "MENDER_CONFIG": str(work / "absent.yaml"),
        "MENDER_DATABASE_URL": f"sqlite:///{work / 'mender.db'}",
    }
    python, mender = sys.executable, str(Path(sys.executable).with_name("mender"))
    floors = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import typer'": [python, "-c", "import typer"],
    }
    commands = {
        "mender --help": [mender, "--help"],
        "mender doctor": [mender, "doctor"],
        "mender diagnose build.log --json": [mender, "diagnose", "build.log", "--json"],
    }
    load = os.getloadavg()[0]
    print(f"{args.runs} runs each, minimum shown; load average {load:.1f}")
    floor_cpu = {}
    for name, command in floors.items():
        wall, cpu = timed(command, args.runs, work, env)
        floor_cpu[name] = cpu
        print(f"  floor, {name}: wall {wall:.2f} s, CPU {cpu:.2f} s")
    for name, command in commands.items():
        wall, cpu = timed(command, args.runs, work, env)
        ratios = ", ".join(f"{cpu / base:.1f}x {floor}" for floor, base in floor_cpu.items())
        print(f"{name}: wall {wall:.2f} s, CPU {cpu:.2f} s ({ratios})")


if __name__ == "__main__":
    main()
