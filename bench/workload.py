"""The design's reference SR-IOV host (design section 7), as plain values.

``build_devices(n_nics)`` gives a host with ``n_nics`` NICs of 2 ports
each (one PF per port), 128 VFs per PF: N=8 is 16 PFs + 2,048 VFs =
2,064 devices.  Two ``[pci] device_spec`` workloads select from those
same devices (:data:`WORKLOADS`):

``exact_address`` (:func:`build_device_spec`)
    one entry per PF address tagged ``physnet{i % 4}`` (it selects the
    PF and, through its parent address, every VF of it), plus two
    entries that match nothing; every device is selected.
``index_free`` (:func:`build_index_free_spec`)
    one ``vendor_id``/``product_id`` (the VF's) + glob ``address``
    ``"*:BB:*.*"`` entry per PF bus, tagged ``physnet{i % 4}`` as above,
    plus two entries that match nothing: no entry names one exact
    address, so an exact-address index cannot help.  The entries name the
    VF product, so the VFs are selected and the PFs are not (2,048 of
    2,064 devices at N=8), the usual way to pass VFs through.

Other benches and the Nova peer reuse these, so the shapes here are part
of the bench contract.

This module builds values only: no timing, no libvirt, no configuration.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice

#: Workload names, in report order.
EXACT_ADDRESS = "exact_address"
INDEX_FREE = "index_free"
WORKLOADS = (EXACT_ADDRESS, INDEX_FREE)

PORTS_PER_NIC = 2
VFS_PER_PF = 128
VENDOR_ID = "8086"
PF_PRODUCT_ID = "1572"
VF_PRODUCT_ID = "154c"
# VFs start at slot 0x02 of the PF's bus, 8 functions per slot.
_FIRST_VF_SLOT = 0x02
_FUNCTIONS_PER_SLOT = 8
# Buses 0x10..0xff, then the next domain: enough for any bench size.
# No device ever sits on bus 0x0f: the index-free miss entry uses it.
_FIRST_BUS = 0x10
_UNUSED_BUS = _FIRST_BUS - 1
_BUSES_PER_DOMAIN = 0x100 - _FIRST_BUS


def pf_address(pf_index: int) -> PciAddress:
    """Each PF sits alone on its own bus, at slot 0 function 0."""
    domain, offset = divmod(pf_index, _BUSES_PER_DOMAIN)
    return PciAddress(domain, _FIRST_BUS + offset, 0, 0)


def build_devices(n_nics: int) -> list[HostPciDevice]:
    """PFs and their VFs for ``n_nics`` dual-port NICs, PF before VFs."""
    devices: list[HostPciDevice] = []
    for nic in range(n_nics):
        numa_node = nic % 2
        for port in range(PORTS_PER_NIC):
            pf_index = nic * PORTS_PER_NIC + port
            pf_addr = pf_address(pf_index)
            pf_name = f"ens{nic + 1}f{port}"
            devices.append(
                HostPciDevice(
                    address=pf_addr,
                    vendor_id=VENDOR_ID,
                    product_id=PF_PRODUCT_ID,
                    dev_type=DevType.PF,
                    numa_node=numa_node,
                    ifname=pf_name,
                )
            )
            for vf in range(VFS_PER_PF):
                slot, function = divmod(vf, _FUNCTIONS_PER_SLOT)
                devices.append(
                    HostPciDevice(
                        address=PciAddress(
                            pf_addr.domain,
                            pf_addr.bus,
                            _FIRST_VF_SLOT + slot,
                            function,
                        ),
                        vendor_id=VENDOR_ID,
                        product_id=VF_PRODUCT_ID,
                        dev_type=DevType.VF,
                        parent_addr=pf_addr,
                        numa_node=numa_node,
                        ifname=f"{pf_name}v{vf}",
                        parent_ifname=pf_name,
                    )
                )
    return devices


def build_device_spec(devices: list[HostPciDevice]) -> list[str]:
    """``[pci] device_spec`` values: one per PF, plus two that miss.

    The two misses come first, as one list value, so every device pays
    for checking a generic entry (the honest worst case for the index).
    """
    values = [
        json.dumps(
            [
                {
                    "vendor_id": "15b3",
                    "product_id": "1018",
                    "physical_network": "unused",
                },
                {"address": "ffff:ff:1f.7", "physical_network": "unused"},
            ]
        )
    ]
    pfs = [dev for dev in devices if dev.dev_type is DevType.PF]
    for index, pf in enumerate(pfs):
        values.append(
            json.dumps(
                {
                    "address": str(pf.address),
                    "physical_network": f"physnet{index % 4}",
                }
            )
        )
    return values


def bus_glob(address: PciAddress) -> str:
    """The glob address of every function on ``address``'s bus.

    ``"*:BB:*.*"``; past domain 0 (more than 240 PFs) the domain is
    written out, so that two PFs' buses never share a glob.
    """
    domain = "*" if address.domain == 0 else f"{address.domain:04x}"
    return f"{domain}:{address.bus:02x}:*.*"


def build_index_free_spec(devices: list[HostPciDevice]) -> list[str]:
    """``[pci] device_spec`` values with no exact address: one per bus.

    Per PF bus one ``vendor_id``/``product_id`` + glob ``address`` entry
    naming the VF product, tagged like :func:`build_device_spec`'s
    entries; first, as one list value, two entries that match nothing:
    one of another vendor and product, and one with the VFs' own ids on
    a bus no device uses (only the bus rejects it).
    """
    values = [
        json.dumps(
            [
                {
                    "vendor_id": "15b3",
                    "product_id": "1018",
                    "address": "*:ff:*.*",
                    "physical_network": "unused",
                },
                {
                    "vendor_id": VENDOR_ID,
                    "product_id": VF_PRODUCT_ID,
                    "address": f"*:{_UNUSED_BUS:02x}:*.*",
                    "physical_network": "unused",
                },
            ]
        )
    ]
    pfs = [dev for dev in devices if dev.dev_type is DevType.PF]
    for index, pf in enumerate(pfs):
        values.append(
            json.dumps(
                {
                    "vendor_id": VENDOR_ID,
                    "product_id": VF_PRODUCT_ID,
                    "address": bus_glob(pf.address),
                    "physical_network": f"physnet{index % 4}",
                }
            )
        )
    return values


#: Workload name -> its device_spec builder.
SPEC_BUILDERS: dict[str, Callable[[list[HostPciDevice]], list[str]]] = {
    EXACT_ADDRESS: build_device_spec,
    INDEX_FREE: build_index_free_spec,
}


def device_spec(workload: str, devices: list[HostPciDevice]) -> list[str]:
    """The ``[pci] device_spec`` values of ``workload`` for ``devices``."""
    try:
        builder = SPEC_BUILDERS[workload]
    except KeyError:
        raise ValueError(
            f"unknown workload {workload!r}; known: {', '.join(WORKLOADS)}"
        ) from None
    return builder(devices)


def expected_matches(workload: str, devices: Sequence[HostPciDevice]) -> int:
    """How many of ``devices`` the workload's whitelist selects."""
    if workload == INDEX_FREE:
        return sum(dev.dev_type is DevType.VF for dev in devices)
    if workload == EXACT_ADDRESS:
        return len(devices)
    raise ValueError(f"unknown workload {workload!r}")
