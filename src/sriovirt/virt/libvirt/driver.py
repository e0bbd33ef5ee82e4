"""The libvirt compute driver: thin glue from ComputeDriver to libvirt.

Reads its configuration once, at construction, and delegates: the
connection to :mod:`~sriovirt.virt.libvirt.host`, device discovery to
:mod:`~sriovirt.virt.libvirt.inventory`.  It holds no policy of its own.
"""

from __future__ import annotations

from oslo_config import cfg

from sriovirt.virt import driver
from sriovirt.virt.libvirt import inventory, traits
from sriovirt.virt.libvirt.host import Host


class LibvirtDriver(driver.ComputeDriver):
    def __init__(self, conf: cfg.ConfigOpts, host: Host | None = None) -> None:
        self._nodename = str(conf.host)
        self.host = host or Host(conf.libvirt.connection_uri)

    def nodename(self) -> str:
        return self._nodename

    def pci_inventory(self) -> driver.PciInventory:
        inv = inventory.read(self.host)
        return driver.PciInventory(devices=inv.devices, skipped=inv.skipped)

    def trait_decisions(self) -> tuple[traits.TraitDecision, ...]:
        """The host's traits with the reason for each."""
        v = self.host.versions()
        return traits.explain_host_traits(
            v.lib_version, v.hv_version, v.hv_type
        )

    def traits(self) -> dict[str, bool]:
        return {d.name: d.supported for d in self.trait_decisions()}
