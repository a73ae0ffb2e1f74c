"""Issue 14: tests wait for something observable, never sleep and then assert that nothing happened.
A sleep in a test is a poll inside a loop that checks its condition (`tests/support/events.eventually`
and the like), a few hundredths of a second, or the length of an injected fault (`tests/chaos/fleet.
during`) or of a slow activity's work: anything else fails here, with where it is."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.5  # a longer fixed sleep outside a polling loop is a wait for nothing in particular
# helpers whose sleep is a length being simulated, not a wait for a result
DURATIONS = {
    "during": "tests/chaos/fleet.py: how long a fault is held",
    "_slow": "tests/support/liveness_workflow.py: the work of a slow activity that never heartbeats",
}


def _sleeps(tree: ast.AST) -> list[tuple[ast.Call, list[ast.AST]]]:
    """Every `time.sleep(...)` / `asyncio.sleep(...)` call with its ancestors (outermost first)."""
    found: list[tuple[ast.Call, list[ast.AST]]] = []

    def visit(node: ast.AST, parents: list[ast.AST]) -> None:
        func = node.func if isinstance(node, ast.Call) else None
        named = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
        if named and func.attr == "sleep" and func.value.id in ("time", "asyncio"):  # type: ignore[union-attr]
            found.append((node, parents))  # type: ignore[arg-type]
        for child in ast.iter_child_nodes(node):
            visit(child, [*parents, node])

    visit(tree, [])
    return found


def _allowed(call: ast.Call, parents: list[ast.AST]) -> bool:
    if any(isinstance(p, ast.While) for p in parents):
        return True  # a poll: the loop checks its condition
    if any(isinstance(p, ast.FunctionDef | ast.AsyncFunctionDef) and p.name in DURATIONS for p in parents):
        return True
    seconds = call.args[0] if call.args else None
    return (
        isinstance(seconds, ast.Constant)
        and isinstance(seconds.value, int | float)
        and (seconds.value <= POLL_SECONDS)
    )


def test_no_test_sleeps_instead_of_waiting_for_something_observable() -> None:
    offending = []
    for path in sorted(TESTS.rglob("*.py")):
        text = path.read_text()
        if "sleep(" not in text:
            continue
        for call, parents in _sleeps(ast.parse(text, str(path))):
            if not _allowed(call, parents):
                offending.append(f"{path.relative_to(TESTS.parent)}:{call.lineno}: {ast.unparse(call)}")
    assert offending == [], "wait for an observable condition instead:\n" + "\n".join(offending)


def test_the_check_finds_a_sleep_then_assert() -> None:
    tree = ast.parse(
        "import asyncio\nasync def t():\n    await asyncio.sleep(3)\n    assert nothing_happened()\n"
    )
    [(call, parents)] = _sleeps(tree)
    assert not _allowed(call, parents)
    polled = ast.parse("import time\ndef t():\n    while not done():\n        time.sleep(1)\n")
    assert all(_allowed(c, p) for c, p in _sleeps(polled))
