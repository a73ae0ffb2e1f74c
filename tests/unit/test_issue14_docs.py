"""What issue 14 asks the documentation to say, checked so it cannot drift: the environment of a worker
or starter run by hand (`docs/operations.md`) names every variable the process reads
(`runtime.settings.Environment`), and every row of the README's fault table shows no action doubled and
no event lost."""

from __future__ import annotations

import re
from pathlib import Path

from runtime.settings import Environment

ROOT = Path(__file__).resolve().parents[2]


def test_running_a_worker_by_hand_documents_every_environment_variable() -> None:
    section = (ROOT / "docs" / "operations.md").read_text().split("**A worker (or starter) by hand**")[1]
    table = section.split("\n\n", 2)[1]  # the table after the first paragraph
    names = set(re.findall(r"`([A-Z_]+)", table))
    names |= {a + b for a, b in re.findall(r"`([A-Z_]+)\[(_[A-Z]+)\]", table)}  # `NAME[_FILE]`
    names |= {a + b for a, b in re.findall(r"`([A-Z_]+)` \(`(_[A-Z]+)`\)", table)}  # `NAME` (`_PREVIOUS`)
    missing = [name.upper() for name in Environment.model_fields if name.upper() not in names]
    assert missing == [], f"document {missing} in docs/operations.md (a worker by hand)"


def test_the_readme_fault_table_shows_nothing_doubled_and_nothing_lost() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Faults it survives")[1].split("\n\n| fault |")[1].split("\n\n")[0]
    header, _, *rows = ["| fault |" + table.split("\n", 1)[0], *table.split("\n")[1:]]
    columns = [c.strip() for c in header.strip("|").split("|")]
    doubled, lost = columns.index("actions doubled"), columns.index("events lost")
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows if row.startswith("|")]
    assert len(cells) >= 8, cells  # baseline, webhooks, Temporal, GitHub, store, four kill rows
    assert [(r[0], r[doubled], r[lost]) for r in cells if (r[doubled], r[lost]) != ("0", "0")] == []
