"""sriovirt's persistence: SQLAlchemy 2 models, queries, alembic migrations.

:mod:`sriovirt.db.api` is the entry point (engines from a URL, ``sync``,
``version``, :class:`~sriovirt.db.api.Database` queries);
:mod:`sriovirt.db.records` holds the plain values it returns.  Behind it,
one module per concept: :mod:`~sriovirt.db.engine` (URLs, engines, error
wording), :mod:`~sriovirt.db.migration` (alembic revisions),
:mod:`~sriovirt.db.models` (tables) and the per-table queries
:mod:`~sriovirt.db.compute_nodes`, :mod:`~sriovirt.db.pci_devices`,
:mod:`~sriovirt.db.instances`.  This is the only package that may import
SQLAlchemy or alembic; it must not read configuration (it gets the
connection URL as a value) nor import :mod:`sriovirt.objects`.
"""
