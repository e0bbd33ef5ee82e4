"""Fixtures shared by the functional tests (real services on loopback)."""

from __future__ import annotations

from tests.fixtures.postgres import postgres_url

__all__ = ["postgres_url"]
