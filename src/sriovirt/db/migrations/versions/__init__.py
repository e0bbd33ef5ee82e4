"""Alembic revisions, oldest first: 0001 initial schema, 0002 request_id.

Revisions are frozen history: they never import the models.
"""
