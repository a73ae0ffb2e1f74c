"""Mask credentials in free text before it leaves Mender (store, Slack, comments, prompts, logs). Pure.

What is masked, every rule matched against the original text and the union of the secret spans masked
(one rule's match never hides another secret from its rule; over-eager by design):
- gitleaks' default rule set (222 rules, hundreds of vendors; `domain.shared.gitleaks_rules`, data
  under `secret_rules/`, MIT), with its keywords, entropy floors and allowlists;
- Mender's own rules (`domain.shared.secret_patterns`): vendor prefixes (GitHub, GitLab, npm, PyPI,
  Docker Hub, OpenAI, Stripe, Google, Slack, AWS, SendGrid, Twilio, Shopify, Vault), JWTs, Slack and
  Discord webhook URLs, `user:pass@` in URLs of every scheme, `Bearer`/`Authorization`, Azure
  `AccountKey=`/SAS `sig=`, `mysql -p...`, `--password VALUE`, `curl -u user:pass`, `.netrc` lines,
  `::add-mask::VALUE`, PEM private-key bodies, and the values of secret-named keys (`*TOKEN*=`,
  `password:`, `api_key=`, ...);
- the values Mender knows are secret (`remember_secrets`: its tokens, webhook and signing secrets).
The kind of secret stays readable (`ghp_***`, `password=***`); the secret does not.

Logs are scanned line by line, so some things need state: `Redactor.line` masks every line between
`-----BEGIN ... PRIVATE KEY-----` and its END line, each value a line declared with `::add-mask::VALUE`
for the rest of the log, and the literal values of configured secrets (`Redactor(secret_values=[...])`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

from domain.shared import gitleaks_rules
from domain.shared.keyword_index import KeywordIndex
from domain.shared.secret_patterns import MASK, RULES, SECRET_NAME

__all__ = ["MASK", "Redactor", "redact", "redact_data", "redact_lines", "remember_secrets", "secret_spans"]

MIN_SECRET_VALUE = 4  # shorter literal values are not masked: that would hide ordinary words
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
_ADD_MASK = re.compile(r"::add-mask::(.*\S)")
_SECRET_KEY = re.compile(SECRET_NAME, re.IGNORECASE)


@cache
def _rules() -> tuple[KeywordIndex, gitleaks_rules.Allowlist | None]:
    """Every rule behind one keyword index, built on first use (compiling gitleaks' rules takes ~0.3 s)."""
    scanner_rules, global_allowlist = gitleaks_rules.load()
    return KeywordIndex([*RULES, *scanner_rules]), global_allowlist


class SecretValues:
    """Literal secret values, matched as one regex; shared (and grown) by a redactor and its forks."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._regex: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        new = {v for v in values if len(v.strip()) >= MIN_SECRET_VALUE and v.strip("*")} - self._values
        if not new:
            return
        with self._lock:
            self._values |= new
            ordered = sorted(self._values, key=len, reverse=True)
            self._regex = re.compile("|".join(map(re.escape, ordered)))

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(sorted(self._values, key=len, reverse=True))

    def spans(self, text: str) -> list[tuple[int, int]]:
        regex = self._regex
        return [m.span() for m in regex.finditer(text)] if regex is not None else []


_known = SecretValues()


def remember_secrets(values: Iterable[str | None]) -> None:
    """Mask these values (Mender's own tokens and secrets) wherever `redact` or a `Redactor` runs."""
    _known.add(v for v in values if v)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def secret_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) ranges of `text` that look like secrets, sorted and merged."""
    spans: list[tuple[int, int]] = _known.spans(text)
    index, global_allowlist = _rules()
    for rule in index.candidates(text.lower()):
        if isinstance(rule, gitleaks_rules.ScannerRule):
            found = rule.spans(text, global_allowlist)
        else:
            found = rule.spans(text)
        spans.extend(span for span in found if text[span[0] : span[1]].strip("*"))
    return _merge(spans)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    parts: list[str] = []
    position = 0
    for start, end in spans:
        parts += [text[position:start], MASK]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def redact(text: str) -> str:
    """`text` with every credential-looking substring replaced by `***`; other text unchanged."""
    return _mask(text, secret_spans(text))


def redact_lines(lines: list[str]) -> list[str]:
    """`redact` applied to each line."""
    return [redact(line) for line in lines]


class Redactor:
    """Line-by-line redaction with memory: private-key blocks, `::add-mask::` values, configured secrets.

    `line(text)` masks what `redact` masks, every line inside a BEGIN/END PRIVATE KEY block (and the
    body after a BEGIN header), each value declared by an earlier (or this) `::add-mask::VALUE` line,
    and each literal value of `secret_values` (values shorter than 4 characters are ignored).
    """

    def __init__(self, secret_values: Iterable[str] = (), *, in_private_key: bool = False) -> None:
        self._secrets = SecretValues(secret_values)
        self.in_private_key = in_private_key

    @property
    def secret_values(self) -> tuple[str, ...]:
        return self._secrets.values

    def fork(self, in_private_key: bool) -> Redactor:
        """A redactor sharing these secret values (later `::add-mask::` too), in the given key state."""
        clone = Redactor.__new__(Redactor)
        clone._secrets, clone.in_private_key = self._secrets, in_private_key
        return clone

    def line(self, text: str) -> str:
        """`text` (one log line) redacted, given the lines seen before it."""
        prefix = ""
        if self.in_private_key:
            end = _PEM_END.search(text)
            if end is None:
                return MASK
            self.in_private_key = False
            prefix, text = (MASK if end.start() else ""), text[end.start() :]
        begins = list(_PEM_BEGIN.finditer(text))
        if begins and not _PEM_END.search(text, begins[-1].end()):
            self.in_private_key = True
        if "::add-mask::" in text:
            self._secrets.add(m.group(1).strip() for m in _ADD_MASK.finditer(text))
        spans = _merge([*secret_spans(text), *self._secrets.spans(text)])
        return prefix + _mask(text, spans)

    def lines(self, lines: Iterable[str]) -> list[str]:
        """`line` applied to each line in order."""
        return [self.line(text) for text in lines]


def redact_data(value: Any) -> Any:
    """`value` (JSON-like: dicts, lists, strings, numbers) with every string in it redacted; the string
    value of a secret-named key (`"password": "..."`, `"api_key": "..."`) is masked whole."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: MASK
            if isinstance(item, str) and item and _SECRET_KEY.search(str(key))
            else redact_data(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value
