"""Diagnosis accuracy on logs split by repository, against two naive baselines, plus scan speed and memory.

For each corpus (`bench/corpora.py`: keylines/logchunks, keylines/cidiff, ci-logs) and each half (`tune`,
`held-out`) prints: category accuracy, action accuracy, key-line hit rate (the key line occurs inside a
labelled line after stripping ANSI codes and surrounding whitespace), non-human actions and auto-fixes on
logs labelled `code`, wrong non-human actions with confidence >= 70, and a reliability table (confidence
bucket -> observed category, action and both right; "both", what confidence claims, must be at least the
bucket's lower edge: `holds`, else `BELOW`). The baselines give a key line only (last line holding
"error"; first line holding error|fail|exception) with the majority answer code/human.
Then the scan of a generated 200 MB log against `grep -E` of the same patterns (bench/diagnose_scan.py),
in the same run, with the ratio and the peak RSS of the diagnosing process.

Usage: .venv/bin/python bench/diagnosis.py [--no-scan] [--scan-mb 200] [--misses] [--confusion] [--pass-logs]
`--misses` lists the wrong answers of the tune half only (the held-out half is never looked at).
`--confusion` prints label against answer (category and action) per half, counts only.
`--pass-logs` gives the engine the paired passing run where the corpus has one (CiDiff).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpora import HELD_OUT, TUNE, Item, all_items  # noqa: E402

from domain.diagnosis import calibration  # noqa: E402
from domain.diagnosis.engine import diagnose_file  # noqa: E402
from domain.diagnosis.playbooks import default_playbooks  # noqa: E402

BUCKETS = [(0, 50), (50, 70), (70, 85), (85, 95), (95, 101)]
_ERROR = re.compile(r"(?i)error")
_ERROR_FAIL = re.compile(r"(?i)error|fail|exception")


@dataclass
class Answer:
    category: str
    action: str
    key_line: str
    confidence: int
    auto_fix: bool
    evidence: str = ""
    raw: tuple[str, str] = ("", "")  # the deciding rule's own category and action (what calibration measures)


def engine(item: Item, use_pass: bool) -> Answer:
    kwargs = {"pass_log": item.pass_path} if use_pass and item.pass_path else {}
    diagnosis, _ = diagnose_file(item.path, **kwargs)
    kind = diagnosis.evidence or diagnosis.source.value
    raw = (diagnosis.category.value, diagnosis.action.value)
    if kind.startswith("rule:"):
        rule = default_playbooks().rule(kind.removeprefix("rule:").split("@")[0])
        raw = (rule.category.value, "human" if rule.category.value == "code" else rule.action.value)
    return Answer(
        diagnosis.category.value,
        diagnosis.action.value,
        diagnosis.key_line,
        diagnosis.confidence,
        diagnosis.auto_fix,
        kind,
        raw,
    )


def _lines(item: Item) -> list[str]:
    return [line.removesuffix("\r") for line in item.path.read_bytes().decode("utf-8", "replace").split("\n")]


def last_error(item: Item, _: bool) -> Answer:
    found = [line for line in _lines(item) if _ERROR.search(line)]
    return Answer("code", "human", found[-1] if found else "", 0, False)


def first_error_fail(item: Item, _: bool) -> Answer:
    found = next((line for line in _lines(item) if _ERROR_FAIL.search(line)), "")
    return Answer("code", "human", found, 0, False)


DIAGNOSERS: dict[str, Callable[[Item, bool], Answer]] = {
    "mender": engine,
    "last 'error' line": last_error,
    "first error|fail|exception": first_error_fail,
}


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:5.2f}" if whole else "    -"


def figures(rows: list[tuple[Item, Answer]]) -> dict[str, object]:
    n = len(rows)
    code = [(i, a) for i, a in rows if i.category == "code"]
    return {
        "n": n,
        "category": sum(a.category == i.category for i, a in rows) / n if n else 0.0,
        "action": sum(a.action == i.action for i, a in rows) / n if n else 0.0,
        "key_line": sum(i.hit(a.key_line) for i, a in rows) / n if n else 0.0,
        "code_non_human": sum(a.action != "human" for _, a in code),
        "code_auto": sum(a.auto_fix for _, a in code),
        "wrong_sure": sum(
            a.action != "human" and a.action != i.action and a.confidence >= 70 for i, a in rows
        ),
        "non_human": sum(a.action != "human" for _, a in rows),
        "wrong_non_human": sum(a.action != "human" and a.action != i.action for i, a in rows),
    }


def reliability(rows: list[tuple[Item, Answer]]) -> list[str]:
    out = [
        "    confidence   n  category  action    both  (both: what confidence claims, >= the bucket's floor)"
    ]
    for low, high in BUCKETS:
        inside = [(i, a) for i, a in rows if low <= a.confidence < high]
        cat = sum(a.category == i.category for i, a in inside)
        act = sum(a.action == i.action for i, a in inside)
        both = sum(a.category == i.category and a.action == i.action for i, a in inside)
        holds = "" if not inside else ("  holds" if both / len(inside) >= low / 100 else "  BELOW")
        out.append(
            f"    {low:3d}-{min(high, 100) - (high <= 100):<3d}  {len(inside):4d}  {_rate(cat, len(inside))}"
            f"   {_rate(act, len(inside))}  {_rate(both, len(inside))}{holds}"
        )
    return out


def report(results: dict[str, list[tuple[Item, Answer]]]) -> dict[str, dict]:
    corpora = sorted({item.corpus for item, _ in results["mender"]})
    summary: dict[str, dict] = {}
    header = f"  {'':28} {'n':>4} {'category':>9} {'action':>7} {'key line':>9} {'code!human':>11} {'wrong>=70':>10}"
    for corpus in [*corpora, "all"]:
        for half in (TUNE, HELD_OUT):
            print(f"\n== {corpus} / {half}")
            print(header)
            for name, rows in results.items():
                chosen = [(i, a) for i, a in rows if i.half == half and corpus in ("all", i.corpus)]
                if not chosen:
                    continue
                f = figures(chosen)
                summary.setdefault(name, {})[f"{corpus}/{half}"] = f
                print(
                    f"  {name:28} {f['n']:4d} {f['category']:9.2f} {f['action']:7.2f} {f['key_line']:9.2f}"
                    f" {f['code_non_human']:5d}/{f['code_auto']:<5d} {f['wrong_sure']:10d}"
                )
            if corpus == "all":
                print("  reliability of mender (confidence bucket -> observed accuracy):")
                print("\n".join(reliability([(i, a) for i, a in results["mender"] if i.half == half])))
    print("\ncode!human: non-human actions / auto-fixes on logs labelled code (goal 0/0);")
    print("wrong>=70: wrong non-human actions with confidence >= 70 (goal 0)")
    return summary


def misses(rows: list[tuple[Item, Answer]]) -> None:
    print("\n== misses of the tune half (category, action, key line)")
    for item, answer in rows:
        if item.half != TUNE:
            continue
        marks = [
            "C" if answer.category != item.category else ".",
            "A" if answer.action != item.action else ".",
            "K" if not item.hit(answer.key_line) else ".",
        ]
        if marks != [".", ".", "."]:
            print(
                f"{''.join(marks)} {item.name[:70]:70} {item.category}/{item.action} -> {answer.category}/"
                f"{answer.action} {answer.confidence} [{answer.evidence}]\n      {answer.key_line.strip()[:150]!r}"
            )


def confusion(rows: list[tuple[Item, Answer]]) -> None:
    """Label (rows) against answer (columns) per half, for category and for action: counts only, so the
    held-out half is read as a number, never log by log."""
    for half in (TUNE, HELD_OUT):
        chosen = [(i, a) for i, a in rows if i.half == half]
        for field, label_of, answer_of in (
            ("category", lambda i: i.category, lambda a: a.category),
            ("action", lambda i: i.action, lambda a: a.action),
        ):
            cells: dict[tuple[str, str], int] = defaultdict(int)
            for item, answer in chosen:
                cells[(label_of(item), answer_of(answer))] += 1
            labels = sorted({label for label, _ in cells})
            answers = sorted({label for label, _ in cells} | {answer for _, answer in cells})
            width = max(len(x) for x in answers) + 1
            print(f"\n== confusion of {field} / {half} (rows: label, columns: answer)")
            print(f"  {'':{width}}" + "".join(f"{a[:width]:>{width}}" for a in answers))
            for label in labels:
                print(f"  {label:{width}}" + "".join(f"{cells[(label, a)] or '.':>{width}}" for a in answers))


def write_calibration(tune: list[Item]) -> None:
    """Precision of each evidence kind on the tune half (category and action right) into the table. The
    logs are diagnosed with no calibration at all, so the table measures what each kind of evidence decides
    when it is trusted (measured with the table, a distrusted kind would stop deciding and drop out)."""
    measured, calibration.table = calibration.table, lambda *_: {}
    try:
        rows = [(item, engine(item, False)) for item in tune]
    finally:
        calibration.table = measured
    kinds: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for item, answer in rows:
        if item.half == TUNE:  # one entry per repository, named by a digest (no project is named)
            repo = hashlib.sha256(item.repository.lower().encode()).hexdigest()[:8]
            kinds[answer.evidence][repo][0] += 1
            kinds[answer.evidence][repo][1] += answer.raw == (item.category, item.action)
    about = (
        "Evidence kind -> {repository digest: [logs decided, right]} on the tune half of bench/corpora.py;"
        " written by `bench/diagnosis.py --calibrate`. See domain/diagnosis/calibration.py."
    )
    rows_json = ",\n".join(
        f"  {json.dumps(kind)}: {json.dumps(dict(sorted(kinds[kind].items())))}" for kind in sorted(kinds)
    )
    calibration.CALIBRATION_FILE.write_text(
        f'{{"about": {json.dumps(about)},\n "kinds": {{\n{rows_json}\n }}}}\n'
    )
    print(f"wrote {calibration.CALIBRATION_FILE} ({len(kinds)} kinds)")


_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
from domain.diagnosis.engine import diagnose_file
started = time.perf_counter()
diagnosis, distilled = diagnose_file({path!r})
elapsed = time.perf_counter() - started
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, diagnosis.category.value, repr(diagnosis.key_line))
"""


def scan(megabytes: int) -> dict[str, float]:
    from diagnose_scan import generate, grep_time, to_ere

    folder = Path(tempfile.mkdtemp(prefix="mender-bench-"))
    path = folder / "ci.log"
    print(f"\n== scan: generating {megabytes} MB of CI log noise with a failure near the end", flush=True)
    generate(path, megabytes)
    size = path.stat().st_size / 1e6
    child = _CHILD.format(root=str(ROOT), path=str(path))
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True
    ).stdout.split(" ", 3)
    scan_s, rss = float(out[0]), float(out[1])
    translated = [to_ere(rule.pattern) for rule in default_playbooks().rules]
    sensitive = [ere for ere, flag in filter(None, translated) if not flag]
    insensitive = [ere for ere, flag in filter(None, translated) if flag]
    started = time.perf_counter()
    grep_s = grep_time(path, sensitive, False, None) + grep_time(path, insensitive, True, None)
    grep_wall = time.perf_counter() - started
    print(
        f"  log {size:.0f} MB; mender diagnose: {scan_s:.2f} s ({size / scan_s:.0f} MB/s), peak RSS {rss:.0f} MB"
    )
    print(
        f"  grep -E -c of {len(sensitive) + len(insensitive)} patterns: {grep_s:.2f} s (wall {grep_wall:.2f} s)"
    )
    print(f"  ratio mender / grep: {scan_s / grep_s:.2f}x   (goal <= 2x, RSS < 200 MB)")
    print(f"  diagnosis: {out[2]} {out[3].strip()}")
    path.unlink()
    folder.rmdir()
    return {"mb": size, "mender_s": scan_s, "grep_s": grep_s, "ratio": scan_s / grep_s, "rss_mb": rss}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-scan", action="store_true", help="skip the 200 MB scan")
    parser.add_argument("--scan-mb", type=int, default=200)
    parser.add_argument("--misses", action="store_true", help="list the tune half's wrong answers")
    parser.add_argument("--confusion", action="store_true", help="label against answer, per half")
    parser.add_argument("--pass-logs", action="store_true", help="give the engine the passing run's log")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--calibrate", action="store_true", help="measure each evidence kind on the tune half and write it"
    )
    args = parser.parse_args()
    items = all_items()
    results: dict[str, list[tuple[Item, Answer]]] = defaultdict(list)
    started = time.perf_counter()
    for name, diagnoser in DIAGNOSERS.items():
        for item in items:
            results[name].append((item, diagnoser(item, args.pass_logs)))
        if name == "mender":
            elapsed = time.perf_counter() - started
            print(f"mender diagnosed {len(items)} logs in {elapsed:.1f} s")
    if args.calibrate:
        write_calibration([item for item in items if item.half == TUNE])
        calibration.table.cache_clear()
        results["mender"] = [(item, engine(item, args.pass_logs)) for item in items]
    summary = report(results)
    if args.confusion:
        confusion(results["mender"])
    if args.misses:
        misses(results["mender"])
    if not args.no_scan:
        summary["scan"] = scan(args.scan_mb)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
