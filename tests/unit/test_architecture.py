"""The house's shape, checked: import layers (`.importlinter`), no import cycles, the activity catalogue."""

from __future__ import annotations

import ast
import inspect
import logging
import typing
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports
from temporalio import activity
from temporalio.client import Client

from activities.definition import activity_name
from contracts.activities import CATALOGUE, Lane, lane_queue
from worker import activity_threads, all_activities, build_worker

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("starter", "runtime", "workflows", "activities", "contracts", "store", "domain", "simulators")


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the components with more than one module are import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def test_strongly_connected_finds_a_cycle_and_only_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_import_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    loggers = [logging.getLogger(name) for name in logging.root.manager.loggerDict]
    enabled = [logger for logger in loggers if not logger.disabled]
    try:
        assert lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True, no_logo=True) == 0
    finally:  # import-linter's logging setup disables every existing logger: give them back
        for logger in enabled:
            logger.disabled = False


def test_no_import_cycles_outside_tests() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges = {
        m: {t for t in graph.find_modules_directly_imported_by(m) if t in graph.modules}
        for m in graph.modules
    }
    assert strongly_connected(edges) == []


def _hints(fn: typing.Any) -> dict[str, typing.Any]:
    return typing.get_type_hints(fn)


async def test_every_catalogued_activity_is_registered_with_its_types(client: Client) -> None:
    registered = {activity._Definition.must_from_callable(fn).name: fn for fn in all_activities(client, "q")}
    for ref in CATALOGUE:
        assert ref.name in registered, f"{ref.name} is catalogued but no worker registers it"
        fn = registered[ref.name]
        hints = _hints(fn)
        params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
        if ref.arg is None:
            assert params == [], f"{ref.name} takes no argument in the catalogue"
        else:
            assert len(params) == 1 and hints[params[0].name] == ref.arg, f"{ref.name}: argument type differs"
        expected = type(None) if ref.result is None else ref.result
        assert hints["return"] == expected, f"{ref.name}: result type differs"
    assert {ref.name for ref in CATALOGUE} == set(registered), "an activity is registered but not catalogued"


async def test_the_worker_reads_each_activity_s_name_as_the_sdk_registers_it(client: Client) -> None:
    """The lanes are grouped by `activity_name`: it must be the name the SDK polls the activity under."""
    for fn in all_activities(client, "q"):
        assert activity_name(fn) == activity._Definition.must_from_callable(fn).name
    with pytest.raises(TypeError, match="not a Mender activity"):
        activity_name(print)


# The one use of the SDK's private API, kept on purpose: its heartbeat sender, taken before the SDK wraps
# it for the activity's thread (`runtime/activity_liveness.py` says why).
PRIVATE_SDK_USES = {("runtime/activity_liveness.py", "_Context")}


def _private_sdk_names(tree: ast.Module) -> set[str]:
    """The private names of temporalio a module imports or reads off a temporalio module it imported."""
    imports = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("temporalio")
    ]
    sdk = {alias.asname or alias.name for node in imports for alias in node.names}
    names = {alias.name for node in imports for alias in node.names}
    names |= {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in sdk
    }
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


def test_product_code_uses_no_private_sdk_name_but_the_known_one() -> None:
    """A private name of temporalio (`activity._Definition`, ...) may change in any release."""
    files = [ROOT / "worker.py", *(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))]
    sources = {path: path.read_text() for path in files}
    found = {
        (str(path.relative_to(ROOT)), name)
        for path, text in sources.items()
        if "temporalio" in text  # only a module that imports temporalio can name its private parts
        for name in _private_sdk_names(ast.parse(text))
    }
    assert found == PRIVATE_SDK_USES


async def test_each_queue_polls_exactly_the_activities_of_its_lane(client: Client) -> None:
    """Each lane's queue polls exactly the activities of its lane, with its own slots; the workflows'
    queue registers every activity (old runs call store activities as local activities there)."""
    lanes = {Lane.PROJECTIONS: 3, Lane.READS: 2, Lane.WRITES: 2, Lane.SWEEPS: 1}
    with activity_threads(2, lanes) as executor:
        workers = build_worker(client, "q", executor, 2, lane_slots=lanes)
    polled = {}
    for worker in workers.workers:
        config = worker.config()
        names = {activity._Definition.must_from_callable(fn).name for fn in config.get("activities", [])}
        polled[worker.task_queue] = (
            names,
            config.get("max_concurrent_activities"),
            bool(config["workflows"]),
        )
    expected = {lane_queue("q", lane): {ref.name for ref in CATALOGUE if ref.lane is lane} for lane in Lane}
    expected["q"] = {ref.name for ref in CATALOGUE}
    assert {queue: names for queue, (names, _, _) in polled.items()} == expected
    assert polled["q"][1:] == (2, True)  # the workflows and the main slots on the workflows' queue
    assert polled["q-projections"][1:] == (3, False) and polled["q-sweeps"][1:] == (1, False)
    assert polled["q-writes"][1:] == (2, False) and "github.rebuild" in expected["q-writes"]
    assert {ref.name for ref in CATALOGUE if ref.lane is Lane.PROJECTIONS} >= {"store.project_pr"}
    main = {ref.name for ref in CATALOGUE if ref.lane is Lane.MAIN}
    assert {"config.repo_policy", "breaker.request_permit", "audit.record"} <= main
    assert polled["q-reads"][1:] == (2, False) and "github.fetch_snapshot" in expected["q-reads"]


def test_no_two_domain_classes_share_a_name() -> None:
    """One meaning per class name in `domain/` (shared bases live once, in `domain/shared/models.py`)."""
    homes: dict[str, list[str]] = {}
    for path in sorted((ROOT / "domain").rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                homes.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    shared = {name: files for name, files in homes.items() if len(files) > 1}
    assert not shared, shared
