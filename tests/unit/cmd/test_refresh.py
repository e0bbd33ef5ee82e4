"""``sriovirt pci refresh`` is never a second writer that releases a
running compute service's claims, and reports a conflicting writer in
one line."""

from __future__ import annotations

import json
import pathlib

import pytest
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.conf import pci as pci_conf
from sriovirt.db import api
from sriovirt.db.records import PciDeviceRecord
from sriovirt.pci.request import PciRequest
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.libvirt.driver import LibvirtDriver

from .conftest import HOST, WriteConf, sriovirt, sriovirt_manage

BOOTING = "cccccccc-0000-4000-8000-000000000003"


def _conf(path: pathlib.Path) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf(["--config-file", str(path)])
    return conf


def _tracker(conf: cfg.ConfigOpts, db: api.Database) -> ResourceTracker:
    wl = Whitelist.from_options(pci_conf.device_spec_values(conf))
    return ResourceTracker(HOST, LibvirtDriver(conf), db, wl)


def _rows(db: api.Database) -> dict[str, PciDeviceRecord]:
    node = db.get_compute_node(HOST, HOST)
    assert node is not None
    return {r.address: r for r in db.read_pci_devices(node.id)}


@pytest.fixture
def claimed(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> tuple[pathlib.Path, str]:
    """A stored claim of a boot in progress (no instance recorded yet,
    as while a compute service is booting it): the configuration file
    and the claimed VF's address."""
    path = write_conf()
    assert sriovirt_manage("--config-file", str(path), "db", "sync") == 0
    conf = _conf(path)
    with api.Database(conf.database.connection) as db:
        rt = _tracker(conf, db)
        rt.start()
        request = PciRequest(spec=[{"physical_network": "physnet1"}])
        (vf,) = rt.tracker.claim(BOOTING, [request])
        rt.save()
        assert _rows(db)[str(vf.address)].status == "claimed"
    capsys.readouterr()
    return path, str(vf.address)


def test_refresh_keeps_a_stored_claim(
    claimed: tuple[pathlib.Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, address = claimed
    argv = ["--config-file", str(path), "pci", "refresh", "-f", "json"]
    assert sriovirt(*argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["released"] == []
    assert summary["restored_in_use"] == 1
    conf = _conf(path)
    with api.Database(conf.database.connection) as db:
        row = _rows(db)[address]
        assert (row.status, row.instance_uuid) == ("claimed", BOOTING)
        # What the restart path would have done with the same rows.
        report = _tracker(conf, db).start()
        assert report.released == (address,)
        assert _rows(db)[address].status == "available"


def test_refresh_reports_a_writer_that_keeps_getting_in_first(
    claimed: tuple[pathlib.Path, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, address = claimed
    attempts: list[int] = []

    def conflict(self: api.Database, node_id: int, *a: object, **k: object):  # type: ignore[no-untyped-def]
        attempts.append(node_id)
        raise exception.PciStateConflict(
            node=f"{HOST}/{HOST}", reason="another process wrote its rows"
        )

    monkeypatch.setattr(api.Database, "save_pci_state", conflict)
    argv = ["--config-file", str(path), "pci", "refresh"]
    assert sriovirt(*argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"sriovirt pci refresh: error: PCI state of compute node "
        f"{HOST}/{HOST} was not written: another process wrote its rows"
    ]
    # Loaded and tried again, as the compute service's start does.
    assert len(attempts) == 3
    monkeypatch.undo()
    with api.Database(_conf(path).database.connection) as db:
        assert _rows(db)[address].status == "claimed"


def test_refresh_succeeds_after_one_conflict(
    claimed: tuple[pathlib.Path, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, address = claimed
    real = api.Database.save_pci_state
    calls: list[int] = []

    def once(self: api.Database, *a: object, **k: object):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise exception.PciStateConflict(node="n", reason="raced")
        return real(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(api.Database, "save_pci_state", once)
    argv = ["--config-file", str(path), "pci", "refresh", "-f", "json"]
    assert sriovirt(*argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["released"] == []
    assert len(calls) == 2
    with api.Database(_conf(path).database.connection) as db:
        assert _rows(db)[address].status == "claimed"
