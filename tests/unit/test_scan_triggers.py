"""The scan's RE2 triggers (domain/diagnosis/triggers.py): sound (every line a rule, a step header or an
error-like word can concern is found) and invisible (the scan decides exactly as without them)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import re2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import domain.diagnosis.distill as distill
from domain.diagnosis.engine import FALLBACK_RULES, diagnose
from domain.diagnosis.evidence import has_evidence_word
from domain.diagnosis.playbooks import default_playbooks
from domain.diagnosis.reading import _ANSI_B, body_of
from domain.diagnosis.structure import header_name
from domain.diagnosis.triggers import _body_start, _options, relax, triggers_for
from tests.unit.test_playbooks import PRECEDENCE, SNIPPETS

CORPUS = Path(__file__).parents[1] / "fixtures" / "ci-logs"
RULES = default_playbooks().with_rules(FALLBACK_RULES)
TRIGGERS = triggers_for(RULES.rules)
POOL = sorted(
    {line for case in [*SNIPPETS, *PRECEDENCE] for line in case[1].strip("\n").splitlines()}
    | {
        line
        for path in sorted(CORPUS.glob("*.log"))
        for line in path.read_text("utf-8", "replace").splitlines()
    }
)
PREFIXES = ["", "2024-05-01T12:00:00.1234567Z ", "[2025-01-02 03:04:05] ", "9:40:53 PM: ", "\x1b[31m", "x"]
ODD = [
    "-----BEGIN RSA PRIVATE KEY-----",
    "MIIEpAIBAAKCAQEA7nq+secretbody",
    "-----END RSA PRIVATE KEY-----",
    "::add-mask::hunter2hunter2",
    "echo hunter2hunter2 py 404",
    "caf\u00e9 \u212ailled py",
    "travis_fold:end:x\r$ make test",
    "2024-05-01T12:00:00Z Run python -m pytest tests/test_x.py",
    "Downloading requests-2.0-py3-none-any.whl (502 kB)",
    "\x1b]8;;http://x\x07link\x1b]8;;\x07 error",
    "x" * 5000 + " Killed",
]


def _needs_look(line: str) -> bool:
    """Whether the scanner may keep `line` (what its triggers must find)."""
    body = body_of(line[:4096])
    return bool(RULES.match(body)) or has_evidence_word(body) or header_name(body) is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(POOL), st.sampled_from(PREFIXES), st.text(alphabet=st.characters(max_codepoint=127)))
def test_every_line_a_rule_header_or_error_word_concerns_is_triggered(
    line: str, prefix: str, tail: str
) -> None:
    for text in (prefix + line, prefix + line + tail, tail + " " + line):
        text = text.replace("\n", " ")
        if _needs_look(text):
            searched = _ANSI_B.sub(b"", text.encode("utf-8", "replace"))  # as the scanner searches it
            assert TRIGGERS.line_starts(searched) == [0], text


@pytest.mark.parametrize("rule", RULES.rules, ids=lambda r: r.id)
def test_each_rule_relaxes_to_a_superset_of_its_matches(rule) -> None:
    regex = re2.compile(relax(rule.pattern, _body_start()).encode("latin-1"), _options())
    for line in POOL:
        if line.isascii() and rule.regex.search(body_of(line)):
            assert regex.search(_ANSI_B.sub(b"", line.encode())), (rule.id, line)


def test_relaxation_keeps_case_folding_and_lines_apart() -> None:
    start = "(?m:^)"
    assert relax(r"(?i)killed", start).count("[") == 6
    assert "\\x0a" not in relax(r"[^x]\s\W.", start)
    assert relax(r"\bfoo(?=bar)$", start) == "\\x66\\x6f\\x6f"
    assert re.fullmatch(r"\(\?:.*\)\+", relax(r"a{2,9}", start))


def _scan(lines: list[str], monkeypatch: pytest.MonkeyPatch, with_triggers: bool) -> tuple:
    if not with_triggers:
        monkeypatch.setattr(distill, "triggers_for", lambda rules: None)
    diagnosis, distilled = diagnose(lines)
    monkeypatch.undo()
    return diagnosis.model_dump(), distilled.model_dump()


def test_the_scan_decides_exactly_as_without_triggers(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    for _ in range(12):
        lines = [
            rng.choice(PREFIXES) + rng.choice(POOL + ODD)
            if rng.random() < 0.3
            else f"noise py {rng.random()}"
            for _ in range(rng.randrange(1, 250))
        ]
        assert _scan(lines, monkeypatch, True) == _scan(lines, monkeypatch, False)


def test_the_scan_decides_exactly_as_without_triggers_on_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    for path in sorted(CORPUS.glob("*.log"))[::3]:
        lines = path.read_text("utf-8", "replace").split("\n")
        assert _scan(lines, monkeypatch, True) == _scan(lines, monkeypatch, False), path.name


def test_binary_data_gives_up_the_triggers_for_the_plain_prefilter() -> None:
    noisy = random.Random(3).randbytes(20_000)
    assert TRIGGERS.line_starts(noisy, limit=8) is None
    assert TRIGGERS.line_starts(b"all quiet\n" * 100, limit=8) == []


def test_a_log_file_is_read_in_blocks_with_the_same_diagnosis(tmp_path: Path) -> None:
    from domain.diagnosis.engine import diagnose_file
    from domain.diagnosis.reading import LogFile

    path = tmp_path / "ci.log"
    path.write_bytes(b"\r\n".join(line.encode() for line in POOL[:300]) + b"\r\n\xff\xfe broken utf-8\n")
    by_lines, by_file = diagnose(LogFile(path)), diagnose_file(path)
    assert by_lines[0] == by_file[0] and by_lines[1] == by_file[1]
    assert by_file[1].total_bytes == path.stat().st_size
    assert list(LogFile(path))[-1] == "\ufffd\ufffd broken utf-8"
