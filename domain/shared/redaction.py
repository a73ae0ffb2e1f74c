"""Mask credentials in free text before it leaves Mender (Slack messages, comments, logs). Pure functions.

Masked: GitHub tokens (`ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_`, `github_pat_`), GitLab (`glpat-`), npm
(`npm_`), OpenAI (`sk-`, 20+ characters), Google API keys (`AIza`), Stripe (`sk_live_`, `rk_live_`, ...)
and Slack tokens (`xox[abprs]-`, `xapp-`), Slack incoming-webhook URLs, JWTs (`eyJ...eyJ...sig`), AWS
access key ids (`AKIA`/`ASIA`), `Bearer <token>`, `Authorization: <scheme> <credentials>`, credentials
in URLs (`https://user:pass@host`), PEM private-key bodies, and the values of `KEY=value` / `KEY: value` /
`export KEY=value` whose name looks secret (contains TOKEN, SECRET, PASSWORD, PASSWD, API_KEY, APIKEY,
ACCESS_KEY, PRIVATE_KEY, CREDENTIAL or AUTH, any case; quoted values too). The kind of secret stays
readable (`ghp_***`, `password=***`); the secret does not.

Every rule is matched against the original text and the union of the secret spans is masked, so one
rule's match can never hide another secret from its rule. Masking is over-eager by design: hiding a
harmless word is cheaper than leaking a credential.

Logs are scanned line by line, so a private key spread over many lines needs state: `Redactor.line`
masks every line between `-----BEGIN ... PRIVATE KEY-----` and its END line, and the literal values of
configured secrets (`Redactor(secret_values=[...])`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
_VALUE = r"""[^\s"',;&]"""
_SECRET_NAME = (
    r"(?:password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential"
    r"|auth(?!or))"  # not author(s), authority, authorization (masked by its own rule)
)
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")

# Groups named `s...` are the secret parts. Not anchored on word boundaries on purpose, so a secret glued
# to other text (`idghp_...`, `x=ghp_...`) is still found. Each rule comes with lower-case triggers, one of
# which must occur in the (lowered) text for the rule to be tried: a cheap necessary condition.
_RULES: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
    (("://",), re.compile(r"://(?P<s>[^/\s:@]+:[^/\s@]+)@")),
    (
        ("hooks.slack.com",),
        re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9/_-]+)"),
    ),
    (("github_pat_",), re.compile(r"github_pat_(?P<s>[A-Za-z0-9_]+)")),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), re.compile(r"gh[pousr]_(?P<s>[A-Za-z0-9_]+)")),
    (("glpat-",), re.compile(r"glpat-(?P<s>[A-Za-z0-9_-]{20,})")),
    (("npm_",), re.compile(r"npm_(?P<s>[A-Za-z0-9]{36,})")),
    (("sk-",), re.compile(r"(?<![A-Za-z0-9])sk-(?P<s>[A-Za-z0-9_-]{20,})")),
    (("_live_", "_test_"), re.compile(r"(?:sk|rk|pk)_(?:live|test)_(?P<s>[0-9A-Za-z]{10,})")),
    (("aiza",), re.compile(r"AIza(?P<s>[0-9A-Za-z_-]{35})")),
    (("eyj",), re.compile(r"eyJ(?P<s>[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)")),
    (("xox", "xapp-"), re.compile(r"(?:xox[abprs]|xapp)-(?P<s>[A-Za-z0-9-]+)")),
    (("akia", "asia"), re.compile(r"(?:AKIA|ASIA)(?P<s>[0-9A-Z]{16,})")),
    (("bearer",), re.compile(rf"(?i)bearer\s+(?P<s>{_VALUE}{{6,}})")),
    (
        ("authorization",),
        re.compile(
            r"""(?i)authorization["']?\s*[=:]\s*["']?(?:(?:basic|bearer|token|digest)\s+)?+(?P<s>[^\s"',;&]{4,})"""
        ),
    ),
    (
        ("passw", "secret", "token", "api", "access", "private", "credential", "auth"),
        re.compile(
            rf"""(?i){_SECRET_NAME}[A-Za-z0-9_.-]*["']?\s*[=:]\s*"""
            rf"""(?!(?:unbound variable|parameter null or not set|parameter not set)\b)"""
            rf"""(?:"(?P<s1>[^"\n]*)"|'(?P<s2>[^'\n]*)'|(?P<s3>{_VALUE}+))"""
        ),
    ),
    (
        ("private key",),
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?P<s>.*?)"
            r"(?=-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
    ),
]


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
    spans: list[tuple[int, int]] = []
    lowered = text.casefold()
    for triggers, rule in _RULES:
        if not any(trigger in lowered for trigger in triggers):
            continue
        for match in rule.finditer(text):
            for name, value in match.groupdict().items():
                if name.startswith("s") and value and value != MASK:
                    spans.append(match.span(name))
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
    """Line-by-line redaction with memory: private-key blocks spanning lines and configured secret values.

    `line(text)` masks what `redact` masks, every line inside a BEGIN/END PRIVATE KEY block (and the
    body after a BEGIN header), and each literal value of `secret_values` (values shorter than 4
    characters are ignored: masking them would hide ordinary words).
    """

    def __init__(self, secret_values: Iterable[str] = (), *, in_private_key: bool = False) -> None:
        values = {v for v in secret_values if len(v) >= 4 and v.strip("*")}
        self.secret_values: tuple[str, ...] = tuple(sorted(values, key=len, reverse=True))
        self._values = re.compile("|".join(map(re.escape, self.secret_values))) if values else None
        self.in_private_key = in_private_key

    def fork(self, in_private_key: bool) -> Redactor:
        """A redactor with the same secret values and the given private-key state."""
        clone = Redactor.__new__(Redactor)
        clone.secret_values, clone._values = self.secret_values, self._values
        clone.in_private_key = in_private_key
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
        spans = secret_spans(text)
        if self._values is not None:
            spans = _merge([*spans, *(m.span() for m in self._values.finditer(text))])
        return prefix + _mask(text, spans)

    def lines(self, lines: Iterable[str]) -> list[str]:
        """`line` applied to each line in order."""
        return [self.line(text) for text in lines]
