"""Mask credentials in free text before it leaves Mender (Slack messages, comments, logs). Pure functions.

Masked: GitHub tokens (`ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_`, `github_pat_`), Slack tokens (`xox[abprs]-`,
`xapp-`) and incoming-webhook URLs, AWS access key ids (`AKIA`/`ASIA`), `Bearer <token>`, credentials in
URLs (`https://user:pass@host`) and the values of `password=`, `secret=`, `token=`, `api_key=` (also with
`:` and in quotes). The kind of secret stays readable (`ghp_***`, `password=***`); the secret does not.

Every rule is matched against the original text and the union of the secret spans is masked, so one
rule's match can never hide another secret from its rule. Masking is over-eager by design: hiding a
harmless word is cheaper than leaking a credential.
"""

from __future__ import annotations

import re

MASK = "***"
_VALUE = r"""[^\s"',;&]"""

# Groups named `s...` are the secret parts. Not anchored on word boundaries on purpose, so a secret glued
# to other text (`idghp_...`, `x=ghp_...`) is still found.
_RULES: list[re.Pattern[str]] = [
    re.compile(r"://(?P<s>[^/\s:@]+:[^/\s@]+)@"),
    re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9/_-]+)"),
    re.compile(r"github_pat_(?P<s>[A-Za-z0-9_]+)"),
    re.compile(r"gh[pousr]_(?P<s>[A-Za-z0-9_]+)"),
    re.compile(r"(?:xox[abprs]|xapp)-(?P<s>[A-Za-z0-9-]+)"),
    re.compile(r"(?:AKIA|ASIA)(?P<s>[0-9A-Z]{16,})"),
    re.compile(rf"(?i)bearer\s+(?P<s>{_VALUE}{{6,}})"),
    re.compile(
        r"""(?i)(?:password|passwd|secret|token|api[_-]?key|access[_-]?key)["']?\s*[=:]\s*"""
        rf"""(?:"(?P<s1>[^"\n]*)"|'(?P<s2>[^'\n]*)'|(?P<s3>{_VALUE}+))"""
    ),
]


def secret_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) ranges of `text` that look like secrets, sorted and merged."""
    spans: list[tuple[int, int]] = []
    for rule in _RULES:
        for match in rule.finditer(text):
            for name, value in match.groupdict().items():
                if name.startswith("s") and value:
                    spans.append(match.span(name))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact(text: str) -> str:
    """`text` with every credential-looking substring replaced by `***`; other text unchanged."""
    parts: list[str] = []
    position = 0
    for start, end in secret_spans(text):
        parts += [text[position:start], MASK]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def redact_lines(lines: list[str]) -> list[str]:
    """`redact` applied to each line."""
    return [redact(line) for line in lines]
