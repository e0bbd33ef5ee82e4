"""Alembic migrations of sriovirt's database (the alembic script dir).

Run them through :func:`sriovirt.db.api.sync` or ``sriovirt-manage db
sync``, never by importing the revision modules.
"""
