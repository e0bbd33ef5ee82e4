"""The static network backend: ports file, bindings, state file."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sriovirt import exception
from sriovirt.network import api
from sriovirt.network.binding_store import BindingStore
from sriovirt.network.model import VIF, VifType
from sriovirt.network.static import StaticNetwork
from sriovirt.pci.address import PciAddress
from sriovirt.virt.libvirt.vif import interface_xml

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "etc" / "sriovirt" / "ports.json"
NET_ID = "0f1e2d3c-0000-4000-8000-00000000abcd"


def port_id(n: int) -> str:
    return f"6b9e1d2c-4f3a-4e8e-9a51-{n:012x}"


def port(n: int, vnic: str = "direct", **extra: Any) -> dict[str, Any]:
    return {
        "id": port_id(n),
        "network_id": NET_ID,
        "mac_address": f"fa:16:3e:00:00:{n:02x}",
        "binding:vnic_type": vnic,
        "binding:host_id": "",
        "binding:profile": {},
        "binding:vif_type": "unbound",
        "binding:vif_details": {},
        "device_id": "",
        "device_owner": "",
        **extra,
    }


NETWORK = {
    "id": NET_ID,
    "mtu": 1500,
    "provider:network_type": "vlan",
    "provider:physical_network": "physnet1",
    "provider:segmentation_id": 142,
}


def write(path: Path, ports: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"networks": [NETWORK], "ports": ports}))
    return path


def backend(tmp_path: Path, ports: list[dict[str, Any]]) -> StaticNetwork:
    return StaticNetwork(
        ports_file=write(tmp_path / "ports.json", ports),
        state_file=tmp_path / "state" / "bindings.json",
    )


def vf(n: int = 2, host: str = "host1") -> api.PortBinding:
    return api.PortBinding(
        host=host,
        device_id=f"inst-{n}",
        pci=api.PciBinding(
            address=PciAddress(0, 0x81, 0x10, n % 8),
            vendor_id="8086",
            product_id="10ed",
            physical_network="physnet1",
            pf_mac_address="52:54:00:00:00:01",
            vf_num=n % 8,
        ),
    )


def test_bound_port_is_the_vif_the_guest_xml_needs(tmp_path: Path) -> None:
    net = backend(tmp_path, [port(1)])
    bound = net.bind_port(port_id(1), vf(2))
    assert bound == net.show_port(port_id(1))  # re-read: the same
    vif = VIF.from_port(bound, net.show_network(NET_ID))
    assert (vif.vif_type, vif.vlan, vif.host) == (VifType.HW_VEB, 142, "host1")
    assert str(vif.pci_slot) == "0000:81:10.2"
    xml = interface_xml(vif)
    assert '<tag id="142"/>' in xml and 'function="0x2"' in xml


def test_binding_failed_when_the_device_is_on_another_physnet(
    tmp_path: Path,
) -> None:
    net = backend(tmp_path, [port(1)])
    other = api.PortBinding(
        host="host1",
        device_id="inst",
        pci=api.PciBinding(
            address=PciAddress.parse("0000:82:10.0"),
            vendor_id="8086",
            product_id="10ed",
            physical_network="physnet2",
        ),
    )
    before = net.show_port(port_id(1))
    with pytest.raises(exception.PortBindingFailed) as err:
        net.bind_port(port_id(1), other)
    message = str(err.value)
    assert port_id(1) in message and "host1" in message
    # Why: the device's physical network has no segment on the network.
    assert "physnet2" in message and "binding_failed" in message
    assert net.show_port(port_id(1)) == before
    assert net.bound_ports() == {}


def test_binding_failed_unbinds_a_port_bound_before(tmp_path: Path) -> None:
    foreign = {"trusted": "true"}
    original = port(1, **{"binding:profile": foreign})
    net = backend(tmp_path, [original])
    net.bind_port(port_id(1), vf())
    # The same server, bound again without its device: binding_failed.
    other = api.PortBinding(host="host2", device_id=vf().device_id, pci=None)
    with pytest.raises(exception.PortBindingFailed, match="host2"):
        net.bind_port(port_id(1), other)
    # The same contract as Neutron's: left unbound, foreign keys kept.
    assert net.show_port(port_id(1)) == original


def test_unbind_keeps_foreign_keys_and_restores_the_file(
    tmp_path: Path,
) -> None:
    foreign = {"trusted": "true", "capabilities": ["switchdev"]}
    original = port(1, **{"binding:profile": foreign})
    net = backend(tmp_path, [original])
    bound = net.bind_port(port_id(1), vf())
    assert bound["binding:profile"]["trusted"] == "true"
    assert bound["binding:profile"]["pci_slot"] == "0000:81:10.2"
    assert net.unbind_port(port_id(1)) == original
    assert net.show_port(port_id(1)) == original
    assert net.bound_ports() == {}
    assert net.unbind_port(port_id(1)) == original  # again: a no-op


def test_unbind_of_a_port_bound_in_the_file_keeps_its_foreign_keys(
    tmp_path: Path,
) -> None:
    prebound = port(
        1,
        **{
            "binding:host_id": "elsewhere",
            "binding:profile": {"pci_slot": "0000:01:00.1", "tag": "x"},
        },
    )
    net = backend(tmp_path, [prebound])
    after = net.unbind_port(port_id(1))
    assert after["binding:profile"] == {"tag": "x"}
    assert after["binding:host_id"] == ""
    assert after["binding:vif_type"] == "unbound"


def test_a_port_another_device_holds_is_not_bound_again(
    tmp_path: Path,
) -> None:
    net = backend(tmp_path, [port(1)])
    first = net.bind_port(port_id(1), vf(1))
    state = net.state_file.read_bytes()
    with pytest.raises(exception.VifError) as err:
        net.bind_port(port_id(1), vf(2))
    message = str(err.value)
    assert port_id(1) in message and "device_id 'inst-1'" in message
    assert net.state_file.read_bytes() == state
    # The holder binding it again is fine (same result).
    assert net.bind_port(port_id(1), vf(1)) == first


def test_bindings_survive_the_process_and_the_file_is_not_written(
    tmp_path: Path,
) -> None:
    net = backend(tmp_path, [port(1), port(2)])
    text = (tmp_path / "ports.json").read_text()
    net.bind_port(port_id(1), vf(1))
    again = StaticNetwork(
        ports_file=tmp_path / "ports.json",
        state_file=tmp_path / "state" / "bindings.json",
    )
    assert again.show_port(port_id(1))["binding:host_id"] == "host1"
    assert again.show_port(port_id(2))["binding:host_id"] == ""
    assert set(again.bound_ports()) == {port_id(1)}
    assert (tmp_path / "ports.json").read_text() == text


def test_shown_bodies_are_copies(tmp_path: Path) -> None:
    net = backend(tmp_path, [port(1)])
    net.show_port(port_id(1))["binding:profile"]["x"] = 1
    net.show_network(NET_ID)["mtu"] = 9000
    assert net.show_port(port_id(1))["binding:profile"] == {}
    assert net.show_network(NET_ID)["mtu"] == 1500


def test_unknown_port_and_network(tmp_path: Path) -> None:
    net = backend(tmp_path, [port(1)])
    with pytest.raises(exception.PortNotFound, match=r"ports\.json"):
        net.show_port(port_id(9))
    with pytest.raises(exception.PortNotFound, match=port_id(9)):
        net.bind_port(port_id(9), vf())
    with pytest.raises(exception.PortNotFound):
        net.unbind_port(port_id(9))
    with pytest.raises(exception.NetworkNotFound, match="nope"):
        net.show_network("nope")


def test_ports_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    net = backend(tmp_path, [port(1)])
    assert net.show_port(port_id(1))["binding:vnic_type"] == "direct"
    write(tmp_path / "ports.json", [port(1, "macvtap"), port(2)])
    assert net.show_port(port_id(1))["binding:vnic_type"] == "macvtap"
    assert net.show_port(port_id(2))["id"] == port_id(2)


def test_yaml_ports_file(tmp_path: Path) -> None:
    path = tmp_path / "ports.yaml"
    path.write_text(
        "networks:\n"
        f"  - id: {NET_ID}\n"
        "    provider:network_type: vlan\n"
        "    provider:physical_network: physnet1\n"
        "    provider:segmentation_id: 142\n"
        "ports:\n"
        f"  - id: {port_id(1)}\n"
        f"    network_id: {NET_ID}\n"
        "    mac_address: fa:16:3e:00:00:01\n"
        "    binding:vnic_type: macvtap\n"
    )
    net = StaticNetwork(ports_file=path, state_file=tmp_path / "b.json")
    request = api.request_for(net, port_id(1))
    assert request.physical_network == "physnet1"
    bound = net.bind_port(port_id(1), vf())
    assert bound["binding:vif_details"]["vlan"] == "142"


BAD_DOCUMENTS = [
    ("{", "is not JSON: Expecting property name"),
    ("[]", "[] is not an object"),
    ('{"networks": [], "portz": []}', "unknown key(s) 'portz'"),
    ('{"ports": {}}', "ports {} is not a list"),
    ('{"ports": [1]}', "ports[0] 1 is not an object"),
    ('{"ports": [{"name": "a"}]}', "ports[0]: id None is not a string"),
    ('{"ports": [{"id": "p1"}]}', "ports[0]: id 'p1' is not a UUID"),
    (
        json.dumps({"networks": [NETWORK, NETWORK]}),
        f"networks[1]: id {NET_ID} is used twice",
    ),
    (
        json.dumps({"networks": [], "ports": [port(1)]}),
        f"ports[0] (id {port_id(1)}): network_id '{NET_ID}' is not",
    ),
    (
        json.dumps({"ports": [port(1, network_id=None)]}),
        "network_id None is not",
    ),
]


@pytest.mark.parametrize(("text", "reason"), BAD_DOCUMENTS)
def test_malformed_ports_file_is_a_clear_error(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "ports.json"
    path.write_text(text)
    net = StaticNetwork(ports_file=path, state_file=tmp_path / "b.json")
    with pytest.raises(exception.InvalidNetworkFile) as err:
        net.show_port(port_id(1))
    message = str(err.value)
    assert message.startswith(f"Invalid ports file {path}: ")
    assert reason in message and "\n" not in message


def test_bad_yaml_and_missing_file_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ports.yml"
    path.write_text("ports: [\n  - {id: x\n")
    for ports_file in (path, tmp_path / "absent.json"):
        net = StaticNetwork(ports_file=ports_file, state_file=tmp_path / "b")
        with pytest.raises(exception.InvalidNetworkFile) as err:
            net.show_network(NET_ID)
        assert str(ports_file) in str(err.value)
        assert "\n" not in str(err.value)


def _other_schema(path: Path) -> None:
    path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()


def _bad_row(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE bindings SET overlay = ? WHERE port_id = ?",
        ('{"x": 1}', port_id(1)),
    )
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (
            lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
            "cannot be read: database disk image is malformed",
        ),
        (lambda p: p.write_bytes(b""), "is empty; it is only ever created"),
        (
            lambda p: p.write_bytes(b"\x00\x00garbage"),
            "is neither a SQLite binding store nor a JSON state file",
        ),
        (lambda p: p.write_text("[]"), "is not an object with version 1"),
        (
            lambda p: p.write_text('{"version": 1, "ports": []}'),
            "ports [] is not",
        ),
        (
            lambda p: p.write_text('{"version": 1, "ports": {"p": {"x": 1}}}'),
            "ports.p {'x': 1} is not an object of",
        ),
        (_bad_row, f"ports.{port_id(1)} {{'x': 1}} is not an object of"),
        (_other_schema, "not a binding store of version 1 (table bindings)"),
    ],
)
def test_damaged_state_file_is_a_clear_error(
    tmp_path: Path, damage: Any, reason: str
) -> None:
    net = backend(tmp_path, [port(n) for n in range(1, 40)])
    for n in range(1, 40, 2):  # a few pages: truncating breaks a page
        net.bind_port(port_id(n), vf(n))
    state = tmp_path / "state" / "bindings.json"
    damage(state)
    # The process that had the file open, and a new one.
    fresh = StaticNetwork(ports_file=net._ports.path, state_file=state)
    for call in (
        lambda: net.show_port(port_id(1)),
        lambda: net.bind_port(port_id(1), vf()),
        lambda: fresh.show_port(port_id(1)),
        fresh.bound_ports,
    ):
        with pytest.raises(exception.InvalidNetworkFile) as err:
            call()
        message = str(err.value)
        assert message.startswith(f"Invalid port binding state file {state}: ")
        assert reason in message and "\n" not in message


def test_state_file_of_the_json_format_is_converted(tmp_path: Path) -> None:
    net = backend(tmp_path, [port(1), port(2)])
    state = tmp_path / "state" / "bindings.json"
    state.parent.mkdir()
    overlay = {
        "binding:host_id": "host7",
        "device_id": "inst-7",
        "binding:vif_type": "hw_veb",
    }
    state.write_text(
        json.dumps({"version": 1, "ports": {port_id(1): overlay}})
    )
    assert net.show_port(port_id(1)) == {**port(1), **overlay}
    assert state.read_bytes().startswith(b"SQLite format 3\x00")
    net.bind_port(port_id(2), vf(2))
    assert set(net.bound_ports()) == {port_id(1), port_id(2)}


def test_a_read_creates_no_file(tmp_path: Path) -> None:
    net = backend(tmp_path, [port(1)])
    assert net.show_port(port_id(1)) == port(1)
    assert net.bound_ports() == {}
    assert not (tmp_path / "state").exists()


def _hold_a_write(
    ports_file: str, state_file: str, ready: Any, port: str
) -> None:
    """Write a binding inside a transaction and never commit it."""
    store = BindingStore(Path(state_file))
    with store.transaction() as state:
        state[port] = {"device_id": "never-committed"}
        ready.set()
        time.sleep(600)


def test_a_writer_killed_mid_transaction_leaves_the_state_whole(
    tmp_path: Path,
) -> None:
    net = backend(tmp_path, [port(1), port(2)])
    net.bind_port(port_id(1), vf(1))
    before = net.bound_ports()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(
        target=_hold_a_write,
        args=(str(net._ports.path), str(net.state_file), ready, port_id(2)),
    )
    proc.start()
    try:
        assert ready.wait(60), "the writer never got into its transaction"
        # It holds the write lock: its change is not visible.
        assert net.show_port(port_id(2)) == port(2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    # Its uncommitted row is gone; the lock it held is free again.
    assert net.bound_ports() == before
    assert net.bind_port(port_id(2), vf(2))["device_id"] == "inst-2"
    assert set(net.bound_ports()) == {port_id(1), port_id(2)}


def test_a_bind_reads_and_writes_one_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store is never read or written whole by a bind: the statements
    a bind or unbind runs on the bindings table name its port."""
    net = backend(tmp_path, [port(n) for n in range(3)])
    net.bind_port(port_id(0), vf(0))
    statements: list[str] = []
    real_connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    net.bind_port(port_id(1), vf(1))
    net.unbind_port(port_id(0))
    monkeypatch.undo()
    data = [s for s in statements if "bindings" in s]
    assert len(data) == 4, data  # read + write, twice
    assert all(port_id(1) in s or port_id(0) in s for s in data), data
    # Listing every binding is a whole read: the check above can fail.
    statements.clear()
    monkeypatch.setattr(sqlite3, "connect", traced)
    net.bound_ports()
    assert any(port_id(0) not in s and "bindings" in s for s in statements)


def _bind_and_unbind(
    ports_file: str, state_file: str, worker: int, per_worker: int
) -> None:
    """One process: bind its ports, then unbind every other one."""
    net = StaticNetwork(
        ports_file=Path(ports_file), state_file=Path(state_file)
    )
    mine = range(worker * per_worker, (worker + 1) * per_worker)
    for n in mine:
        net.bind_port(port_id(n), vf(n, host=f"host{worker}"))
    for n in mine[::2]:
        net.unbind_port(port_id(n))


def test_processes_binding_at_once_lose_nothing(tmp_path: Path) -> None:
    workers, per_worker = 6, 6
    ports = [port(n) for n in range(workers * per_worker)]
    net = backend(tmp_path, ports)
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=_bind_and_unbind,
            args=(str(tmp_path / "ports.json"), str(net.state_file), w, 6),
        )
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0] * workers
    bound = net.bound_ports()
    for n in range(workers * per_worker):
        shown = net.show_port(port_id(n))
        if n % 2:
            assert shown["binding:host_id"] == f"host{n // per_worker}"
            assert shown["binding:vif_type"] == "hw_veb"
            assert shown["binding:profile"]["vf_num"] == n % 8
        else:
            assert port_id(n) not in bound
            assert shown == port(n)
    assert len(bound) == workers * per_worker // 2


def test_threads_binding_at_once_lose_nothing(tmp_path: Path) -> None:
    count = 16
    net = backend(tmp_path, [port(n) for n in range(count)])
    start = threading.Barrier(count)

    def bind(n: int) -> None:
        start.wait()
        net.bind_port(port_id(n), vf(n))

    threads = [threading.Thread(target=bind, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(net.bound_ports()) == sorted(map(port_id, range(count)))


def test_sample_ports_file_binds_on_the_sample_host(tmp_path: Path) -> None:
    net = StaticNetwork(ports_file=SAMPLE, state_file=tmp_path / "b.json")
    ports = json.loads(SAMPLE.read_text())["ports"]
    devices = {  # the sample host's devices (etc/sriovirt/hosts/small.xml)
        "type-VF": ("0000:81:10.0", "10ed", "physnet1", "ens1f0v0"),
        "type-PF": ("0000:82:00.0", "10fb", "physnet2", None),
    }
    seen = {}
    for body in ports:
        request = api.request_for(net, body["id"])
        pci = None
        netdev = None
        if request.dev_type is not None:
            slot, product, physnet, netdev = devices[request.dev_type]
            assert request.physical_network == physnet
            pci = api.PciBinding(
                address=PciAddress.parse(slot),
                vendor_id="8086",
                product_id=product,
                physical_network=physnet,
            )
        how = api.PortBinding(host="sample-host", device_id="i", pci=pci)
        bound = net.bind_port(body["id"], how)
        vif = VIF.from_port(bound, net.show_network(body["network_id"]))
        interface_xml(vif, netdev=netdev)
        seen[vif.vnic_type.value] = (vif.vif_type.value, vif.vlan)
    assert seen == {
        "direct": ("hw_veb", 142),
        "macvtap": ("hw_veb", 142),
        "direct-physical": ("hostdev_physical", None),
        "normal": ("tap", None),
    }
