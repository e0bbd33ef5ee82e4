"""Migrations on SQLite and PostgreSQL: data survives, models match."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from sriovirt import exception
from sriovirt.db import api, migration, models, records


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url)


def test_sync_from_empty_reports_steps(db_url: str) -> None:
    assert api.version(db_url) is None
    result = api.sync(db_url)
    assert result.before is None
    assert result.after is not None and result.after.revision == "0005"
    assert str(result) == (
        f"database {api.mask_url(db_url)} upgraded from <none> to "
        "0005 (add services)"
    )
    again = api.sync(db_url)
    assert not again.changed
    assert "already at 0005 (add services)" in str(again)


def test_request_id_migration_keeps_rows(db_url: str) -> None:
    api.sync(db_url, revision="0001")
    assert api.version(db_url) == api.history()[0]
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            columns = {
                c["name"] for c in sa.inspect(conn).get_columns("pci_devices")
            }
            assert "request_id" not in columns
            conn.execute(
                sa.text(
                    "INSERT INTO compute_nodes (uuid, host, "
                    "hypervisor_hostname, created_at) VALUES "
                    "('9a1d7a50-1c9b-4d5f-a7a5-0f6c8a3f4b21', 'h', 'h', "
                    "CURRENT_TIMESTAMP)"
                )
            )
            node_id = conn.execute(
                sa.text("SELECT id FROM compute_nodes")
            ).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO pci_devices (compute_node_id, address, "
                    "vendor_id, product_id, dev_type, status, "
                    "instance_uuid, extra_info, created_at) VALUES "
                    "(:node, '0000:81:10.1', '8086', '1515', 'type-VF', "
                    "'allocated', '6f1b6bd2-6b0d-4d0a-9a36-2a9b0f0b7d11', "
                    '\'{"physical_network": "physnet1"}\', '
                    "CURRENT_TIMESTAMP)"
                ),
                {"node": node_id},
            )
        result = api.sync(db_url)
        assert result.before is not None and result.before.revision == "0001"
        assert result.after is not None and result.after.revision == "0005"
        with api.Database(db_url) as db:
            devices = db.get_pci_devices(node_id)
        assert len(devices) == 1
        assert devices[0].address == "0000:81:10.1"
        assert devices[0].status == "allocated"
        assert devices[0].request_id is None
        assert devices[0].extra_info == {"physical_network": "physnet1"}
    finally:
        engine.dispose()


def test_models_match_migrations(db_url: str) -> None:
    api.sync(db_url)
    engine = _engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True}
            )
            diff = compare_metadata(context, models.Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_sync_never_downgrades(db_url: str) -> None:
    api.sync(db_url)
    with pytest.raises(exception.DatabaseError, match="never downgrades"):
        api.sync(db_url, revision="0001")


def test_sync_unknown_revision(db_url: str) -> None:
    with pytest.raises(exception.DatabaseError, match="unknown revision"):
        api.sync(db_url, revision="9999")


def test_check_synced(db_url: str) -> None:
    with pytest.raises(exception.DatabaseNotSynced, match="<none>"):
        api.check_synced(db_url)
    api.sync(db_url, revision="0001")
    with pytest.raises(
        exception.DatabaseNotSynced, match=r"0001 \(initial schema\)"
    ):
        api.check_synced(db_url)
    api.sync(db_url)
    assert api.check_synced(db_url).revision == "0005"


def test_instance_name_migration_keeps_rows(db_url: str) -> None:
    api.sync(db_url, revision="0002")
    uuid = "6f1b6bd2-6b0d-4d0a-9a36-2a9b0f0b7d12"
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO instances (uuid, host, node, vm_state, "
                    "flavor, image, created_at) VALUES (:uuid, 'h', 'h', "
                    "'active', '{}', '{}', CURRENT_TIMESTAMP)"
                ),
                {"uuid": uuid},
            )
    finally:
        engine.dispose()
    result = api.sync(db_url)
    assert result.after is not None and result.after.revision == "0005"
    with api.Database(db_url) as db:
        old = db.get_instance(uuid)
        assert old is not None and old.vm_state == "active"
        assert (old.name, old.requested_networks, old.domain_xml) == (
            None,
            None,
            None,
        )
        new = records.InstanceRecord(
            uuid="6f1b6bd2-6b0d-4d0a-9a36-2a9b0f0b7d13",
            vm_state="active",
            host="h",
            name="vm-1",
            requested_networks='["p1"]',
            domain_xml="<domain/>",
        )
        assert db.create_instance(new).domain_xml == "<domain/>"
        assert db.get_instance_by_name("h", "vm-1") is not None
        assert db.get_instance_by_name("other", "vm-1") is None
        # Names are unique per host, in the schema too.
        with pytest.raises(exception.SriovirtError):
            db.create_instance(
                records.InstanceRecord(
                    uuid="6f1b6bd2-6b0d-4d0a-9a36-2a9b0f0b7d14",
                    vm_state="active",
                    host="h",
                    name="vm-1",
                )
            )
    # The revision's downgrade (sync never runs one) drops what it added.
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            config = migration._alembic_config()
            config.attributes["connection"] = conn
            alembic_command.downgrade(config, "0002")
            columns = {
                c["name"] for c in sa.inspect(conn).get_columns("instances")
            }
        assert "display_name" not in columns and "domain_xml" not in columns
    finally:
        engine.dispose()
    assert api.version(db_url) == api.history()[1]
