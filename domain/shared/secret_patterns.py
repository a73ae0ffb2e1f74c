"""Mender's own secret rules: vendor token prefixes, credentials written the way CI logs print them, and
the values of secret-named keys. gitleaks' rules (`domain.shared.gitleaks_rules`) add hundreds of vendors.

Each rule has lower-case keywords (one must occur in the lowered text for the rule to be tried) and a
regex whose groups named `s...` are the secret parts. Not anchored on word boundaries on purpose, so a
secret glued to other text (`idghp_...`, `x=ghp_...`) is still found. The kind of secret stays readable
(`ghp_***`, `password=***`, `https://***@host`); the secret does not.

To add a format: append a `PatternRule` below (keywords, regex with an `s` group), add an example to
`bench/secret_formats.py` and run `make bench-redaction`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MASK = "***"
VALUE = r"""[^\s"',;&\x1b]"""
# An unquoted value ends before `@host/` or `@host:` (the rest of a URL whose credentials it is).
_UNQUOTED = r"""(?:[^\s"',;&@\x1b]|@(?![A-Za-z0-9.-]+\.[A-Za-z]{2,}[:/]))+"""
_QUOTED = rf"""(?:"(?P<s1>[^"\n]*)"|'(?P<s2>[^'\n]*)'|(?P<s3>{_UNQUOTED}))"""
SECRET_NAME = (
    r"(?:password|passwd|pwd\b|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential"
    r"|account[_-]?key|shared[_-]?access[_-]?(?:key|signature)|auth(?!or))"  # not author(s), authority
)


# Documented token prefixes whose tokens gitleaks only finds next to the vendor's name: (prefix, body).
VENDOR_PREFIXES: tuple[tuple[str, str], ...] = (
    ("whsec_", r"[A-Za-z0-9+/=]{24,}"),  # Stripe webhook signing secret
    ("ya29.", r"[\w-]{20,}"),  # Google OAuth access token
    ("aio_", r"[A-Za-z0-9]{28}"),  # Adafruit IO
    ("ATATT3", r"[\w=-]{40,}"),  # Atlassian API token
    ("ATBB", r"[A-Za-z0-9]{28,}"),  # Bitbucket app password
    ("bkua_", r"[a-f0-9]{40}"),  # Buildkite
    ("CCIPAT_", r"[\w]{30,}"),  # CircleCI personal token
    ("CFPAT-", r"[\w-]{40,}"),  # Contentful
    ("ddp_", r"[A-Za-z0-9]{36}"),  # Deno Deploy
    ("key-", r"[a-f0-9]{32}(?![a-f0-9])"),  # Mailgun
    ("NRAK-", r"[A-Z0-9]{27}"),  # New Relic user key
    ("oy2", r"[a-z0-9]{43}"),  # NuGet
    ("r8_", r"[A-Za-z0-9]{37}"),  # Replicate
    ("squ_", r"[a-f0-9]{40}"),  # SonarQube user token
    ("sqp_", r"[a-f0-9]{40}"),  # SonarQube project token
    ("sqa_", r"[a-f0-9]{40}"),  # SonarQube analysis token
    ("sq0csp-", r"[\w-]{40,}"),  # Square OAuth secret
    ("tfp_", r"[\w.=-]{40,}"),  # Typeform
    ("sk.eyJ", r"[\w-]{20,}\.[\w-]{20,}"),  # Mapbox secret token
    ("AAAA", r"[\w-]{7}:APA91b[\w-]{100,}"),  # Firebase Cloud Messaging server key
)


# Values that name a secret without being one: `<PASSWORD>`, `$TOKEN`, `${{ secrets.X }}`, `%KEY%`, `[MASKED]`.
_PLACEHOLDER = re.compile(
    r"<[^<>\s]+>|\$\w+|\$\{[^}]*\}|%\w+%|\[MASKED\]|\*+|[`'\"]?[^`'\"]*(?:\$\{|\{\{)[^`'\"]*[`'\"]?"
)


# A secret-looking name that is a file: `credentials_test.go:63:2:`, `test_auth.py::test_x`, `token.py: ...`
_FILE_REFERENCE = (
    r"^[\w-]*\.(?:[A-Za-z0-9]{1,10}:(?:\d|:)|(?:py|go|js|jsx|ts|tsx|rb|java|kt|rs|c|h|cc|cpp|hpp|cs|php|swift"
    r"|scala|sh|pl|ex|exs|erl|lua|dart|vue|yml|yaml|json|toml|xml|gradle|tf|md|txt|lock|cfg|ini|html|css|sql):)"
)


# Values no secret has: a boolean, a null, or a word of three letters or fewer (`required= to false`).
_NOT_A_SECRET = re.compile(r"(?i)true|false|yes|no|on|off|null|none|nil|[a-z]{1,3}")


def is_placeholder(value: str) -> bool:
    """True for a value that stands for a secret (a variable, a template, a mask) or cannot be one (a
    boolean, a null, a short word) rather than being one."""
    return _PLACEHOLDER.fullmatch(value) is not None or _NOT_A_SECRET.fullmatch(value) is not None


@dataclass(frozen=True)
class PatternRule:
    """A regex with `s...` groups marking the secret, tried only when one of `keywords` occurs."""

    id: str
    keywords: tuple[str, ...]
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None = None  # a match this finds in is no secret

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            if self.unless is not None and self.unless.search(match.group(0)):
                continue
            for name, value in match.groupdict().items():
                if name.startswith("s") and value and not is_placeholder(value):
                    yield match.span(name)


def _rule(
    id: str, keywords: tuple[str, ...], pattern: str, flags: int = 0, unless: str | None = None
) -> PatternRule:
    return PatternRule(id, keywords, re.compile(pattern, flags), re.compile(unless) if unless else None)


RULES: tuple[PatternRule, ...] = (
    # user:password@ in a URL of any scheme (https, git, redis with an empty user, postgres, amqp, ftp...)
    _rule("url-credentials", ("://",), r"://(?P<s>[^/\s:@]*:[^/\s]*)@"),
    _rule(
        "slack-webhook",
        ("hooks.slack.com",),
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9/_-]+)",
    ),
    _rule("discord-webhook", ("discord",), r"discord(?:app)?\.com/api/webhooks/(?P<s>\d+/[\w-]+)"),
    _rule("telegram-bot-url", ("api.telegram.org/bot",), r"api\.telegram\.org/bot(?P<s>\d+:[\w-]+)"),
    _rule("github-fine-grained", ("github_pat_",), r"github_pat_(?P<s>[A-Za-z0-9_]+)"),
    _rule("github", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"gh[pousr]_(?P<s>[A-Za-z0-9_]+)"),
    _rule(
        "gitlab",
        ("glpat-", "glptt-", "gldt-", "glrt-", "glcbt-", "glimt-", "gloas-", "glsoat-", "glft-", "glagent-"),
        r"gl(?:pat|ptt|dt|rt|cbt|imt|oas|soat|ft|agent)-(?P<s>[A-Za-z0-9_-]{20,})",
    ),
    _rule("npm", ("npm_",), r"npm_(?P<s>[A-Za-z0-9]{36,})"),
    _rule("pypi", ("pypi-",), r"pypi-(?P<s>[A-Za-z0-9_-]{32,})"),
    _rule("docker-hub", ("dckr_",), r"dckr_(?:pat|oat)_(?P<s>[A-Za-z0-9_-]{16,})"),
    _rule("openai", ("sk-",), r"(?<![A-Za-z0-9])sk-(?P<s>[A-Za-z0-9_-]{20,})"),
    _rule("stripe", ("_live_", "_test_"), r"(?:sk|rk|pk)_(?:live|test)_(?P<s>[0-9A-Za-z]{10,})"),
    _rule("google-api-key", ("aiza",), r"AIza(?P<s>[0-9A-Za-z_-]{35})"),
    _rule("jwt", ("eyj",), r"eyJ(?P<s>[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)"),
    _rule("slack-token", ("xox", "xapp-"), r"(?:xox[abeoprs]|xapp)-(?P<s>[A-Za-z0-9-]+)"),
    _rule("aws-access-key", ("akia", "asia"), r"(?:AKIA|ASIA)(?P<s>[0-9A-Z]{16,})"),
    _rule("sendgrid", ("sg.",), r"SG\.(?P<s>[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})"),
    _rule("twilio-api-key", ("sk",), r"(?<![A-Za-z0-9])SK(?P<s>[0-9a-fA-F]{32})(?![0-9a-fA-F])"),
    _rule("shopify", ("shpat_", "shpca_", "shppa_", "shpss_"), r"shp(?:at|ca|pa|ss)_(?P<s>[a-fA-F0-9]{32})"),
    _rule("vault", ("hvs.", "hvb.", "hvr."), r"hv[sbr]\.(?P<s>[A-Za-z0-9_-]{20,})"),
    *(
        _rule(f"prefix-{prefix}", (prefix.lower(),), rf"(?<![A-Za-z0-9]){re.escape(prefix)}(?P<s>{body})")
        for prefix, body in VENDOR_PREFIXES
    ),
    # Azure storage connection strings and SAS tokens: AccountKey=...; SharedAccessSignature=...; sig=...
    _rule("azure-sas-signature", ("sig=",), r"[?&;\s]sig=(?P<s>[^&\s\"';]+)"),
    # mysql -u root -pS3cret, mysqldump -p'S3cret', sshpass -p S3cret
    _rule(
        "mysql-password-flag",
        ("mysql", "mariadb"),
        r"""(?i)\b(?:mysql\w*|mariadb\w*)\b[^\n]*?\s-p(?:'(?P<s1>[^']+)'|"(?P<s2>[^"]+)"|(?P<s3>[^\s'"]+))""",
    ),
    _rule("sshpass", ("sshpass",), r"sshpass\s+-p\s*(?P<s>\S+)"),
    # --password VALUE, --token VALUE (the `=` form is a secret-named key below)
    _rule(
        "password-flag",
        ("--", "-p"),
        r"""(?i)(?:^|\s)--?(?:password|passwd|pass|token|secret|api-key|apikey|access-token|auth-token)\s+"""
        r"""(?:'(?P<s1>[^']+)'|"(?P<s2>[^"]+)"|(?P<s3>(?!-)[^\s'"]+))""",
    ),
    # curl -u user:password, curl --user=user:password, wget --http-password
    _rule(
        "user-password-flag",
        ("-u", "--user"),
        r"""(?:^|\s)(?:-u|--user)(?:\s*|=)['"]?[^\s:'"@/-][^\s:'"@/]*:(?P<s>[^\s'"/][^\s'"]*)""",
    ),
    # .netrc: `machine host login bot password pw`, or `password pw` alone on its line
    _rule(
        "netrc",
        ("password", "passwd"),
        r"(?im)(?:\blogin\s+\S+\s+|^\s*)(?:password|passwd)\s+(?P<s>[^\s=:]\S*)(?=\s*$|\s+machine\b)",
    ),
    # GitHub Actions' `::add-mask::VALUE` (the value is also masked for the rest of the log by `Redactor`)
    _rule("add-mask", ("::add-mask::",), r"::add-mask::(?P<s>.*\S)"),
    _rule("bearer", ("bearer",), rf"(?i)bearer\s+(?P<s>{VALUE}{{6,}})"),
    _rule(
        "authorization",
        ("authorization",),
        r"""(?i)authorization["']?\s*[=:]\s*["']?(?:(?:basic|bearer|token|digest)\s+)?+(?P<s>[^\s"',;&]{4,})""",
    ),
    _rule(
        "secret-named-key",
        ("passw", "pwd", "secret", "token", "api", "access", "private", "credential", "auth", "accountkey"),
        rf"""(?i){SECRET_NAME}[A-Za-z0-9_.-]{{0,40}}["']?\s*[=:]\s*"""
        rf"""(?!(?:unbound variable|parameter null or not set|parameter not set)\b){_QUOTED}""",
        unless=_FILE_REFERENCE,
    ),
    _rule(
        "private-key",
        ("private key",),
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?P<s>.*?)"
        r"(?=-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        re.DOTALL,
    ),
)
