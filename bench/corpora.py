"""The labelled CI log corpora of `../shared/fixtures`, split by repository into a tuning and a held-out half.

Two corpora: `keylines` (full Travis CI logs of LogChunks and GitHub Actions breakages of CiDiff, with
the line ranges their authors marked as the failure) and `ci-logs` (52 excerpts with one key line). Each
log belongs to a repository; a repository's half is fixed by the parity of the first byte of the SHA-256
of its lower-case `owner/name`, so the same repository falls in the same half in both corpora and the
split never depends on results. Half `tune` may be looked at and tuned on; half `held-out` never.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path


def _shared_fixtures() -> Path:
    """`$MENDER_SHARED_FIXTURES`, else the nearest `shared/fixtures` beside an ancestor of this checkout."""
    if configured := os.environ.get("MENDER_SHARED_FIXTURES"):
        return Path(configured)
    for ancestor in Path(__file__).resolve().parents[1].parents:
        if (candidate := ancestor / "shared" / "fixtures").is_dir():
            return candidate
    return Path(__file__).resolve().parents[2] / "shared" / "fixtures"


SHARED = _shared_fixtures()
TUNE, HELD_OUT = "tune", "held-out"
_ANSI = re.compile(r"(?:\x1b)?\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[@-Z\\-_]")
_PAREN_REPO = re.compile(r"\((?:[A-Za-z]+ )?([\w.-]+/[\w.-]+)[ )]")
_LEAD_REPO = re.compile(r"^([\w.-]+/[\w.-]+)[ @]")


def half_of(repository: str) -> str:
    """`tune` or `held-out`, from the repository name alone."""
    return TUNE if hashlib.sha256(repository.lower().encode()).digest()[0] % 2 == 0 else HELD_OUT


def clean(text: str) -> str:
    """A line without ANSI codes (with or without the ESC byte) and surrounding whitespace."""
    return _ANSI.sub("", text).strip()


@dataclass
class Item:
    """One labelled log."""

    corpus: str
    name: str
    path: Path
    repository: str
    category: str
    action: str
    truth: list[str]  # labelled lines, cleaned: the key line is a hit when it occurs inside one
    pass_path: Path | None = None
    ambiguous: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def half(self) -> str:
        return half_of(self.repository)

    def hit(self, key_line: str) -> bool:
        """The key line occurs inside a labelled line (verbatim, or both cleaned of ANSI and blanks)."""
        raw, cleaned = key_line.strip(), clean(key_line)
        if not raw:
            return False
        return any(raw in truth or (cleaned and cleaned in truth) for truth in self.truth)


def _lf_lines(path: Path) -> list[str]:
    return [line.removesuffix("\r") for line in path.read_bytes().decode("utf-8", "replace").split("\n")]


def keylines(root: Path = SHARED / "keylines") -> list[Item]:
    """The key-line corpus: truth lines are the labelled ranges (the README's scoring rule)."""
    items = []
    for row in (root / "labels.jsonl").read_text().splitlines():
        label = json.loads(row)
        path = root / label["file"]
        if label["dataset"] == "cidiff":
            repository = "hashicorp/terraform"
        else:
            repository = label["file"].split("__")[1].replace("@", "/", 1)
        lines = _lf_lines(path)
        truth = [
            text
            for start, end in label["truth_lines"]
            for text in (line.strip() for line in lines[start - 1 : end])
            if text
        ]
        truth += [clean(text) for text in truth]
        items.append(
            Item(
                corpus=f"keylines/{label['dataset']}",
                name=label["file"],
                path=path,
                repository=repository,
                category=label["category"],
                action=label["expected_action"],
                truth=truth,
                pass_path=root / label["pass_file"] if label.get("pass_file") else None,
                ambiguous=bool(label.get("ambiguous")),
            )
        )
    return items


def _repository_of(source: str, file: str) -> str:
    found = _PAREN_REPO.search(source) or _LEAD_REPO.search(source)
    if found is not None and not found.group(1).lower().startswith("labri-progress/"):
        return found.group(1)
    breakage = re.search(r"data/breakages/([A-Za-z]+)", source)
    return f"cidiff-jenkins/{breakage.group(1)}" if breakage else f"unknown/{file}"


def ci_logs(root: Path = SHARED / "ci-logs") -> list[Item]:
    """The 52 excerpts: the truth is the single labelled key line."""
    items = []
    for row in (root / "labels.jsonl").read_text().splitlines():
        label = json.loads(row)
        source = label["source"]
        if source.startswith("pytorch/test-infra"):
            repository = "pytorch/pytorch"
        else:
            repository = _repository_of(source, label["file"])
        key = label["key_line"]
        items.append(
            Item(
                corpus="ci-logs",
                name=label["file"],
                path=root / label["file"],
                repository=repository,
                category=label["category"],
                action=label["expected_action"],
                truth=[key.strip(), clean(key)],
                ambiguous=bool(label.get("ambiguous")),
                extra={"provider": label.get("provider")},
            )
        )
    return items


def all_items() -> list[Item]:
    return [*keylines(), *ci_logs()]
