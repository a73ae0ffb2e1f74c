"""Search attribute registration at worker start is idempotent and leaves all four attributes."""

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from contracts.visibility import SEARCH_ATTRIBUTES
from runtime.temporal import ensure_search_attributes


async def test_ensure_search_attributes_twice(client: Client) -> None:
    await ensure_search_attributes(client)
    await ensure_search_attributes(client)
    known = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    assert {key.name for key in SEARCH_ATTRIBUTES} <= set(known.custom_attributes)
