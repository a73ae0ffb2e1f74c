"""`requirements.lock` is current: every dependency of `pyproject.toml` (with `dev`) is pinned there, with
hashes, at a version its specifier allows. A stale lock fails here; `make lock` renews it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def _pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {canonicalize_name(name): version for name, version in _PIN.findall(text)}


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]]


def test_every_dependency_is_pinned_at_an_allowed_version() -> None:
    pins = _pins()
    problems = []
    for requirement in _requirements():
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name}: not in requirements.lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}: locked {version} is outside {requirement.specifier}")
    assert problems == [], "run `make lock`: " + "; ".join(problems)


def test_every_pin_has_a_hash() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements.lock").read_text())
    pinned = [block for block in blocks if _PIN.match(block)]
    assert len(pinned) == len(_pins()) >= 50
    assert all("--hash=sha256:" in block for block in pinned)
