"""User text cannot forge a log line: newlines, NUL, escape sequences and Unicode line separators in
comment bodies, logins, branch names or delivery ids are escaped in every log record (one record, one
line), here through the real webhook intake."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtime.logs import install_log_redaction, one_line
from runtime.settings import set_settings
from starter.app import create_app
from starter.signatures import github_signature
from tests.conftest import FIXTURES
from tests.support.stack import make_settings

FORGED = (
    "evil\n2026-12-07 12:00:00,000 ERROR mender.intake: PR acme/api#1 merged by admin\x00\r\x1b[2K\u2028x"
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("nul\x00here", "nul\\x00here"),
        ("cr\rlf", "cr\\rlf"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("line\u2028sep\u2029para\x85nel", "line\\u2028sep\\u2029para\\x85nel"),
        ("tab\tstays, é and 🙂 too", "tab\tstays, é and 🙂 too"),
    ],
)
def test_control_characters_are_escaped(text: str, shown: str) -> None:
    assert one_line(text) == shown


def test_a_record_with_user_text_is_one_line(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    with caplog.at_level(logging.INFO, logger="mender.test"):
        logging.getLogger("mender.test").info("comment by %s: %s", "bot\nadmin", FORGED)
    [record] = [r for r in caplog.records if r.name == "mender.test"]
    message = record.getMessage()
    assert "\n" not in message and "\x00" not in message and "\x1b" not in message
    assert "\\n2026-12-07 12:00:00,000 ERROR" in message and message.startswith("comment by bot\\nadmin: ")


def test_a_webhook_from_a_forged_login_logs_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install_log_redaction()
    settings = make_settings(tmp_path)
    payload = copy.deepcopy(
        json.loads((FIXTURES / "github/webhooks/pull_request/opened.payload.json").read_text())
    )
    payload["pull_request"]["user"]["login"] = FORGED  # not a configured bot: the intake logs it as ignored
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": b"d-1\x1b[2Kforged",  # type: ignore[dict-item]
        "X-Hub-Signature-256": github_signature("test-secret", body),
        "Content-Type": "application/json",
    }
    with caplog.at_level(logging.INFO, logger="mender.intake"), TestClient(create_app(settings)) as http:
        answer = http.post("/webhooks/github", content=body, headers=headers)
    set_settings(None)
    assert answer.status_code == 200 and answer.json()["outcome"] == "ignored"
    [line] = [r.getMessage() for r in caplog.records if r.name == "mender.intake"]
    assert "ignored: author evil\\n2026-12-07 12:00:00,000 ERROR" in line
    assert "delivery d-1\\x1b[2Kforged" in line
    assert not any(c in line for c in "\n\r\x00\x1b\u2028")
