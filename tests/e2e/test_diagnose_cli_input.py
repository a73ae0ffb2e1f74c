"""Bad input through the real `mender diagnose` process: empty, binary, invalid UTF-8, one endless line, 1 GiB.

Each gets the `--json` contract and exit 0 (a clear answer, `human` when nothing is recognisable), never a
traceback, in bounded memory (the child's own peak RSS). The 1 GiB log is a sparse file: a hole of NUL
bytes (one line, read and skipped) with the failure after it, so the whole gigabyte is scanned in about a
second without using the disk; the real-text 1 GB figure is `make bench-scan ARGS="--mb 1000"`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from domain.diagnosis.distill import KEY_LINE_BOUND
from tests.support.cli_process import MenderRun, run_mender

CONTRACT = {
    "category",
    "action",
    "risk_score",
    "tier",
    "confidence",
    "key_line",
    "params",
    "playbook",
    "explanation",
}
RSS_BOUND_MB = 200  # the scan goal's bound (issue 15)
MISSING_MODULE = b"E   ModuleNotFoundError: No module named 'yaml'\n"


def diagnose(tmp_path: Path, log: Path | str, *args: str, **options: Any) -> dict:
    run: MenderRun = run_mender(tmp_path, "diagnose", str(log), "--json", *args, **options)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert 0 < run.max_rss_mb < RSS_BOUND_MB
    answer = json.loads(run.stdout)
    assert set(answer) == CONTRACT
    assert len(answer["key_line"]) <= KEY_LINE_BOUND + len(" [...]")
    return answer


@pytest.mark.parametrize(
    "content",
    [
        b"",
        random.Random(7).randbytes(1_000_000),
        b"x" * 8_000_000,  # one line, no newline, far beyond the line bound
    ],
    ids=["empty", "binary", "one-endless-line"],
)
def test_unreadable_logs_get_a_clear_human_answer(tmp_path: Path, content: bytes) -> None:
    log = tmp_path / "bad.log"
    log.write_bytes(content)
    answer = diagnose(tmp_path, log)
    assert answer["action"] == "human" and answer["playbook"] is None


def test_invalid_utf8_is_read_with_replacements(tmp_path: Path) -> None:
    log = tmp_path / "latin1.log"
    log.write_bytes(b"caf\xe9 \xc3\x28 step\n" * 500 + b"\xff\xfeerror: disk \xa0 exploded\n" + b"done\n")
    answer = diagnose(tmp_path, log)
    assert answer["key_line"] == "\ufffd\ufffderror: disk \ufffd exploded"


def test_the_failure_after_one_gibibyte_is_found_in_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "huge.log"
    with log.open("wb") as handle:
        handle.seek(1 << 30)  # a hole: 1 GiB of NUL bytes the file system does not store
        handle.write(b"\n" + MISSING_MODULE)
    assert log.stat().st_size > 1 << 30
    answer = diagnose(tmp_path, log)
    assert answer["key_line"] == MISSING_MODULE.decode().strip()
    assert answer["category"] == "dependency" and answer["params"]["module"] == "yaml"


def test_a_binary_passing_log_does_not_stop_the_diagnosis(tmp_path: Path) -> None:
    failing, passing = tmp_path / "fail.log", tmp_path / "pass.log"
    failing.write_bytes(b"$ pytest\n" + MISSING_MODULE + b"1 failed\n")
    passing.write_bytes(random.Random(8).randbytes(200_000))
    answer = diagnose(tmp_path, failing, "--pass", str(passing))
    assert answer["key_line"] == MISSING_MODULE.decode().strip()


def test_standard_input_is_diagnosed_and_its_copy_removed(tmp_path: Path) -> None:
    spool = tmp_path / "tmp"
    spool.mkdir()
    garbage = random.Random(9).randbytes(300_000).replace(b"\n", b" ")
    answer = diagnose(tmp_path, "-", stdin=garbage + b"\n" + MISSING_MODULE, TMPDIR=str(spool))
    assert answer["key_line"] == MISSING_MODULE.decode().strip()
    assert list(spool.iterdir()) == []  # the copy of standard input is gone


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux /proc")
def test_a_file_that_fails_to_read_is_a_clear_error(tmp_path: Path) -> None:
    run = run_mender(tmp_path, "diagnose", "/proc/self/mem", "--json")  # a file whose read() is EIO
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    assert "/proc/self/mem could not be read: Input/output error" in run.stderr


def test_the_text_answer_escapes_what_a_binary_log_would_send_to_the_terminal(tmp_path: Path) -> None:
    log = tmp_path / "term.log"
    log.write_bytes(b"setup\n\x1b]0;pwned\x07\x1b[2Jerror: \x00\x08\x08fake success\r\n")
    run = run_mender(tmp_path, "diagnose", str(log))
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert "key line" in run.stdout and "error:" in run.stdout
    assert not any(ord(char) < 0x20 and char != "\n" for char in run.stdout)
