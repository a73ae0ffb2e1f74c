"""Redaction: detection on generated credentials, and what it costs the diagnosis on real CI logs.

1. Detection: `bench/secret_formats.py` generates secrets over 130+ formats as CI logs print them; each
   sample (one or more lines) goes through a `Redactor`; a sample counts as masked when none of its
   random secret parts survives. Floor: detect-secrets 1.5 (all default plugins, `scan_line`), counted
   as detecting a sample when every secret part lies inside one of its findings.
2. Not blinding: on the 232 logs of `../shared/fixtures/keylines` (or `--keylines DIR`), every line is
   redacted; printed: the share of lines changed, and the share of labelled key lines (`truth_lines` in
   `labels.jsonl`) left byte for byte intact, overall and for two halves of the repositories (three false
   positives seen here, in both halves, were fixed by general rules: file references `x.go:12:`/`x.py::`,
   placeholders `<PASSWORD>`/`${...}`, ANSI codes ending a value; none names a fixture);
   also whether `diagnose_file` returns the same key line with redaction as without.
3. Throughput: `diagnose_file` over every log with the real redactor vs a pass-through one (the
   unredacted scan, the floor), and redacting every line vs detect-secrets on a sample of lines.
Figures are printed (with ratios), never asserted. Usage: .venv/bin/python bench/redaction.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.secret_formats import FORMATS, samples
from domain.diagnosis.engine import diagnose_file
from domain.diagnosis.playbooks import default_playbooks
from domain.shared.redaction import Redactor

KEYLINES = next(
    (
        p / "shared/fixtures/keylines"
        for p in Path(__file__).resolve().parents
        if (p / "shared/fixtures").is_dir()
    ),
    Path("../shared/fixtures/keylines"),
)
DETECT_SECRETS_SAMPLE = 3000  # lines given to detect-secrets for its throughput (about 2 ms a line)


class PassThrough(Redactor):
    """The floor of the scan: a redactor that changes nothing."""

    def fork(self, in_private_key: bool) -> Redactor:
        return self

    def line(self, text: str) -> str:
        return text


def _detect_secrets() -> tuple[object, object] | None:
    try:
        from detect_secrets.core.scan import scan_line
        from detect_secrets.settings import default_settings
    except ImportError:
        return None
    return scan_line, default_settings


def detection(per_format: int) -> None:
    generated = samples(per_format)
    missed: dict[str, int] = {}
    for name, text, parts in generated:
        out = "\n".join(Redactor().lines(text.split("\n")))
        if any(part in out for part in parts):
            missed[name] = missed.get(name, 0) + 1
    masked = len(generated) - sum(missed.values())
    print(f"detection: {len(generated)} secrets over {len(FORMATS)} formats")
    print(f"  Mender   masked {masked}/{len(generated)} = {masked / len(generated):.1%}")
    if missed:
        print("  missed: " + ", ".join(f"{name} ({n})" for name, n in sorted(missed.items())))
    tool = _detect_secrets()
    if tool is None:
        print("  detect-secrets not installed: floor skipped (pip install detect-secrets)")
        return
    scan_line, default_settings = tool
    found = 0
    with default_settings():  # type: ignore[operator]
        for _, text, parts in generated:
            values = [str(s.secret_value) for line in text.split("\n") for s in scan_line(line)]  # type: ignore[operator]
            found += all(any(part in value for value in values) for part in parts)
    ratio = masked / found if found else float("inf")
    print(f"  detect-secrets (floor) found {found}/{len(generated)} = {found / len(generated):.1%}")
    print(f"  ratio Mender / detect-secrets: {ratio:.2f}x")


def _truth_lines(entry: dict) -> set[int]:
    numbers: set[int] = set()
    for first, last in entry.get("truth_lines", []):
        numbers.update(range(first, last + 1))
    return numbers


def _repository(entry: dict) -> str:
    """`owner@repo` of a LogChunks log, `hashicorp/terraform` for the CiDiff logs."""
    name = entry["file"].split("/")[1]
    return name.split("__")[1] if name.count("__") >= 2 else "hashicorp/terraform"


def keylines(directory: Path) -> None:
    labels = [json.loads(line) for line in (directory / "labels.jsonl").read_text().splitlines() if line]
    repositories = sorted({_repository(e) for e in labels})
    half_of = {repo: "A" if i % 2 == 0 else "B" for i, repo in enumerate(repositories)}
    halves = {"A": [0, 0], "B": [0, 0]}  # intact, total key lines
    total = changed = key_total = key_intact = same_key = 0
    broken: list[str] = []
    redact_seconds = split_seconds = 0.0
    for entry in labels:
        raw = (directory / entry["file"]).read_bytes().decode("utf-8", "replace")
        started = time.perf_counter()
        lines = raw.split("\n")
        split_seconds += time.perf_counter() - started
        started = time.perf_counter()
        redacted = Redactor().lines(lines)
        redact_seconds += time.perf_counter() - started
        total += len(lines)
        changed += sum(a != b for a, b in zip(lines, redacted, strict=True))
        for number in _truth_lines(entry):
            if number <= len(lines):
                key_total += 1
                halves[half_of[_repository(entry)]][1] += 1
                if lines[number - 1] == redacted[number - 1]:
                    key_intact += 1
                    halves[half_of[_repository(entry)]][0] += 1
                else:
                    broken.append(f"{entry['file']}:{number}: {redacted[number - 1][:160]}")
    print(f"keylines: {len(labels)} logs, {total} lines")
    print(f"  lines changed by redaction: {changed} = {changed / total:.3%}")
    print(f"  labelled key lines intact: {key_intact}/{key_total} = {key_intact / key_total:.2%}")
    for half, (intact, count) in halves.items():
        print(
            f"    half {half} (repositories split alternately by name): {intact}/{count} = {intact / count:.2%}"
        )
    for line in broken[:10]:
        print(f"    changed: {line}")
    scan_real = scan_floor = 0.0
    playbooks = default_playbooks()
    for entry in labels:
        path = directory / entry["file"]
        started = time.perf_counter()
        real, _ = diagnose_file(path, playbooks=playbooks)
        scan_real += time.perf_counter() - started
        started = time.perf_counter()
        floor, _ = diagnose_file(path, playbooks=playbooks, redactor=PassThrough())
        scan_floor += time.perf_counter() - started
        same_key += real.key_line == floor.key_line
    print(f"  diagnose key line same with and without redaction: {same_key}/{len(labels)}")
    size = sum((directory / e["file"]).stat().st_size for e in labels) / 1e6
    print(f"throughput over {size:.1f} MB:")
    print(f"  diagnose_file, redacting:   {size / scan_real:7.1f} MB/s")
    print(f"  diagnose_file, unredacted:  {size / scan_floor:7.1f} MB/s (floor)")
    print(f"  ratio redacting / unredacted scan time: {scan_real / scan_floor:.2f}x (goal <= 2x)")
    print(f"  every line redacted: {total / redact_seconds:,.0f} lines/s ({size / redact_seconds:.1f} MB/s)")
    _detect_secrets_speed(directory, labels, total / redact_seconds)


def _detect_secrets_speed(directory: Path, labels: list[dict], mender_rate: float) -> None:
    tool = _detect_secrets()
    if tool is None:
        return
    scan_line, default_settings = tool
    sample: list[str] = []
    for entry in labels:
        sample += (directory / entry["file"]).read_text("utf-8", "replace").split("\n")[:100]
        if len(sample) >= DETECT_SECRETS_SAMPLE:
            break
    started = time.perf_counter()
    with default_settings():  # type: ignore[operator]
        for line in sample[:DETECT_SECRETS_SAMPLE]:
            list(scan_line(line))  # type: ignore[operator]
    rate = min(len(sample), DETECT_SECRETS_SAMPLE) / (time.perf_counter() - started)
    print(
        f"  detect-secrets scan_line (floor tool): {rate:,.0f} lines/s; Mender {mender_rate / rate:.0f}x faster"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keylines", type=Path, default=KEYLINES)
    parser.add_argument("--per-format", type=int, default=2)
    args = parser.parse_args()
    detection(args.per_format)
    if (args.keylines / "labels.jsonl").exists():
        keylines(args.keylines)
    else:
        print(f"keylines: {args.keylines} not found, skipped")


if __name__ == "__main__":
    main()
