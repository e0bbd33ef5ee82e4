"""The libvirt compute driver: thin glue from ComputeDriver to libvirt.

Reads its configuration once, at construction, and delegates: the
connection to :mod:`~sriovirt.virt.libvirt.host`, device discovery to
:mod:`~sriovirt.virt.libvirt.inventory`, trait decisions to
:mod:`~sriovirt.virt.libvirt.traits`.  It holds no policy of its own.
"""

from __future__ import annotations

from oslo_config import cfg

from sriovirt.virt import driver
from sriovirt.virt.libvirt import inventory, traits
from sriovirt.virt.libvirt.host import Host
from sriovirt.virt.libvirt.version import int_to_version


class LibvirtDriver(driver.ComputeDriver):
    def __init__(self, conf: cfg.ConfigOpts, host: Host | None = None) -> None:
        self._nodename = str(conf.host)
        self.host = host or Host(conf.libvirt.connection_uri)
        # The node-device XML of the last refresh and what it gave: a
        # steady-state refresh compares texts instead of parsing again.
        self._last_xmls: list[str] | None = None
        self._last_inventory = inventory.Inventory(devices=())

    def nodename(self) -> str:
        return self._nodename

    def pci_inventory(self) -> driver.PciInventory:
        xmls = self.host.node_device_xmls()
        if xmls != self._last_xmls:
            self._last_inventory = inventory.from_node_device_xmls(xmls)
            self._last_xmls = xmls
        inv = self._last_inventory
        return driver.PciInventory(devices=inv.devices, skipped=inv.skipped)

    def trait_decisions(self) -> tuple[traits.TraitDecision, ...]:
        """The host's traits with the reason for each."""
        v = self.host.versions()
        return traits.explain_host_traits(
            v.lib_version, v.hv_version, v.hv_type
        )

    def traits(self) -> dict[str, bool]:
        return {d.name: d.supported for d in self.trait_decisions()}

    # -- for the commands: a chosen URI, versions, reasons -----------------

    @classmethod
    def for_connection(cls, conf: cfg.ConfigOpts, uri: str) -> LibvirtDriver:
        """A driver on ``uri`` instead of ``[libvirt] connection_uri``
        (``--connection``, or a test-driver host document)."""
        return cls(conf, Host(uri))

    def host_versions(self) -> driver.HostVersions:
        v = self.host.versions()
        return driver.HostVersions(
            library=int_to_version(v.lib_version),
            hypervisor_type=v.hv_type,
            hypervisor=int_to_version(v.hv_version),
        )

    def explain_traits(self) -> tuple[driver.TraitExplanation, ...]:
        return tuple(
            driver.TraitExplanation(d.name, d.supported, d.reason)
            for d in self.trait_decisions()
        )
