"""The dashboard's page frame and small HTML helpers (everything escaped; no script, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode

PAGES = (
    ("needs-me", "Needs me"),
    ("success", "Success"),
    ("ci", "CI"),
    ("health", "Health"),
    ("queues", "Queues"),
    ("review", "Review queue"),
)
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'"
)
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#111;background:#fafafa}
nav{background:#111827;padding:.6rem 1.5rem}nav a{color:#e5e7eb;margin-right:1.2rem;text-decoration:none}
nav a.here{color:#fff;font-weight:700;border-bottom:2px solid #60a5fa}main{padding:1rem 1.5rem;max-width:1200px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;background:#fff}td,th{border:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top;font-size:14px}th{background:#f3f4f6}.ok{color:#15803d}.bad{color:#b91c1c}
.muted{color:#6b7280}.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{background:#fff;padding:.5rem}
ol{margin:0;padding-left:1.2rem}
"""


def num(value: Any, digits: int = 2) -> str:
    """A number as shown on every page (the tests compare it with the API's value)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def cell(value: Any, **data: Any) -> str:
    attrs = "".join(f' data-{k}="{escape(str(v))}"' for k, v in data.items())
    raw = "" if value is None else escape(str(value))
    return f'<td{attrs} data-value="{raw}">{escape(num(value))}</td>'


def link(href: str, text: str) -> str:
    return f'<a href="{escape(href)}" rel="noopener">{escape(text)}</a>'


def table(headers: Sequence[str], rows: Sequence[str], empty: str = "nothing here") -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def query(params: dict[str, Any]) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"?{urlencode(kept)}" if kept else ""


def page(current: str, title: str, body: str, params: dict[str, Any]) -> str:
    nav = "".join(
        f'<a href="/dashboard/{slug}{escape(query(params))}"{" class=here" if slug == current else ""}>{name}</a>'
        for slug, name in PAGES
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Mender: {escape(title)}</title>"
        "<link rel='icon' href='data:,'>"
        f"<style>{STYLE}</style></head><body><nav>{nav}<a href='/dashboard/logout'>Sign out</a></nav>"
        f"<main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def login_page(error: str = "") -> str:
    message = f'<p class="bad">{escape(error)}</p>' if error else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Mender: sign in</title><link rel='icon' href='data:,'>"
        f"<style>{STYLE}</style></head><body><main><h1>Mender dashboard</h1>{message}"
        "<form method='post' action='/dashboard/login'><label>Admin API key (a read key is enough) "
        "<input type='password' name='key' autocomplete='off' required></label> "
        "<button type='submit'>Sign in</button></form></main></body></html>"
    )
