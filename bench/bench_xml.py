"""Guest XML: build, render and validate a guest with 8 interfaces.

The guest carries one interface of every SR-IOV kind and some virtio
ones: 2 hw_veb direct (hostdev interfaces), 2 hw_veb macvtap, 1 802.1Qbh
macvtap, 1 direct-physical (hostdev), 2 ovs (virtio, packed on).  Figures,
per guest (best of the repeats, garbage collector off):

- ``vifs_ms``: ``VIF.from_port`` for the 8 Neutron ports;
- ``build_ms``: the VIF builder -> typed devices -> ``Domain``;
- ``render_ms``: ``Domain.to_xml()``;
- ``relaxng_ms``: lxml RelaxNG validation against libvirt's domain.rng
  (schema loaded once, outside the timing);
- ``parse_ms``: ``Domain.from_xml`` of the rendered text (round trip);
- ``define_ms``: libvirt test driver ``defineXMLFlags`` with schema
  validation, then undefine (libvirt's own cost, for scale).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from lxml import etree

from bench.timing import best_ms
from sriovirt.network.model import VIF
from sriovirt.virt.libvirt import vif as vif_builder
from sriovirt.virt.libvirt.host import Host
from sriovirt.virt.libvirt.xml.domain import Domain, minimal_domain

RNG = "/usr/share/libvirt/schemas/domain.rng"
NETWORK = {"network": {"id": "9b1f2d3c-4e5f-4a6b-8c7d-0e1f2a3b4c5d"}}


def _port(
    n: int,
    vif_type: str,
    vnic_type: str,
    details: dict[str, Any],
    profile: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "port": {
            "id": str(uuid.UUID(int=n)),
            "network_id": NETWORK["network"]["id"],
            "mac_address": f"fa:16:3e:00:00:{n:02x}",
            "binding:vnic_type": vnic_type,
            "binding:vif_type": vif_type,
            "binding:vif_details": details,
            "binding:profile": profile or {},
            "binding:host_id": "compute-1",
        }
    }


def _vf(slot: int, fn: int) -> dict[str, str]:
    return {
        "pci_slot": f"0000:81:{slot:02x}.{fn}",
        "pci_vendor_info": "8086:154c",
        "physical_network": "physnet1",
    }


# (port, VF netdev for macvtap)
PORTS: list[tuple[dict[str, Any], str | None]] = [
    (_port(1, "hw_veb", "direct", {"vlan": "101"}, _vf(2, 0)), None),
    (_port(2, "hw_veb", "direct", {"vlan": "102"}, _vf(2, 1)), None),
    (_port(3, "hw_veb", "macvtap", {"vlan": "103"}, _vf(2, 2)), "ens1v2"),
    (_port(4, "hw_veb", "macvtap", {"vlan": "0"}, _vf(2, 3)), "ens1v3"),
    (
        _port(5, "802.1qbh", "macvtap", {"profileid": "qbh-gold"}, _vf(2, 4)),
        "ens1v4",
    ),
    (
        _port(
            6,
            "hostdev_physical",
            "direct-physical",
            {"vlan": "106"},
            {
                "pci_slot": "0000:82:00.0",
                "pci_vendor_info": "8086:1572",
                "physical_network": "physnet2",
            },
        ),
        None,
    ),
    (_port(7, "ovs", "normal", {"bridge_name": "br-int"}), None),
    (_port(8, "ovs", "normal", {"bridge_name": "br-int"}), None),
]


def run(sizes: Sequence[int] = (), repeats: int = 50) -> dict[str, Any]:
    """Figures for one 8-interface guest (``sizes`` is not used)."""
    schema = etree.RelaxNG(file=RNG)
    vifs = [VIF.from_port(p, NETWORK) for p, _ in PORTS]

    def build() -> Domain:
        devices = [
            vif_builder.build_device(v, packed=True, netdev=netdev)
            for v, (_, netdev) in zip(vifs, PORTS, strict=True)
        ]
        return minimal_domain(devices, type="test", name="bench-guest")

    domain = build()
    xml = domain.to_xml()
    doc = etree.fromstring(xml.encode())
    if not schema.validate(doc):
        raise RuntimeError(
            f"bench guest is not schema-valid: {schema.error_log.last_error}"
        )
    if Domain.from_xml(xml) != domain:
        raise RuntimeError("bench guest does not round-trip")
    packed = xml.count('packed="on"')

    host = Host("test:///default")

    def define() -> None:
        host.destroy_and_undefine(host.define(xml, validate=True))

    return {
        "interfaces": len(PORTS),
        "packed_on_interfaces": packed,
        "xml_bytes": len(xml),
        "vifs_ms": round(
            best_ms(
                lambda: [VIF.from_port(p, NETWORK) for p, _ in PORTS], repeats
            ),
            4,
        ),
        "build_ms": round(best_ms(build, repeats), 4),
        "render_ms": round(best_ms(domain.to_xml, repeats), 4),
        "relaxng_ms": round(
            best_ms(
                lambda: schema.validate(etree.fromstring(xml.encode())),
                repeats,
            ),
            4,
        ),
        "parse_ms": round(best_ms(lambda: Domain.from_xml(xml), repeats), 4),
        "define_ms": round(best_ms(define, max(5, repeats // 5)), 4),
    }
