"""File changes between two trees as GitHub lists them in `GET /compare/...` and `GET /commits/{sha}`.

Each entry has GitHub's fields: `sha` (the blob), `filename`, `status` (added, modified, removed),
`additions`, `deletions`, `changes`, `blob_url`, `raw_url`, `contents_url` and `patch` (the unified
diff's hunks without the `---`/`+++` header, as GitHub sends it).
"""

from __future__ import annotations

import difflib
from typing import Any
from urllib.parse import quote

from simulators.github.contents import Files, blob_sha


def _patch(before: str, after: str) -> tuple[str, int, int]:
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3))[2:]
    additions = sum(1 for line in lines if line.startswith("+"))
    deletions = sum(1 for line in lines if line.startswith("-"))
    return "\n".join(lines), additions, deletions


def file_changes(
    base: Files, head: Files, html_base: str, api_base: str, head_sha: str
) -> list[dict[str, Any]]:
    """The files that differ from `base` to `head`, by path."""
    changes = []
    for path in sorted(set(base) | set(head)):
        before, after = base.get(path), head.get(path)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "modified"
        patch, additions, deletions = _patch(before or "", after or "")
        text = after if after is not None else before or ""
        ref = quote(path)
        changes.append(
            {
                "sha": blob_sha(text),
                "filename": path,
                "status": status,
                "additions": additions,
                "deletions": deletions,
                "changes": additions + deletions,
                "blob_url": f"{html_base}/blob/{head_sha}/{ref}",
                "raw_url": f"{html_base}/raw/{head_sha}/{ref}",
                "contents_url": f"{api_base}/contents/{ref}?ref={head_sha}",
                "patch": patch,
            }
        )
    return changes
