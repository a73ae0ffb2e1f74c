"""Credential formats as CI logs print them, with random secret parts: the corpus of `bench/redaction.py`.

Each format is a template written from the vendor's documented token shape (never from Mender's rules).
Placeholders `{kind:n}` draw n random characters: A alphanumeric, a lower-case alphanumeric, U upper-case
alphanumeric, h hex, d digits, b base64, u base64url, L letters, B bech32; `{uuid}` a UUID, `{same}` the value drawn last. A bare token (`bare=True`) is set
into neutral log contexts that name no secret; other templates are whole lines. Lines joined by `\\n` are
fed to one `Redactor` in order (`::add-mask::`, private keys).
"""

from __future__ import annotations

import random
import re
import string
import uuid
from dataclasses import dataclass

ALPHABETS = {
    "A": string.ascii_letters + string.digits,
    "a": string.ascii_lowercase + string.digits,
    "U": string.ascii_uppercase + string.digits,
    "h": "0123456789abcdef",
    "d": string.digits,
    "b": string.ascii_letters + string.digits + "+/",
    "u": string.ascii_letters + string.digits + "-_",
    "L": string.ascii_letters,
    "B": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",  # bech32
}
_PLACEHOLDER = re.compile(r"\{(?:(?P<kind>[AaUhdbuLB]):(?P<n>\d+)|(?P<uuid>uuid)|(?P<same>same))\}")
NEUTRAL_CONTEXTS = (
    "Using {} for the upload",
    "echo {} | deploy-cli login --stdin",
    "remote: rejected value '{}' (see docs)",
    "  {}",
    'curl -sS https://api.example.org/v1/items -d \'{{"value": "{}"}}\'',
)


@dataclass(frozen=True)
class Format:
    name: str
    template: str
    bare: bool = True


def _f(name: str, template: str, bare: bool = True) -> Format:
    return Format(name, template, bare)


FORMATS: tuple[Format, ...] = (
    _f("github classic pat", "ghp_{A:36}"),
    _f("github oauth", "gho_{A:36}"),
    _f("github user-to-server", "ghu_{A:36}"),
    _f("github server-to-server", "ghs_{A:36}"),
    _f("github refresh", "ghr_{A:36}"),
    _f("github fine-grained pat", "github_pat_{A:22}_{A:59}"),
    _f("gitlab pat", "glpat-{u:20}"),
    _f("gitlab pipeline trigger", "glptt-{h:40}"),
    _f("gitlab deploy token", "gldt-{u:20}"),
    _f("gitlab runner token", "glrt-{u:20}"),
    _f("npm token", "npm_{A:36}"),
    _f("pypi token", "pypi-AgEIcHlwaS5vcmc{u:70}"),
    _f("pypi token (short form)", "pypi-{u:48}"),
    _f("docker hub pat", "dckr_pat_{u:27}"),
    _f("openai key", "sk-{A:48}"),
    _f("openai project key", "sk-proj-{u:64}"),
    _f("anthropic key", "sk-ant-api03-{u:93}AA"),
    _f("stripe live secret", "sk_live_{A:24}"),
    _f("stripe restricted", "rk_live_{A:24}"),
    _f("stripe test secret", "sk_test_{A:24}"),
    _f("stripe webhook secret", "whsec_{A:32}"),
    _f("google api key", "AIza{u:35}"),
    _f("google oauth access token", "ya29.{u:60}"),
    _f("jwt", "eyJ{u:20}.eyJ{u:40}.{u:43}"),
    _f("slack bot token", "xoxb-{d:12}-{d:12}-{A:24}"),
    _f("slack user token", "xoxp-{d:12}-{d:12}-{d:12}-{h:32}"),
    _f("slack app token", "xapp-1-{U:11}-{d:13}-{h:64}"),
    _f("slack webhook", "https://hooks.slack.com/services/T{U:8}/B{U:8}/{A:24}"),
    _f("aws access key id", "AKIA{U:16}"),
    _f("aws session key id", "ASIA{U:16}"),
    _f("aws secret key", "aws_secret_access_key = {b:40}", bare=False),
    _f("sendgrid", "SG.{u:22}.{u:43}"),
    _f("twilio api key", "SK{h:32}"),
    _f("twilio auth token", "TWILIO_AUTH_TOKEN={h:32}", bare=False),
    _f("shopify access token", "shpat_{h:32}"),
    _f("shopify shared secret", "shpss_{h:32}"),
    _f("shopify custom app", "shpca_{h:32}"),
    _f("shopify private app", "shppa_{h:32}"),
    _f("vault service token", "hvs.{u:90}"),
    _f("vault batch token", "hvb.{u:100}"),
    _f("discord webhook", "https://discord.com/api/webhooks/{d:18}/{u:68}"),
    _f("discord bot token", "DISCORD_BOT_TOKEN=M{A:23}.{u:6}.{u:27}", bare=False),
    _f(
        "azure storage connection string",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={b:86}==;EndpointSuffix=core.windows.net",
        bare=False,
    ),
    _f(
        "azure sas url",
        "https://acme.blob.core.windows.net/c/a.zip?sv=2022-11-02&ss=b&sp=r&se=2027-01-01&sig={b:40}%3D",
        bare=False,
    ),
    _f(
        "azure service bus",
        "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={b:43}=",
        bare=False,
    ),
    _f("azure ad client secret", "{A:3}8Q~{u:34}"),
    _f("mysql -p", "mysql -h db -u root -p{A:14} -e 'select 1'", bare=False),
    _f("mysqldump -p quoted", "mysqldump -u app -p'{A:14}' app > dump.sql", bare=False),
    _f("redis url empty user", "redis-cli -u redis://:{A:16}@cache:6379/0 ping", bare=False),
    _f("postgres url", "DATABASE_URL is postgres://app:{A:16}@db:5432/app", bare=False),
    _f("mongodb srv url", "connecting to mongodb+srv://app:{A:16}@cluster0.x1y2z.mongodb.net/db", bare=False),
    _f("amqp url", "broker amqp://guest:{A:16}@rabbit:5672//", bare=False),
    _f("ftp url", "fetch ftp://mirror:{A:12}@ftp.example.org/pub/x.tar", bare=False),
    _f(
        "git https credentials", "git clone https://x-access-token:{A:40}@github.com/acme/api.git", bare=False
    ),
    _f("curl -u", "curl -fsS -u admin:{A:14} https://nexus.example.org/repo", bare=False),
    _f("curl --user", "curl --user deploy:{A:14} -T a.zip https://up.example.org", bare=False),
    _f("netrc one line", "machine api.heroku.com login me@example.org password {h:36}", bare=False),
    _f("netrc password line", "machine github.com\n  login bot\n  password {A:20}", bare=False),
    _f("add-mask", "::add-mask::{A:20}\nDeploying with key {same}", bare=False),
    _f(
        "pem private key",
        "-----BEGIN RSA PRIVATE KEY-----\n{b:64}\n{b:64}\n-----END RSA PRIVATE KEY-----",
        bare=False,
    ),
    _f(
        "openssh private key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{b:70}\n-----END OPENSSH PRIVATE KEY-----",
        bare=False,
    ),
    _f(
        "gcp service account json",
        '"private_key": "-----BEGIN PRIVATE KEY-----\\n{b:64}\\n-----END PRIVATE KEY-----\\n",',
        bare=False,
    ),
    _f("bearer header", 'curl -H "Authorization: Bearer {u:40}" https://api.example.org', bare=False),
    _f("basic auth header", "Authorization: Basic {b:24}", bare=False),
    _f("token auth header", "authorization: token {h:40}", bare=False),
    _f(
        "private-token header", "curl --header 'PRIVATE-TOKEN: {u:20}' https://gitlab.example.org", bare=False
    ),
    _f("x-api-key header", "x-api-key: {A:32}", bare=False),
    _f("docker login --password", "docker login -u bot --password {A:16} registry.example.org", bare=False),
    _f("--token flag", "vercel deploy --token {A:24} --prod", bare=False),
    _f("sshpass", "sshpass -p {A:12} ssh deploy@host", bare=False),
    _f("heroku api key v2", "HRKU-AA{u:58}"),
    _f("heroku api key uuid", "HEROKU_API_KEY={uuid}", bare=False),
    _f("datadog api key", "DD_API_KEY={h:32}", bare=False),
    _f("new relic user key", "NRAK-{U:27}"),
    _f("sentry user token", "sntryu_{h:64}"),
    _f("doppler token", "dp.pt.{A:43}"),
    _f("linear api key", "lin_api_{A:40}"),
    _f("notion token", "ntn_{d:11}{A:35}"),
    _f("atlassian api token", "ATATT3xFfGF0{u:180}"),
    _f("digitalocean pat", "dop_v1_{h:64}"),
    _f("digitalocean oauth", "doo_v1_{h:64}"),
    _f("hugging face token", "hf_{L:34}"),
    _f("replicate token", "r8_{A:37}"),
    _f("grafana service account", "glsa_{A:32}_{h:8}"),
    _f("grafana cloud token", "glc_eyJ{b:80}"),
    _f("postman api key", "PMAK-{h:24}-{h:34}"),
    _f("pulumi token", "pul-{h:40}"),
    _f("terraform cloud token", "{a:14}.atlasv1.{u:67}"),
    _f("mailgun key", "key-{h:32}"),
    _f("mailchimp key", "MAILCHIMP_API_KEY={h:32}-us12", bare=False),
    _f("planetscale token", "pscale_tkn_{u:43}"),
    _f("planetscale password", "pscale_pw_{u:43}"),
    _f("databricks token", "dapi{h:32}"),
    _f("dynatrace token", "dt0c01.{U:24}.{U:64}"),
    _f("square access token", "sq0atp-{u:22}"),
    _f("square oauth secret", "sq0csp-{u:43}"),
    _f("shippo token", "shippo_live_{h:40}"),
    _f("adafruit io key", "aio_{A:28}"),
    _f("age secret key", "AGE-SECRET-KEY-1{B:58}"),
    _f("alibaba access key id", "LTAI{A:20}"),
    _f("clojars token", "CLOJARS_{a:60}"),
    _f("contentful pat", "CFPAT-{u:43}"),
    _f("duffel token", "duffel_live_{u:43}"),
    _f("easypost key", "EZAK{A:54}"),
    _f("flutterwave secret", "FLWSECK_TEST-{h:32}-X"),
    _f("frame.io token", "fio-u-{u:64}"),
    _f("prefect token", "pnu_{A:36}"),
    _f("readme token", "rdme_{a:70}"),
    _f("rubygems key", "rubygems_{h:48}"),
    _f("scalingo token", "tk-us-{u:48}"),
    _f("telegram bot url", "https://api.telegram.org/bot{d:10}:AA{u:33}/sendMessage", bare=False),
    _f("typeform token", "tfp_{u:59}"),
    _f("infracost key", "ico-{A:32}"),
    _f("okta token", "OKTA_API_TOKEN=00{u:40}", bare=False),
    _f("firebase fcm server key", "AAAA{u:7}:APA91b{u:134}"),
    _f("docker config auth", '"auth": "{b:40}"', bare=False),
    _f("kubectl token", "kubectl --token={u:40} get pods", bare=False),
    _f("harness pat", "pat.{A:22}.{A:24}.{A:20}"),
    _f("snyk token", "SNYK_TOKEN={uuid}", bare=False),
    _f("codecov token", "CODECOV_TOKEN={uuid}", bare=False),
    _f("nuget key", "oy2{a:43}"),
    _f("sonarqube token", "squ_{h:40}"),
    _f("jfrog api key", "AKCp{A:69}"),
    _f("buildkite token", "bkua_{h:40}"),
    _f("circleci pat", "CCIPAT_{A:22}_{h:40}"),
    _f("deno deploy token", "ddp_{A:36}"),
    _f("bitbucket app password", "ATBB{A:32}"),
    _f("mapbox secret token", "sk.eyJ{u:60}.{u:22}"),
    _f("password= in env", "export DB_PASSWORD={A:16}", bare=False),
    _f("--password= flag", "flyway migrate --password={A:16}", bare=False),
    _f("client secret json", '{{"client_secret": "{A:32}"}}', bare=False),
    _f("yaml api key", "  api_key: {A:32}", bare=False),
)


def _fill(template: str, rng: random.Random) -> tuple[str, list[str]]:
    parts: list[str] = []

    def draw(match: re.Match[str]) -> str:
        if match.group("same"):
            return parts[-1]
        if match.group("uuid"):
            value = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        else:
            alphabet = ALPHABETS[match.group("kind")]
            value = "".join(rng.choice(alphabet) for _ in range(int(match.group("n"))))
        parts.append(value)
        return value

    text = _PLACEHOLDER.sub(draw, template.replace("{{", "\x00").replace("}}", "\x01"))
    return text.replace("\x00", "{").replace("\x01", "}"), parts


def samples(per_format: int = 2, seed: int = 19) -> list[tuple[str, str, list[str]]]:
    """(format name, log text, secret parts that must not survive) for each format, `per_format` times."""
    rng = random.Random(seed)
    out = []
    for number, fmt in enumerate(FORMATS):
        for copy in range(per_format):
            text, parts = _fill(fmt.template, rng)
            if fmt.bare:
                text = NEUTRAL_CONTEXTS[(number + copy) % len(NEUTRAL_CONTEXTS)].format(text)
            out.append((fmt.name, text, [p for p in parts if len(p) >= 6]))
    return out
