"""Log scan throughput and memory of the diagnosis engine, against `grep -E -c` with the same patterns.

Generates (or takes with `--log`) a large CI log: `--mb` megabytes of realistic passing-build noise
(GitHub Actions timestamps, pip / npm / maven / cargo / pytest / docker output) with a failure near the
end; beyond 200 MB the noise repeats (`--mb 1000`: the 1 GB figure). Times `diagnose_file` on it (prefilter, redaction, playbook match, distillation) and measures its
peak memory (tracemalloc, in a second run, and the process's max RSS), then times `grep -E -c` over the
same file with the playbook patterns translated to POSIX ERE: named and non-capturing groups become plain
groups, `\\d \\s \\S \\w` become classes, lazy quantifiers greedy; patterns with look-arounds, scoped
flags or possessive quantifiers cannot be expressed and are skipped (listed). `(?i)` patterns go to a
second `grep -i` run; `exclude` / `context` are not applied by grep. Figures are printed, never asserted.
Each figure is wall time and CPU time (user + system): on a shared, loaded machine the CPU ratio is the
steadier one. Also times the whole CLI, `mender diagnose FILE --json`, in a child process (start-up
included) with its max RSS. `make bench-scan` (ARGS="--mb 200").
Usage: .venv/bin/python bench/diagnose_scan.py [--mb 200] [--log FILE] [--keep] [--no-cli]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.diagnosis.engine import diagnose_file
from domain.diagnosis.playbooks import Playbooks, default_playbooks

PACKAGES = [
    "requests",
    "numpy",
    "pandas",
    "flask",
    "django",
    "boto3",
    "pydantic",
    "rich",
    "click",
    "urllib3",
    "attrs",
    "six",
    "packaging",
]
CRATES = [
    "serde",
    "tokio",
    "hyper",
    "rand",
    "regex",
    "clap",
    "anyhow",
    "log",
    "bytes",
    "futures",
    "syn",
    "quote",
    "itertools",
]
MODULES = [
    "core",
    "api",
    "web",
    "cli",
    "util",
    "auth",
    "billing",
    "search",
    "storage",
    "worker",
    "scheduler",
    "metrics",
]


def noise_line(rng: random.Random, i: int) -> str:
    ts = f"2024-05-01T{(i // 3_600_000) % 24:02d}:{(i // 60_000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 10_000_000:07d}Z"
    kind = rng.randrange(10)
    pkg, crate, mod = rng.choice(PACKAGES), rng.choice(CRATES), rng.choice(MODULES)
    version = f"{rng.randrange(1, 9)}.{rng.randrange(30)}.{rng.randrange(20)}"
    if kind == 0:
        return f"{ts} Collecting {pkg}=={version} (from -r requirements.txt (line {rng.randrange(1, 40)}))"
    if kind == 1:
        return f"{ts}   Downloading {pkg}-{version}-py3-none-any.whl ({rng.randrange(10, 900)} kB)"
    if kind == 2:
        return f"{ts}    Compiling {crate} v{version}"
    if kind == 3:
        return f"{ts} tests/{mod}/test_{crate}.py::test_{pkg}_{i % 97} PASSED [{i % 100:3d}%]"
    if kind == 4:
        return f"{ts} [INFO] Building {mod}-{version}.jar ({rng.randrange(100, 9000)} classes)"
    if kind == 5:
        return f"{ts} ok  \tgithub.com/acme/{mod}/{crate}\t{rng.random():.3f}s\tcoverage: {rng.randrange(40, 99)}.0% of statements"
    if kind == 6:
        return f"{ts} #{rng.randrange(4, 30)} sha256:{rng.getrandbits(128):032x} {rng.randrange(1, 90)}MB / {rng.randrange(90, 200)}MB {rng.random():.1f}s"
    if kind == 7:
        return f"{ts} npm WARN deprecated {crate}@{version}: this library is no longer supported"
    if kind == 8:
        return f"{ts} added {rng.randrange(100, 1500)} packages, and audited {rng.randrange(1500, 2000)} packages in {rng.randrange(2, 60)}s"
    return f"{ts} ##[debug]Evaluating condition for step: 'Run {mod} {crate}' ({rng.randrange(1000)})"


FAILURE = [
    "##[group]Run python -m pytest tests/",
    "E   ModuleNotFoundError: No module named 'yaml'",
    "FAILED tests/test_config.py::test_load - ModuleNotFoundError: No module named 'yaml'",
    "##[error]Process completed with exit code 1.",
]


UNIQUE_MB = 200  # beyond this the noise repeats: generating it is slower than scanning it


def generate(path: Path, megabytes: int, unique_mb: int = UNIQUE_MB) -> None:
    """`megabytes` of noise with the failure in its last 200 kB; past `unique_mb` the noise written so
    far is copied again (whole lines), so a 1 GB log takes a minute, not half an hour, to write."""
    rng, target, written, i = random.Random(42), megabytes * 1_000_000, 0, 0
    failure = ("\n".join(FAILURE) + "\n").encode()
    with path.open("w+b") as out:

        def write(data: bytes) -> None:
            nonlocal written, failure
            out.write(data)
            written += len(data)
            if target - written < 200_000 and failure:
                out.write(failure)
                failure = b""

        while written < min(target, unique_mb * 1_000_000):
            write(("\n".join(noise_line(rng, i + k) for k in range(5000)) + "\n").encode())
            i += 5000
        unique, offset = written, 0
        out.flush()
        while written < target:
            block = os.pread(out.fileno(), min(1 << 23, unique - offset), offset)
            block = block[: block.rfind(b"\n") + 1]
            offset = 0 if offset + len(block) >= unique else offset + len(block)
            write(block)


_CLASSES = {"d": "[0-9]", "s": "[[:space:]]", "S": "[^[:space:]]", "w": "[[:alnum:]_]", "W": "[^[:alnum:]_]"}
_IN_CLASS = {"d": "0-9", "s": "[:space:]", "w": "[:alnum:]_"}
_UNSUPPORTED = re.compile(r"\(\?[=!<>]|\(\?-?[a-z]+:|\(\?-|[*+?}]\+|\\[AZz]")


def to_ere(pattern: str) -> tuple[str, bool] | None:
    """(ERE, case-insensitive) for a Python pattern, or None if grep cannot express it."""
    insensitive = pattern.startswith("(?i)")
    pattern = pattern.removeprefix("(?i)")
    if _UNSUPPORTED.search(pattern):
        return None
    out, i, in_class = [], 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if in_class and nxt in "DSW":
                return None  # a negated class inside a bracket expression
            if in_class:
                out.append(_IN_CLASS.get(nxt, nxt))
            elif nxt in _CLASSES:
                out.append(_CLASSES[nxt])
            else:
                out.append(char + nxt)
            i += 2
            continue
        if in_class:
            in_class = char != "]" or out[-1] in ("[", "[^")
        elif char == "[":
            in_class = True
            if pattern.startswith("[^", i):
                out.append("[^")
                i += 2
                continue
        elif pattern.startswith("(?P<", i):
            i = pattern.index(">", i) + 1
            out.append("(")
            continue
        elif pattern.startswith("(?:", i):
            i += 3
            out.append("(")
            continue
        elif char == "?" and out and out[-1] in ("*", "+", "?", "}"):
            i += 1  # lazy quantifier: the same lines match
            continue
        out.append(char)
        i += 1
    return "".join(out), insensitive


def grep_time(path: Path, patterns: list[str], insensitive: bool, env: dict[str, str] | None) -> float:
    return grep_times(path, patterns, insensitive, env)[0]


def grep_times(
    path: Path, patterns: list[str], insensitive: bool, env: dict[str, str] | None
) -> tuple[float, float]:
    """(wall s, CPU s) of `grep -E -c` of `patterns` over `path`."""
    if not patterns:
        return 0.0, 0.0
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(patterns) + "\n")
    command = ["grep", "-E", "-c", *(["-i"] if insensitive else []), "-f", handle.name, str(path)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode > 1:
        raise SystemExit(f"grep failed: {result.stderr.strip()}")
    Path(handle.name).unlink()
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cli_times(path: Path) -> tuple[float, float, float, str]:
    """(wall s, CPU s, max RSS MB, JSON answer) of `mender diagnose FILE --json` in a child process."""
    mender = Path(sys.executable).with_name("mender")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [str(mender), "diagnose", str(path), "--json"], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"mender diagnose failed: {result.stderr.strip()[:500]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, after.ru_maxrss / 1024, result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=200, help="size of the generated log")
    parser.add_argument("--no-cli", action="store_true", help="skip timing the CLI in a child process")
    parser.add_argument("--log", type=Path, help="scan this log instead of generating one")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mender-bench-"))
    path = args.log or tmp / "ci.log"
    if args.log is None:
        print(f"generating {args.mb} MB of CI log noise with a failure near the end ...", flush=True)
        generate(path, args.mb)
    size_mb = path.stat().st_size / 1e6
    playbooks: Playbooks = default_playbooks()

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu_started = time.perf_counter(), time.process_time()
    diagnosis, distilled = diagnose_file(path, playbooks=playbooks)
    scan_s, scan_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    diagnose_file(path, playbooks=playbooks)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    translated = {rule.id: to_ere(rule.pattern) for rule in playbooks.rules}
    skipped = sorted(rule_id for rule_id, ere in translated.items() if ere is None)
    sensitive = [ere for ere, flag in filter(None, translated.values()) if not flag]
    insensitive = [ere for ere, flag in filter(None, translated.values()) if flag]
    cli = None if args.no_cli else cli_times(path)
    floors = {}
    for name, env in (("default locale", None), ("LC_ALL=C", {"LC_ALL": "C", "PATH": "/usr/bin:/bin"})):
        first, second = grep_times(path, sensitive, False, env), grep_times(path, insensitive, True, env)
        floors[name] = (first[0] + second[0], first[1] + second[1])

    locale = os.environ.get("LC_ALL") or os.environ.get("LC_CTYPE") or os.environ.get("LANG") or "unset"
    print(f"log: {size_mb:.1f} MB, {distilled.total_lines} lines; default locale here: LANG/LC_* = {locale}")
    print(f"diagnosis: {diagnosis.category.value} / {diagnosis.action.value} via {diagnosis.playbook}")
    print(f"  key line {distilled.key_line_number}: {diagnosis.key_line}")
    print(f"  peak traced memory {peak / 1e6:.1f} MB; max RSS {rss_before:.0f} -> {rss_after:.0f} MB")
    print(
        f"grep -E -c, {len(sensitive) + len(insensitive)} of {len(playbooks)} patterns ({len(skipped)} skipped):"
    )
    rows = [("diagnose_file (engine)", scan_s, scan_cpu)]
    if cli is not None:
        rows.append(
            (f"mender diagnose --json (CLI, start-up incl., max RSS {cli[2]:.0f} MB)", cli[0], cli[1])
        )
    for name, (wall, cpu) in floors.items():
        print(f"  floor, {name}: wall {wall:.2f} s, CPU {cpu:.2f} s = {size_mb / cpu:.3g} MB/s of CPU")
    for label, wall, cpu in rows:
        print(f"{label}: wall {wall:.2f} s, CPU {cpu:.2f} s = {size_mb / cpu:.3g} MB/s of CPU")
        for name, (grep_wall, grep_cpu) in floors.items():
            print(f"  / grep ({name}): wall {wall / grep_wall:.2f}x, CPU {cpu / grep_cpu:.2f}x")
    if cli is not None:
        print(f"  CLI answer: {cli[3][:200]}")
    print("  skipped (look-arounds, scoped flags):", ", ".join(skipped))
    if args.log is None and not args.keep:
        path.unlink()
        tmp.rmdir()
    elif args.log is None:
        print(f"log kept at {path}")


if __name__ == "__main__":
    main()
