"""Fixtures shared by the functional tests (real services on loopback)."""

from __future__ import annotations

from tests.fixtures.neutron import neutron_server
from tests.fixtures.postgres import postgres_url
from tests.fixtures.rabbitmq import rabbitmq

__all__ = ["neutron_server", "postgres_url", "rabbitmq"]
