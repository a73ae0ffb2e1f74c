"""Mask credentials in free text before it leaves Mender (Slack messages, comments, logs). Pure functions.

Masked: GitHub tokens (`ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_`, `github_pat_`), Slack tokens (`xox[abprs]-`,
`xapp-`) and incoming-webhook URLs, AWS access key ids (`AKIA`/`ASIA`), `Bearer <token>`, credentials in
URLs (`https://user:pass@host`) and the values of `password=`, `secret=`, `token=`, `api_key=` (also with
`:` and in quotes). The kind of secret stays readable (`ghp_***`, `password=***`); the secret does not.
Masking is over-eager by design: hiding a harmless word is cheaper than leaking a credential.
"""

from __future__ import annotations

import re

MASK = "***"

# (pattern, replacement); applied in order. Patterns are deliberately not anchored on word boundaries,
# so a secret glued to other text (`idghp_...`, `x=ghp_...`) is still found.
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+@"), MASK + "@"),
    (re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_-]+"), r"\1" + MASK),
    (re.compile(r"github_pat_[A-Za-z0-9_]+"), "github_pat_" + MASK),
    (re.compile(r"(gh[pousr]_)[A-Za-z0-9_]+"), r"\1" + MASK),
    (re.compile(r"(xox[abprs]-|xapp-)[A-Za-z0-9-]+"), r"\1" + MASK),
    (re.compile(r"(AKIA|ASIA)[0-9A-Z]{16,}"), r"\1" + MASK),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"), r"\1" + MASK),
    (
        re.compile(
            r"""(?i)((?:password|passwd|secret|token|api[_-]?key|access[_-]?key)["']?\s*[=:]\s*)"""
            r"""("[^"\n]*"|'[^'\n]*'|[^\s"',;&]+)"""
        ),
        r"\1" + MASK,
    ),
]


def redact(text: str) -> str:
    """`text` with every credential-looking substring masked; other text unchanged."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_lines(lines: list[str]) -> list[str]:
    """`redact` applied to each line."""
    return [redact(line) for line in lines]
