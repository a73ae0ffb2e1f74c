"""Simulators stand alone: no product import, and no import circle inside a simulator package.

Imports under `if TYPE_CHECKING:` count too (import-linter counts them), so a circle cannot hide there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIMULATORS = ROOT / "simulators"
PRODUCT = ("activities", "domain", "runtime", "starter", "store", "workflows", "worker", "contracts")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module name `path` imports (absolute imports only: the project uses no relative ones)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def graph(package: Path) -> dict[str, set[str]]:
    modules = {module_name(p): p for p in package.rglob("*.py")}
    return {name: imports_of(path) & set(modules) for name, path in modules.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


PACKAGES = sorted(p for p in SIMULATORS.iterdir() if (p / "__init__.py").exists())


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_no_import_circle(package: Path) -> None:
    edges = graph(package)
    package_name = module_name(package / "__init__.py")
    edges.pop(package_name, None)  # the package facade re-exports; nothing inside imports it
    for targets in edges.values():
        targets.discard(package_name)
    assert cycle(edges) is None, f"import circle: {' -> '.join(cycle(edges) or [])}"


@pytest.mark.parametrize(
    "path", sorted(SIMULATORS.rglob("*.py")), ids=lambda p: str(p.relative_to(SIMULATORS))
)
def test_simulators_import_nothing_of_the_product(path: Path) -> None:
    product = sorted(m for m in imports_of(path) if m.split(".")[0] in PRODUCT)
    assert not product, f"{path.relative_to(ROOT)} imports product modules {product}"


def test_cycle_finder_finds_a_circle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
