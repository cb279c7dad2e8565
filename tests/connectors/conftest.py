"""Connector tests use the shared loopback fakes (the root conftest may import the same fixtures)."""

from tests.fakes.fixtures import connector_config, graph_api, telegram_api  # noqa: F401
