"""GitHub's contract for the simulator: its OpenAPI description (subset in tests/fixtures/github).

`Contract.check_response` finds the documented operation for a method and a concrete path, and reports
every difference from it: an undocumented status, a documented header missing (`Location` on 201), a
body that does not validate. `Contract.check_webhook` validates a webhook body against the
description's `x-webhooks` schema of its event and action. Validation is `openapi-schema-validator`'s
OAS 3.0 validator (jsonschema with OpenAPI's `nullable`), with date-time formats checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import _keywords
from jsonschema.exceptions import best_match
from jsonschema.validators import extend
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SUBSET = Path(__file__).resolve().parents[1] / "fixtures" / "github" / "openapi.subset.json"
BASE = "urn:github-openapi"
# A last path parameter that GitHub lets span slashes (a ref like `heads/main`, a file path).
SLASHED = {"ref", "path", "basehead", "branch", "name"}
# Paths GitHub serves but documents under another name: (method, pattern) -> documented path.
ALIASES = {("GET", re.compile(r"(/repos/[^/]+/[^/]+)/statuses/([^/]+)")): r"\1/commits/\2/statuses"}


def _nullable_enum(validator: Any, enums: Any, instance: Any, schema: dict[str, Any]) -> Any:
    """`enum`, where `nullable: true` also admits null: GitHub's description lists no null in the enums
    of fields it documents as nullable (`state_reason`, `conclusion`), and GitHub sends null there."""
    if instance is None and schema.get("nullable") is True:
        return
    yield from _keywords.enum(validator, enums, instance, schema)


# OAS 3.0 for what a server sends (readOnly allowed), with the nullable-enum reading above.
Validator = extend(OAS30ReadValidator, {"enum": _nullable_enum})


def pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the description's template, e.g. /repos/{owner}/{repo}/pulls/{pull_number}
    pattern: re.Pattern[str]


class Contract:
    def __init__(self, path: Path = SUBSET) -> None:
        self.doc: dict[str, Any] = json.loads(path.read_text())
        resource = Resource.from_contents(self.doc, default_specification=DRAFT4)
        self.registry: Registry = Registry().with_resource(BASE, resource)

    @cached_property
    def operations(self) -> list[Operation]:
        return [
            Operation(method.upper(), template, _pattern(template, slashed))
            for slashed in (False, True)  # a match within path segments first
            for template, methods in self.doc["paths"].items()
            for method in methods
        ]

    def operation(self, method: str, path: str) -> Operation | None:
        """The documented operation for a concrete request; a one-segment match wins over a slashed one."""
        for (alias_method, alias), documented in ALIASES.items():
            if method == alias_method and alias.fullmatch(path):
                path = alias.sub(documented, path)
        return next(
            (op for op in self.operations if op.method == method and op.pattern.fullmatch(path)), None
        )

    def query_parameters(self, method: str, template: str) -> dict[str, dict[str, Any]]:
        """The schema of each documented query parameter of an operation (by its template)."""
        params = self.doc["paths"][template][method.lower()].get("parameters", [])
        resolved = [self._resolve(p["$ref"]) if "$ref" in p else p for p in params]
        return {p["name"]: p.get("schema", {}) for p in resolved if p.get("in") == "query"}

    def validate(self, ref: str, body: Any) -> list[str]:
        """Violations of `body` against the schema at `ref` (a pointer into the description)."""
        validator = Validator(
            {"$ref": f"{BASE}#/{ref}"}, registry=self.registry, format_checker=oas30_format_checker
        )
        errors = list(validator.iter_errors(body))
        if not errors:
            return []
        # one line per failing location: the best match among the errors found there
        by_path: dict[str, list[Any]] = {}
        for error in errors:
            by_path.setdefault("/".join(map(str, error.absolute_path)), []).append(error)
        return [
            f"{where or '<body>'}: {best_match(errs).message[:300]}"
            for where, errs in sorted(by_path.items())
        ]

    def check_response(
        self, method: str, path: str, status: int, headers: dict[str, str], body: bytes
    ) -> list[str]:
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in GitHub's description"]
        responses = self.doc["paths"][op.path][op.method.lower()]["responses"]
        key = str(status)
        if key not in responses:
            return [f"{method} {op.path}: status {status} is not documented ({sorted(responses)})"]
        response = responses[key]
        if "$ref" in response:
            response = self._resolve(response["$ref"])
        problems = [
            f"{method} {op.path} {status}: header {name} missing"
            for name in response.get("headers", {})
            if name.lower() in ("location",) and name.lower() not in {h.lower() for h in headers}
        ]
        content = response.get("content", {})
        schema_type = next((t for t in content if "json" in t), None)
        if schema_type is None:
            return problems
        try:
            data = json.loads(body)
        except ValueError:
            return [*problems, f"{method} {op.path} {status}: body is not JSON"]
        ref = pointer("paths", op.path, op.method.lower(), "responses", key, "content", schema_type, "schema")
        if "$ref" in responses[key]:
            ref = responses[key]["$ref"].removeprefix("#/") + "/" + pointer("content", schema_type, "schema")
        return [*problems, *(f"{method} {op.path} {status}: {v}" for v in self.validate(ref, data))]

    def webhook_name(self, event: str, action: str | None) -> str:
        return f"{event}-{action}".replace("_", "-") if action else event.replace("_", "-")

    def check_webhook(self, event: str, body: dict[str, Any]) -> list[str]:
        name = self.webhook_name(event, body.get("action"))
        hook = self.doc["x-webhooks"].get(name)
        if hook is None:
            return [f"webhook {name}: not in GitHub's description"]
        content = hook["post"]["requestBody"]["content"]
        schema_type = next(t for t in content if "json" in t)
        ref = pointer("x-webhooks", name, "post", "requestBody", "content", schema_type, "schema")
        return [f"webhook {name}: {v}" for v in self.validate(ref, body)]

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node


def _pattern(template: str, slashed: bool) -> re.Pattern[str]:
    names = re.findall(r"\{(\w+)\}", template)
    regex = re.escape(template)
    for i, name in enumerate(names):
        span = ".+" if slashed and i == len(names) - 1 and name in SLASHED else "[^/]+"
        regex = regex.replace(re.escape("{" + name + "}"), f"(?P<{name}>{span})", 1)
    return re.compile(regex)
