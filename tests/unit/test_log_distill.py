"""Streaming distillation: window bounds, failed steps, long and binary lines, redaction of what is kept,
agreement of the prefiltered scan with a brute-force one, and bounded memory on a ~50 MB log."""

from __future__ import annotations

import io
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.diagnosis.distill import (
    KEY_LINE_BOUND,
    LINE_BOUND,
    MATCH_BOUND,
    LogScanner,
    blocks_from_binary,
    blocks_from_lines,
    body_of,
    step_header,
)
from domain.diagnosis.engine import FALLBACK_RULES, diagnose, diagnose_file
from domain.diagnosis.playbooks import Playbooks, default_playbooks
from domain.shared.redaction import MASK, Redactor
from tests.unit.test_playbooks import PRECEDENCE, SNIPPETS

CORPUS = Path(__file__).parents[1] / "fixtures" / "ci-logs"
ERROR = "src/app.c:10:5: error: expected ';' before 'return'"


def noise(count: int, start: int = 0) -> list[str]:
    return [f"[INFO] compiling unit {i} of the widget library" for i in range(start, start + count)]


def with_error_at(number: int, total: int) -> list[str]:
    lines = noise(total)
    lines[number - 1] = ERROR
    return lines


@pytest.mark.parametrize(
    ("number", "total", "max_lines"), [(500, 1000, 20), (3, 1000, 20), (998, 1000, 21), (5, 8, 80)]
)
def test_window_is_bounded_and_centred(number: int, total: int, max_lines: int) -> None:
    diagnosis, distilled = diagnose(with_error_at(number, total), max_lines=max_lines)
    assert distilled.key_line == ERROR and distilled.key_line_number == number
    assert len(distilled.window) == min(max_lines, total)
    start = distilled.window_start
    assert start is not None and distilled.window[number - start] == ERROR
    assert distilled.window == with_error_at(number, total)[start - 1 : start - 1 + len(distilled.window)]
    before = number - start
    if number > max_lines and total - number > max_lines:
        assert abs(before - (len(distilled.window) - 1 - before)) <= 1
    assert distilled.total_lines == total
    assert distilled.truncated == (total > max_lines)
    assert diagnosis.key_line == ERROR


def test_text_for_a_prompt_holds_the_window_verbatim() -> None:
    _, distilled = diagnose(["$ make", *with_error_at(50, 100)], max_lines=10)
    text = distilled.text()
    assert "failed step: make" in text and f"decisive line 51: {ERROR}" in text
    assert text.splitlines()[-10:] == distilled.window


@pytest.mark.parametrize(
    ("header", "step"),
    [
        ("2024-05-01T10:00:00.1234567Z ##[group]Run npm test", "Run npm test"),
        ("Run python -m pytest -x", "Run python -m pytest -x"),
        (
            'section_start:1700000000:step_script\r\x1b[0KExecuting "step_script" stage of the job script',
            "step_script",
        ),
        ("\x1b[32;1m$ bundle exec rake spec\x1b[0;m", "bundle exec rake spec"),
        ("\x1b[0K$ ./gradlew check", "./gradlew check"),
        ("[Pipeline] { (Integration tests)", "Integration tests"),
        ("##[section]Starting: Build solution", "Build solution"),
    ],
)
def test_failed_step(header: str, step: str) -> None:
    lines = [
        "$ echo setup",
        *noise(30),
        header,
        *noise(30, 100),
        ERROR,
        "##[group]Run later/step@v1",
        "after",
    ]
    assert diagnose(lines)[1].failed_step == step


def test_last_step_before_the_key_line_wins_and_none_without_headers() -> None:
    gitlab = [
        "section_start:1:prepare_script\r\x1b[0KPreparing",
        "$ npm ci",
        "$ npm test",
        ERROR,
        "$ npm run lint",
    ]
    assert diagnose(gitlab)[1].failed_step == "npm test"
    assert diagnose([*noise(10), ERROR])[1].failed_step is None
    assert step_header("Run 1: all tests") is None and step_header("running tests") is None


def test_timestamps_and_colours_do_not_hide_the_failure() -> None:
    line = "2024-05-01T10:00:00.1234567Z \x1b[31mnpm ERR! code ERESOLVE\x1b[0m"
    eresolve = (
        "2024-05-01T10:00:00.2234567Z \x1b[31mnpm ERR! ERESOLVE unable to resolve dependency tree\x1b[0m"
    )
    diagnosis = diagnose([line, eresolve])[0]
    assert diagnosis.playbook == "dep.npm-eresolve" and diagnosis.key_line == eresolve
    assert body_of("[task 2025-02-13T21:47:57.540Z] 21:47:57    ERROR - boom") == "ERROR - boom"


def test_long_lines_are_cut_for_the_window_but_the_key_line_stays_verbatim() -> None:
    key = "E: Failed to fetch http://archive.example/x.deb " + "x" * 3000
    huge = (
        "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory " + "y" * 200_000
    )
    _, distilled = diagnose([*noise(5), "z" * 100_000, key, *noise(5)])
    assert distilled.key_line == key
    assert all(len(line) <= 510 for line in distilled.window)
    assert any(line.endswith(" [...]") for line in distilled.window) and distilled.truncated
    diagnosis, distilled = diagnose([huge])
    assert diagnosis.playbook == "resource.node-heap"
    assert len(diagnosis.key_line) == KEY_LINE_BOUND and huge.startswith(diagnosis.key_line)
    assert MATCH_BOUND >= KEY_LINE_BOUND


def test_a_line_longer_than_the_bound_is_skipped_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    path.write_bytes(b"start\n" + b"q" * (3 * LINE_BOUND) + b"\n" + ERROR.encode() + b"\nend\n")
    diagnosis, distilled = diagnose_file(path)
    assert diagnosis.key_line == ERROR and diagnosis.key_line_number == 3
    assert distilled.total_lines == 4 and distilled.total_bytes == path.stat().st_size


def test_binary_garbage_is_decoded_with_replacements(tmp_path: Path) -> None:
    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(200_000))
    path = tmp_path / "garbage.log"
    data = garbage + b"\n\xff\xfeerror: disk \x00 exploded\n" + garbage
    path.write_bytes(data)
    diagnosis, distilled = diagnose_file(path)
    assert distilled.total_bytes == len(data)
    assert distilled.total_lines == len(data.removesuffix(b"\n").split(b"\n"))
    assert diagnosis.key_line == "\ufffd\ufffderror: disk \x00 exploded"


def test_file_and_lines_agree_and_newlines_are_stripped(tmp_path: Path) -> None:
    text = "one\r\ntwo\r\n" + ERROR + "\r\nthree"
    path = tmp_path / "crlf.log"
    path.write_bytes(text.encode())
    from_file = diagnose_file(path)
    from_lines = diagnose(io.StringIO(text, newline=""))
    assert from_file[0].key_line == from_lines[0].key_line == ERROR
    assert from_file[1].total_lines == from_lines[1].total_lines == 4
    assert from_file[1].window == ["one", "two", ERROR, "three"]


def test_text_files_stream_too(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    path.write_text("\n".join(with_error_at(7, 20)) + "\n")
    with path.open() as handle:
        blocks = list(blocks_from_binary(handle, block_size=64))
    assert b"\n".join(block for block, _ in blocks).decode().split("\n") == with_error_at(7, 20)
    assert sum(size for _, size in blocks) == path.stat().st_size


def test_kept_lines_are_redacted_including_private_keys_and_configured_values() -> None:
    lines = [
        "export DEPLOY_TOKEN=hunter2hunter2",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        *(f"b3BlbnNzaC1rZXktdjEAAAAABG5vbmU{i:04d}AAAAEbm9uZQ" for i in range(60)),
        "-----END OPENSSH PRIVATE KEY-----",
        "using s3cr3t-value-42 for upload",
        f"{ERROR} token=abc123 s3cr3t-value-42",
        "next line has ghp_" + "a" * 36,
    ]
    diagnosis, distilled = diagnose(
        lines, redactor=Redactor(secret_values=["s3cr3t-value-42"]), max_lines=200
    )
    kept = "\n".join([*distilled.window, distilled.key_line, diagnosis.key_line, distilled.text()])
    for secret in (
        "hunter2hunter2",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU",
        "s3cr3t-value-42",
        "abc123",
        "a" * 36,
    ):
        assert secret not in kept
    assert distilled.window[5] == MASK  # a line deep inside the key block
    assert diagnosis.key_line == f"{ERROR} token=*** ***"


def test_private_key_begun_before_the_window_is_still_masked() -> None:
    lines = [
        "-----BEGIN RSA PRIVATE KEY-----",
        *("MIIEpAIBAAKCAQEA" + str(i) * 20 for i in range(300)),
        ERROR,
    ]
    _, distilled = diagnose(lines, max_lines=11)
    assert distilled.window[:10] == [MASK] * 10 and distilled.key_line == MASK


def reference(lines: list[str], playbooks: Playbooks) -> tuple[str, int] | None:
    """The decisive (rule, line) by brute force: every line matched, context checked in memory."""
    redactor = Redactor()
    bodies = [body_of(redactor.line(line[:MATCH_BOUND])) for line in lines]
    best = None
    for index, body in enumerate(bodies):
        for found in playbooks.match(body):
            if found.context is not None:
                near = bodies[max(0, index - found.context_lines) : index + found.context_lines + 1]
                if not any(found.context.search(text) for text in near):
                    continue
            rank = (found.priority, -index)
            if best is None or rank > best[0]:
                best = (rank, found.rule.id, index + 1)
    return (best[1], best[2]) if best else None


def engine(lines: list[str], playbooks: Playbooks) -> tuple[str, int] | None:
    scanner = LogScanner(playbooks, Redactor())
    for block, size in blocks_from_lines(lines, batch=97):
        scanner.feed(block, size)
    best = scanner.finish().best
    return (best.found.rule.id, best.line_number) if best else None


def test_prefiltered_scan_agrees_with_brute_force_on_the_corpus() -> None:
    playbooks = default_playbooks().with_rules(FALLBACK_RULES)
    for path in sorted(CORPUS.glob("*.log")):
        lines = path.read_bytes().decode("utf-8", "replace").split("\n")
        assert engine(lines, playbooks) == reference(lines, playbooks), path.name


def test_prefiltered_scan_agrees_with_brute_force_on_shuffled_snippets() -> None:
    playbooks = default_playbooks().with_rules(FALLBACK_RULES)
    pool = [line for case in [*SNIPPETS, *PRECEDENCE] for line in case[1].strip("\n").splitlines()]
    rng = random.Random(2024)
    for _ in range(150):
        lines = [
            rng.choice(pool) if rng.random() < 0.2 else f"noise {rng.random()}"
            for _ in range(rng.randrange(1, 120))
        ]
        assert engine(lines, playbooks) == reference(lines, playbooks)


def test_bounded_memory_on_a_50_mb_log() -> None:
    def generate() -> Iterator[str]:
        for i in range(600_000):
            yield f"2024-05-01T12:00:00.{i:07d}Z [INFO] Compiling module-{i % 977} (step {i % 13}) ... ok, 42 files\n"
            if i == 599_950:
                yield "2024-05-01T12:00:01.0000000Z npm ERR! network read ECONNRESET\n"

    playbooks = default_playbooks()
    tracemalloc.start()
    try:
        diagnosis, distilled = diagnose(generate(), playbooks=playbooks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert distilled.total_bytes > 48_000_000 and distilled.total_lines == 600_001
    assert diagnosis.playbook == "infra.connection" and distilled.key_line_number == 599_952
    assert peak < 6_000_000, f"peak traced memory {peak / 1e6:.1f} MB"
