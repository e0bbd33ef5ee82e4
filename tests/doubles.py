"""Test doubles shared by several tiers.

:class:`NoGuests` completes a :class:`~sriovirt.virt.driver.ComputeDriver`
double that only discovers and reports: every guest method fails the test
if called, so a test proves the code under test never runs a guest.
:func:`sriov_devices` is a fake host inventory of PFs and their VFs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.virt.driver import (
    ComputeDriver,
    GuestSummary,
    GuestVif,
    Instance,
    InstanceState,
)


def _never(what: str) -> NoReturn:
    raise AssertionError(f"this driver double runs no guests ({what})")


class NoGuests(ComputeDriver):
    def spawn(
        self, instance: Instance, vifs: Sequence[GuestVif], packed: bool | None
    ) -> None:
        _never("spawn")

    def destroy(self, instance_uuid: str) -> bool:
        _never("destroy")

    def guest_xml(self, instance_uuid: str) -> str:
        _never("guest_xml")

    def list_instances(self) -> tuple[GuestSummary, ...]:
        _never("list_instances")

    def instance_state(self, instance_uuid: str) -> InstanceState:
        _never("instance_state")

    def resume_guest(self, instance_uuid: str, domain_xml: str) -> bool:
        _never("resume_guest")


def sriov_devices(pfs: Iterable[tuple[str, int]]) -> list[HostPciDevice]:
    """A fake inventory: each ``(PF address, VF count)`` as an Intel PF
    and its VFs (on bus slot 2 + the PF's position), with netdevs."""
    out: list[HostPciDevice] = []
    for index, (text, vfs) in enumerate(pfs):
        pf = PciAddress.parse(text)
        ifname = f"enp{pf.bus}s0f{pf.function}"
        out.append(
            HostPciDevice(
                address=pf,
                vendor_id="8086",
                product_id="1572",
                dev_type=DevType.PF,
                numa_node=0,
                ifname=ifname,
            )
        )
        out.extend(
            HostPciDevice(
                address=PciAddress(0, pf.bus, 2 + index, i),
                vendor_id="8086",
                product_id="154c",
                dev_type=DevType.VF,
                parent_addr=pf,
                numa_node=0,
                ifname=f"{ifname}v{i}",
                parent_ifname=ifname,
            )
            for i in range(vfs)
        )
    return out


def unbound_port(
    port_id: str, network_id: str, mac: str, name: str, **extra: Any
) -> dict[str, Any]:
    """An unbound ``direct`` port body, as Neutron shows it; ``extra``
    fields replace or add to it."""
    return {
        "id": port_id,
        "name": name,
        "network_id": network_id,
        "mac_address": mac,
        "admin_state_up": True,
        "status": "DOWN",
        "device_id": "",
        "device_owner": "",
        "binding:vnic_type": "direct",
        "binding:host_id": "",
        "binding:profile": {},
        "binding:vif_type": "unbound",
        "binding:vif_details": {},
        **extra,
    }


def empty_conf() -> cfg.ConfigOpts:
    """sriovirt's options on a ConfigOpts of their own, parsed from no
    file and no argument: every option at its default until the caller
    sets an override."""
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([], project="sriovirt", default_config_files=[])
    return conf
