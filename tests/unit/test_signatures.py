"""Webhook signature verification against GitHub's documented test vector."""

import json

from starter.signatures import github_signature, verify_github_signature
from tests.conftest import FIXTURES

VECTOR = json.loads((FIXTURES / "github" / "signature_test_vector.json").read_text())


def test_reproduces_githubs_test_vector() -> None:
    body = VECTOR["payload"].encode()
    assert github_signature(VECTOR["secret"], body) == VECTOR["headers"]["X-Hub-Signature-256"]
    assert verify_github_signature(VECTOR["secret"], body, VECTOR["headers"]["X-Hub-Signature-256"])


def test_rejects_wrong_missing_and_tampered() -> None:
    body, good = VECTOR["payload"].encode(), VECTOR["headers"]["X-Hub-Signature-256"]
    assert not verify_github_signature(VECTOR["secret"], body, None)
    assert not verify_github_signature(VECTOR["secret"], body, "")
    assert not verify_github_signature(VECTOR["secret"], body + b" ", good)
    assert not verify_github_signature("another secret", body, good)
    assert not verify_github_signature(VECTOR["secret"], body, good.replace("sha256=", "sha1="))
