"""Credential formats written the way CI logs print them are masked; what diagnosis needs stays readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.diagnosis.engine import diagnose
from domain.shared import gitleaks_rules
from domain.shared.redaction import Redactor, redact, remember_secrets

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "redaction"

# (log line, the sensitive part that must not survive): the 14 formats issue 19 found leaking, and more.
LEAKS = [
    (
        "twine upload -p pypi-AgEIcHlwaS5vcmcCJGI4YmNhMDA1LTIwZGEtNDIzNC04ZTAx",
        "CJGI4YmNhMDA1LTIwZGEtNDIzNC04ZTAx",
    ),
    ("echo dckr_pat_2b3e36beeb386dfdaacb9b46004c | docker login", "2b3e36beeb386dfdaacb9b46004c"),
    (
        "AccountName=acme;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2U==;Endpoint",
        "Eby8vdM02xNOcq",
    ),
    (
        "GET https://acme.blob.core.windows.net/c/a?sv=2021-08-06&sp=r&sig=Jx3%2FqK9zZ0aBcDeFgHi%3D",
        "Jx3%2FqK9zZ0aBc",
    ),
    ("mysql -h db -u root -pS3cretPw! -e 'select 1'", "S3cretPw!"),
    ("redis-cli -u redis://:Sup3rS3cret@cache:6379/0 ping", "Sup3rS3cret"),
    ("curl -fsS -u admin:hunter2xyz https://nexus.example.org", "hunter2xyz"),
    ("machine github.com login bot password ghpwd12345", "ghpwd12345"),
    ("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 sent", "TwL2iGABf9DHoTf"),
    ("using SK2b3e36beeb386dfdaacb9b46004ccb7c for twilio", "2b3e36beeb386dfdaacb9b46004ccb7c"),
    ("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", "2b3e36beeb386dfdaacb9b46004ccb7c"),
    ("VAULT_ADDR set, hvs.CAESIJlU4ypR2qO0JX8f3nmWuT3gDK3b4 used", "CAESIJlU4ypR2qO0JX8f3nmWuT3gDK3b4"),
    (
        "POST https://discord.com/api/webhooks/123456789012345678/abcDEF-ghiJKL_mnoPQRstu",
        "abcDEF-ghiJKL_mnoPQRstu",
    ),
    ("::add-mask::MyPlainValue99", "MyPlainValue99"),
    ("postgres://app:p%40ssw0rd@db:5432/app", "p%40ssw0rd"),
    ("git clone https://x-access-token:ghs_abcdefABCDEF0123456789@github.com/acme/api.git", "abcdefABCDEF"),
    ("docker login -u bot --password Sup3rSecret registry.example.org", "Sup3rSecret"),
    ("sshpass -p 'hunter2pw' ssh deploy@host", "hunter2pw"),
    ("export DB_PASSWORD='p@ss w0rd'", "p@ss w0rd"),
    ("HRKU-AAdGhpcyBpcyBub3QgYSByZWFsIHRva2VuIGJ1dCBsb29rcyBsaWtlIG9uZQ used", "dGhpcyBpcyBub3Qg"),
]


@pytest.mark.parametrize(("line", "sensitive"), LEAKS)
def test_formats_that_leaked_are_masked(line: str, sensitive: str) -> None:
    assert sensitive not in redact(line)
    assert sensitive not in Redactor().line(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("clone https://bot:t0ps3cret@github.com/acme/api", "clone https://***@github.com/acme/api"),
        ("redis://:Sup3rS3cret@cache:6379/0", "redis://***@cache:6379/0"),
        ("token=abc123def@github.com/acme", "token=***@github.com/acme"),
        ("mysql -u root -pS3cret", "mysql -u root -p***"),
    ],
)
def test_the_kind_and_the_place_stay_readable(line: str, expected: str) -> None:
    assert redact(line) == expected


READABLE = [
    "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678 src/app/main.py:42: error",
    "tests/test_auth.py::test_token_expiry[case-1] FAILED",
    "request 123e4567-e89b-12d3-a456-426614174000 on version 1.2.3-rc.1",
    "https://github.com/acme/api/actions/runs/123456/job/789",
    "KeyError: 'some_key_2'",
    "internal/command/cliconfig/credentials_test.go:63:2: undeclared name: os",
    "sha256:df9b9388f04ad6279a7410b85cedfdcb2208c0a003da7ab5613af71079148139",
    "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
    "password=<PASSWORD> (see the docs)",
    "npm ERR! code E401 Unable to authenticate, need: Basic realm=GitHub",
    "mkdir -p build && pip install -r requirements.txt",
    "git push -u origin feature-branch",
]


@pytest.mark.parametrize("line", READABLE)
def test_what_diagnosis_needs_stays_readable(line: str) -> None:
    assert redact(line) == line


def test_labelled_key_lines_of_real_logs_survive() -> None:
    rows = [json.loads(line) for line in (FIXTURES / "keylines.jsonl").read_text().splitlines()]
    changed = [row for row in rows if Redactor().line(row["text"]) != row["text"]]
    assert len(rows) >= 20 and changed == []


def test_add_mask_masks_the_value_for_the_rest_of_the_log() -> None:
    redactor = Redactor()
    out = redactor.lines(["hello", "::add-mask::Zq9-value-42", "deploying with Zq9-value-42 to prod"])
    assert out == ["hello", "::add-mask::***", "deploying with *** to prod"]
    assert "Zq9-value-42" not in redactor.fork(False).line("again Zq9-value-42")  # forks share it


def test_add_mask_reaches_the_distilled_log_even_far_from_the_failure() -> None:
    lines = ["::add-mask::Zq9-hidden-7", *["ok"] * 200, "npm ERR! 404 Not Found - GET /pkg Zq9-hidden-7"]
    diagnosis, distilled = diagnose(lines, provider="github")
    assert "Zq9-hidden-7" not in distilled.text() + diagnosis.key_line
    assert "npm ERR! 404" in diagnosis.key_line


def test_secrets_mender_knows_are_masked_everywhere() -> None:
    remember_secrets(["Mender-own-Secret-31415", None, "ab"])
    assert redact("signed with Mender-own-Secret-31415") == "signed with ***"
    assert Redactor().line("x Mender-own-Secret-31415 y") == "x *** y"
    assert redact("ab cd") == "ab cd"  # too short to mask


@pytest.mark.parametrize(
    ("go", "python"),
    [
        (r"(?i)ab(?-i)c", r"(?i)ab(?-i:c)"),
        (r"x(?i)y|z", r"x(?i:y)|(?i:z)"),
        (r"(a(?i)b)c", r"(a(?i:b))c"),
        (r"end\z", r"end\Z"),
        (r"[[:alnum:]]+", r"[[:alnum:]]+"),
    ],
)
def test_go_regexes_are_translated(go: str, python: str) -> None:
    assert gitleaks_rules.go_to_python(go) == python


def test_every_gitleaks_rule_compiles_and_finds_its_kind() -> None:
    rules, allowlist = gitleaks_rules.load()
    assert len(rules) >= 200 and allowlist is not None
    assert all(rule.keywords for rule in rules)
    github = next(rule for rule in rules if rule.id == "github-pat")
    token = "Zx81kQm2Lr7vBn4Tc0Hy6Wd3Ps9Ja5Ge1UfE"
    text = "push ghp_" + token
    assert [text[a:b] for a, b in github.spans(text)] == [token]  # the `ghp_` prefix stays readable
    assert list(github.spans("push ghp_" + "aB3" * 12)) == []  # below the rule's entropy floor


def test_entropy_floor_and_allowlists_apply() -> None:
    assert gitleaks_rules.entropy("aaaa") == 0.0
    assert gitleaks_rules.entropy("abcd") == 2.0
    rules, allowlist = gitleaks_rules.load()
    generic = next(rule for rule in rules if rule.id == "generic-api-key")
    assert list(generic.spans("api_key = aaaaaaaaaaaaaaaa", allowlist)) == []  # entropy too low
    assert list(generic.spans("the_key: true_or_false_value", allowlist)) == []  # letters only: allowed


@pytest.mark.parametrize(
    "line",
    ["=rpc-authentication-required= to false", "password = false", "secret: true", "token=null", "auth: on"],
)
def test_values_no_secret_has_stay_readable(line: str) -> None:
    assert redact(line) == line
