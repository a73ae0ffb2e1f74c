"""Admin API keys: generated keys, their `sha256:` hashes, and matching a presented key to a principal."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from domain.shared.admin_config import ApiConfig, ApiKey
from starter.auth import Principal, authenticate, generate_key, hash_key


def test_generated_keys_are_long_random_and_url_safe() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(len(k) >= 40 and k.replace("_", "").replace("-", "").isalnum() for k in keys)


def test_hash_is_the_config_format() -> None:
    key = generate_key()
    digest = hash_key(key)
    assert digest == "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    assert ApiKey(name="ci", hash=digest).hash == digest  # accepted by the `api.keys` validator


def test_config_refuses_a_plain_key_in_place_of_its_hash() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        ApiConfig.model_validate({"keys": [{"name": "ci", "hash": generate_key()}]})


def test_authenticate_finds_the_key_by_hash_and_keeps_its_role() -> None:
    admin, reader = generate_key(), generate_key()
    keys = [ApiKey(name="ops", hash=hash_key(admin)), ApiKey(name="dash", hash=hash_key(reader), role="read")]
    assert authenticate(keys, admin) == Principal("ops", "admin")
    assert authenticate(keys, reader) == Principal("dash", "read")
    assert authenticate(keys, reader).can_write is False  # type: ignore[union-attr]
    assert authenticate(keys, admin).can_write is True  # type: ignore[union-attr]


@pytest.mark.parametrize("presented", [None, "", "nope", "sha256:" + "0" * 64])
def test_authenticate_refuses_missing_and_unknown_keys(presented: str | None) -> None:
    keys = [ApiKey(name="ops", hash=hash_key(generate_key()))]
    assert authenticate(keys, presented) is None


def test_the_hash_itself_is_not_a_key() -> None:
    key = generate_key()
    keys = [ApiKey(name="ops", hash=hash_key(key))]
    assert authenticate(keys, hash_key(key)) is None
    assert authenticate([], key) is None
