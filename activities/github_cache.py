"""Conditional and rate-gated requests for PyGithub: what Mender reads again and again (a PR, its check suites and runs,
statuses, reviews, the open PRs of a repository) costs a 304 when it has not changed, and GitHub does not
count a 304 against the rate limit.

PyGithub sends `If-None-Match` only from `GithubObject.update()`, on an object one keeps; activities
build a fresh client per call. So the client's `Requester` is given this subclass: every JSON GET
remembers its `ETag` and body per (credentials, URL) in a small process-wide LRU, sends `If-None-Match`
next time, and answers a 304 with the remembered body (status 200, the fresh rate-limit headers).
Every request, of any verb, also passes the process-wide rate-limit gate (`activities/github_gate.py`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from github import Consts
from github.Requester import Requester

from activities import github_gate

# A staleness check of an open PR reads 6 URLs (the PR, its head's suites, runs and statuses, its reviews,
# the comparison with its base): 1,000 entries held ~166 PRs, so on a 1,000-PR fleet every re-check
# found its answers evicted and paid full price. Bounded by entries and by the characters held.
MAX_ENTRIES = 20_000
MAX_CHARACTERS = 48 * 1024 * 1024  # of bodies held, in all
MAX_BODY = 512 * 1024  # characters: larger answers are not remembered


@dataclass(frozen=True)
class Remembered:
    etag: str
    headers: dict[str, Any]
    body: str


@dataclass
class Stats:
    not_modified: int = 0  # answered from memory after a 304
    fetched: int = 0  # a 200 to a GET


class ETagCache:
    def __init__(self, size: int = MAX_ENTRIES, characters: int = MAX_CHARACTERS) -> None:
        self._size, self._characters, self._lock = size, characters, threading.Lock()
        self._entries: OrderedDict[tuple[str, str], Remembered] = OrderedDict()
        self._held = 0  # characters of the bodies held
        self.stats = Stats()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[str, str]) -> Remembered | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], value: Remembered) -> None:
        """Remember `value`, forgetting the least recently used beyond the entries or characters held."""
        with self._lock:
            if (old := self._entries.pop(key, None)) is not None:
                self._held -= len(old.body)
            self._entries[key] = value
            self._held += len(value.body)
            while len(self._entries) > self._size or self._held > self._characters:
                self._held -= len(self._entries.popitem(last=False)[1].body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._held = 0
            self.stats = Stats()


CACHE = ETagCache()


def _credentials(requester: Requester) -> str:
    """Whose view of GitHub an answer is (GitHub varies answers by `Authorization`), and whose rate
    limits: a hash of the GitHub (API URL) and the token."""
    token = getattr(requester.auth, "token", None) if requester.auth is not None else None
    return hashlib.sha256(f"{requester.base_url}|{token}".encode()).hexdigest()[:16]


# PyGithub's one path for every request (JSON, multipart, blobs, streams): gated there. Private, so checked.
_ENCODE = "_Requester__requestEncode"
assert hasattr(Requester, _ENCODE), "PyGithub changed: gate its requests elsewhere"


class ConditionalRequester(Requester):
    writes_per_minute: int | None = None  # writes paced under this (`activities/github_pacing.py`)

    def _Requester__requestEncode(self, cnx: Any, verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Not sent inside a rate-limit window, a write not before its turn; a rate-limited answer opens
        a window (and raises)."""
        who = _credentials(self)
        github_gate.before_request(who, verb, url, self.writes_per_minute)
        status, headers, output = getattr(super(), _ENCODE)(cnx, verb, url, *args, **kwargs)
        github_gate.after_response(who, status, headers, output, verb)
        return status, headers, output

    def requestJson(
        self,
        verb: str,
        url: str,
        parameters: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        input: Any | None = None,
        cnx: Any = None,
        follow_302_redirect: bool = False,
    ) -> tuple[int, dict[str, Any], str]:
        asked = {k.lower() for k in headers or {}}
        if verb != "GET" or input is not None or "if-none-match" in asked or "if-modified-since" in asked:
            return super().requestJson(verb, url, parameters, headers, input, cnx, follow_302_redirect)
        address = url if url.startswith("http") else self.base_url + url
        query = "&".join(f"{k}={v}" for k, v in sorted((parameters or {}).items()))
        key = (_credentials(self), f"{address}?{query}")
        known = CACHE.get(key)
        sent = dict(headers or {})
        if known is not None:
            sent[Consts.REQ_IF_NONE_MATCH] = known.etag
        status, answered, body = super().requestJson(
            verb, url, parameters, sent, input, cnx, follow_302_redirect
        )
        if status == 304 and known is not None:
            CACHE.stats.not_modified += 1
            return 200, {**known.headers, **answered}, known.body
        if status == 200:
            CACHE.stats.fetched += 1
            etag = answered.get("etag")
            if etag and len(body) <= MAX_BODY:
                CACHE.put(key, Remembered(etag, answered, body))
        return status, answered, body


def take_write_turn(requester: Requester) -> None:
    """Before a remediation reads what it will write on: its turn to write (`github_gate.before_writing`)."""
    github_gate.before_writing(_credentials(requester), getattr(requester, "writes_per_minute", None))


def conditional(requester: Requester, writes_per_minute: int | None = None) -> Requester:
    """`requester`, now sending conditional GETs (its class is swapped: PyGithub builds its own) and its
    writes paced at `writes_per_minute` (None: not paced)."""
    requester.__class__ = ConditionalRequester
    requester.writes_per_minute = writes_per_minute  # type: ignore[attr-defined]
    return requester
