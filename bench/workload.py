"""The design's reference SR-IOV host (design section 7), as plain values.

``build_devices(n_nics)`` gives a host with ``n_nics`` NICs of 2 ports
each (one PF per port), 128 VFs per PF: N=8 is 16 PFs + 2,048 VFs =
2,064 devices.  ``build_device_spec(devices)`` gives the ``[pci]
device_spec`` values for it: one entry per PF address tagged
``physnet{i % 4}``, plus two entries that match nothing.  Other benches
reuse both, so the shapes here are part of the bench contract.

This module builds values only: no timing, no libvirt, no configuration.
"""

from __future__ import annotations

import json

from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice

PORTS_PER_NIC = 2
VFS_PER_PF = 128
VENDOR_ID = "8086"
PF_PRODUCT_ID = "1572"
VF_PRODUCT_ID = "154c"
# VFs start at slot 0x02 of the PF's bus, 8 functions per slot.
_FIRST_VF_SLOT = 0x02
_FUNCTIONS_PER_SLOT = 8
# Buses 0x10..0xff, then the next domain: enough for any bench size.
_FIRST_BUS = 0x10
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
