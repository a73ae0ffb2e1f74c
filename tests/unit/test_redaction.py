"""Hypothesis properties of `domain.shared.redaction.redact`: secrets never survive, ordinary text is untouched."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.shared.redaction import redact
from domain.shared.secret_patterns import is_placeholder

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits


def chars(alphabet: str, size: int, max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet), min_size=size, max_size=max_size or size)


# Each strategy yields (text as it would appear, the sensitive part that must not survive).
github_classic = st.tuples(st.sampled_from(["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]), chars(ALNUM, 36)).map(
    lambda p: (p[0] + p[1], p[1])
)
github_fine_grained = st.tuples(chars(ALNUM, 22), chars(ALNUM, 59)).map(
    lambda p: (f"github_pat_{p[0]}_{p[1]}", f"{p[0]}_{p[1]}")
)
slack_tokens = st.tuples(
    st.sampled_from(["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"]),
    chars(string.digits, 10, 13),
    chars(string.digits, 10, 13),
    chars(ALNUM, 24),
).map(lambda p: (f"{p[0]}{p[1]}-{p[2]}-{p[3]}", f"{p[1]}-{p[2]}-{p[3]}"))
aws_keys = st.tuples(st.sampled_from(["AKIA", "ASIA"]), chars(UPPER_DIGITS, 16)).map(
    lambda p: (p[0] + p[1], p[1])
)
bearer = st.tuples(
    st.sampled_from(["Bearer ", "bearer ", "Authorization: Bearer "]), chars(ALNUM + "._~+/-", 20, 60)
).map(lambda p: (p[0] + p[1], p[1]))
keyed = st.tuples(
    st.sampled_from(["password", "secret", "token", "api_key", "PASSWORD", "client_secret", "GITHUB_TOKEN"]),
    st.sampled_from(
        ["{k}={v}", "{k}: {v}", "{k} = {v}", '"{k}": "{v}"', "{k}='{v}'", "--{k}={v}", "?{k}={v}&x=1"]
    ),
    chars(ALNUM + "!#$%()*+-./<>?@[]^_{|}~", 8, 40).filter(lambda v: not is_placeholder(v)),
).map(lambda p: (p[1].format(k=p[0], v=p[2]), p[2]))
SECRETS = st.one_of(github_classic, github_fine_grained, slack_tokens, aws_keys, bearer, keyed)

SEPARATORS = st.sampled_from(["", " ", "\n", ": ", "(", ")", "'", '"', ", "])
random_text = st.text(max_size=60)


@given(random_text, SEPARATORS, SECRETS, SEPARATORS, random_text)
def test_embedded_secrets_never_survive(
    before: str, sep1: str, secret: tuple[str, str], sep2: str, after: str
) -> None:
    shown, sensitive = secret
    assume(sensitive not in before and sensitive not in after)
    out = redact(before + sep1 + shown + sep2 + after)
    assert sensitive not in out


@given(st.lists(st.tuples(random_text, SECRETS), max_size=5), random_text)
def test_many_secrets_in_one_text(parts: list[tuple[str, tuple[str, str]]], tail: str) -> None:
    text = " ".join(f"{noise} {shown}" for noise, (shown, _) in parts) + " " + tail
    sensitives = [sensitive for _, (_, sensitive) in parts]
    assume(all(s not in noise + tail for s in sensitives for noise, _ in parts))
    # A secret that is part of a label redaction keeps on purpose (`github_p` in `github_pat_***`) is moot.
    assume(all(sensitive not in redact(shown) for _, (shown, sensitive) in parts))
    out = redact(text)
    assert all(s not in out for s in sensitives)


@given(st.lists(st.tuples(random_text, SECRETS), max_size=4))
def test_redaction_is_idempotent(parts: list[tuple[str, tuple[str, str]]]) -> None:
    once = redact(" ".join(f"{noise} {shown}" for noise, (shown, _) in parts))
    assert redact(once) == once


@given(random_text)
def test_random_text_is_unchanged(text: str) -> None:
    assert redact(text) == text


WORDS = [
    "check", "run", "build", "failed", "on", "sha", "3f2a9c1", "rerun", "succeeded", "the", "tokens",
    "passwords", "secrets", "rotation", "docs", "merge", "conflict", "dependabot", "renovate", "bump",
    "from", "to", "1.2.3", "CI", "AKIA", "ghost", "xoxo", "github", "pat", "https://github.com/acme/api",
    "mergeable_state=dirty", "attempt", "2/3", "#12", "acme/api#12", "ÄÖÜ", "日本語", "✅",
]  # fmt: skip


@given(st.lists(st.sampled_from(WORDS), max_size=30), st.sampled_from([" ", "\n", ", ", ". "]))
def test_ordinary_prose_is_unchanged(words: list[str], sep: str) -> None:
    text = sep.join(words)
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("push with ghp_" + "a" * 36 + " failed", "push with ghp_*** failed"),
        ("SLACK=xoxb-123-456-abcdef", "SLACK=xoxb-***"),
        ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer ***"),
        ("key AKIAIOSFODNN7EXAMPLE used", "key AKIA*** used"),
        ("db password=hunter22 user=x", "db password=*** user=x"),
        ('{"client_secret": "s3cr3t value"}', '{"client_secret": "***"}'),
        ("clone https://bot:t0ps3cret@github.com/acme/api", "clone https://***@github.com/acme/api"),
        ("hook https://hooks.slack.com/services/T0/B0/XyZ", "hook https://hooks.slack.com/services/***"),
        ("rerun_failed_jobs succeeded on acme/api#12", "rerun_failed_jobs succeeded on acme/api#12"),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert redact(text) == expected
