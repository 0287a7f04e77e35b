"""Graph calls stay synchronous even where the thread already runs an event loop."""

import asyncio

import pytest

from cloudsim import ids
from tenants import graph

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_graph_works_inside_a_running_event_loop(microsoft_env, cloudsim_clean):
    graph.reset_token_caches()

    async def inside_a_loop():
        return graph.get_organization(tenant_id=ids.CONTOSO_TENANT_ID)

    organization = asyncio.run(inside_a_loop())
    assert organization.display_name == "Contoso"
