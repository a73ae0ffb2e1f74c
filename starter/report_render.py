"""Render a report body (JSON-shaped) as Markdown or as a self-contained HTML page."""

from __future__ import annotations

from html import escape
from typing import Any


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value) or "-"
    return str(value)


def _label(key: str) -> str:
    return key.replace("_", " ")


def _sections(body: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, list[str], list[list[Any]]]]]:
    """Scalars (and short values) apart; lists of records and dicts of records as tables."""
    scalars: dict[str, Any] = {}
    tables: list[tuple[str, list[str], list[list[Any]]]] = []
    for key, value in body.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns = list(value[0])
            tables.append((key, columns, [[v.get(c) for c in columns] for v in value]))
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            columns = sorted({c for v in value.values() for c in v})
            tables.append(
                (key, ["", *columns], [[k, *(v.get(c) for c in columns)] for k, v in value.items()])
            )
        elif (
            isinstance(value, dict)
            and len(value) > 4
            and all(not isinstance(v, dict | list) for v in value.values())
        ):
            tables.append((key, ["name", "value"], [[k, v] for k, v in value.items()]))
        else:
            scalars[key] = value
    return scalars, tables


def render_markdown(title: str, meta: dict[str, str], body: dict[str, Any]) -> str:
    scalars, tables = _sections(body)
    lines = [f"# {title}", "", *(f"_{k}: {v}_  " for k, v in meta.items()), ""]
    lines += [f"- **{_label(k)}**: {_cell(v)}" for k, v in scalars.items()]
    for name, columns, rows in tables:
        lines += ["", f"## {_label(name).capitalize()}", ""]
        lines.append("| " + " | ".join(_label(c) for c in columns) + " |")
        lines.append("|" + "---|" * len(columns))
        lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:980px;color:#111}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#f3f4f6}.meta{color:#555}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}.chart{display:block;margin:1rem 0}
"""


def render_html(title: str, meta: dict[str, str], body: dict[str, Any], charts: list[str]) -> str:
    scalars, tables = _sections(body)
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>",
        *(f"<p class='meta'>{escape(k)}: {escape(v)}</p>" for k, v in meta.items()),
        *charts,
        "<dl>",
        *(f"<dt>{escape(_label(k))}</dt><dd>{escape(_cell(v))}</dd>" for k, v in scalars.items()),
        "</dl>",
    ]
    for name, columns, rows in tables:
        parts.append(f"<h2>{escape(_label(name).capitalize())}</h2><table><tr>")
        parts += [f"<th>{escape(_label(c))}</th>" for c in columns]
        parts.append("</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)
