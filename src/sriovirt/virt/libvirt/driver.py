"""The libvirt compute driver: thin glue from ComputeDriver to libvirt.

Reads its configuration once (the guest options on the first spawn,
everything else at construction), and delegates: the
connection to :mod:`~sriovirt.virt.libvirt.host`, device discovery to
:mod:`~sriovirt.virt.libvirt.inventory`, trait decisions to
:mod:`~sriovirt.virt.libvirt.traits`, the guest definition to
:mod:`~sriovirt.virt.libvirt.guest`.  The only rules it keeps are the
guest lifecycle's: spawn = define + start, undoing the definition when
the start fails; destroy = stop + undefine, a missing guest being gone
already.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from oslo_config import cfg

from sriovirt import exception
from sriovirt.virt import driver
from sriovirt.virt.libvirt import guest, inventory, traits
from sriovirt.virt.libvirt.host import Host
from sriovirt.virt.libvirt.version import int_to_version
from sriovirt.virt.libvirt.vif import VifConfig

LOG = logging.getLogger(__name__)


class LibvirtDriver(driver.ComputeDriver):
    def __init__(self, conf: cfg.ConfigOpts, host: Host | None = None) -> None:
        self._nodename = str(conf.host)
        self.host = host or Host(conf.libvirt.connection_uri)
        # The node-device XML of the last refresh and what it gave: a
        # steady-state refresh compares texts instead of parsing again.
        self._last_xmls: list[str] | None = None
        self._last_inventory = inventory.Inventory(devices=())
        # The guest options are read on the first spawn, with the
        # hypervisor's type: a driver made to discover devices or show
        # versions works whatever they say (``config check`` reports a
        # bad value of them on its own).
        self._conf = conf
        self._guest_config: guest.GuestConfig | None = None

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

    # -- guests ---------------------------------------------------------------

    def guest_config(self) -> guest.GuestConfig:
        """The host's side of every guest definition (cached)."""
        if self._guest_config is None:
            try:
                vif_config = VifConfig(
                    rx_queue_size=self._conf.libvirt.rx_queue_size,
                    tx_queue_size=self._conf.libvirt.tx_queue_size,
                )
            except cfg.Error as exc:
                raise exception.ConfigError(
                    reason=f"[libvirt] queue sizes of guest NICs: {exc}"
                ) from None
            self._guest_config = guest.GuestConfig.for_hypervisor(
                self.host.versions().hv_type, vif_config
            )
        return self._guest_config

    def spawn(
        self,
        instance: driver.Instance,
        vifs: Sequence[driver.GuestVif],
        packed: bool | None,
    ) -> None:
        xml = guest.domain_xml(instance, vifs, packed, self.guest_config())
        transient_before = self._refuse_existing(instance)
        uuid = self.host.define(xml)
        try:
            self.host.start(uuid)
        except BaseException:
            self._undo_define(instance, uuid, transient_before)
            raise

    def _refuse_existing(self, instance: driver.Instance) -> bool:
        """Refuse a defined guest of the same UUID or name; True when a
        transient (running, undefined) guest of the UUID exists."""
        # Defining over an existing definition would replace it, and the
        # rollback of a failed start would then delete a guest this spawn
        # never made.  A transient guest has no definition to lose: the
        # rollback only has to leave it running, as it was.
        by_uuid = self.host.domain(instance.uuid)
        for found in (by_uuid, self.host.domain_by_name(instance.name)):
            if found is not None and found.persistent:
                raise exception.InstanceExists(
                    uri=self.host.uri,
                    operation=f"spawn of instance {instance.name!r} "
                    f"({instance.uuid})",
                    reason=f"domain {found.name!r} ({found.uuid}) is "
                    "already defined; spawn never replaces a definition",
                )
        return by_uuid is not None

    def _undo_define(
        self, instance: driver.Instance, uuid: str, transient_before: bool
    ) -> None:
        try:
            if transient_before:
                self.host.undefine(uuid)
            else:
                # Whatever the failed start left (a guest that did start
                # before the error reached us) goes with the definition.
                self.host.destroy_and_undefine(uuid)
        except exception.HypervisorError as exc:
            # The start's error is the one to report; this one is logged
            # so that the leftover definition can be found.
            LOG.error(
                "Definition of instance %s (%s) left behind after its "
                "start failed: %s",
                instance.name,
                uuid,
                exc,
            )

    def destroy(self, instance_uuid: str) -> bool:
        return self.host.destroy_and_undefine(instance_uuid)

    def guest_xml(self, instance_uuid: str) -> str:
        return self.host.domain_xml(instance_uuid, inactive=True)

    def list_instances(self) -> tuple[driver.GuestSummary, ...]:
        return tuple(sorted(self.host.domains(), key=lambda d: d.name))

    def instance_state(self, instance_uuid: str) -> driver.InstanceState:
        found = self.host.domain(instance_uuid)
        return driver.InstanceState.MISSING if found is None else found.state

    def resume_guest(self, instance_uuid: str, domain_xml: str) -> bool:
        found = self.host.domain(instance_uuid)
        if found is not None and found.state is driver.InstanceState.RUNNING:
            return False
        if found is not None and found.state is not (
            driver.InstanceState.SHUT_OFF
        ):
            raise exception.HypervisorError(
                uri=self.host.uri,
                operation=f"resume of domain {found.name!r} ({instance_uuid})",
                reason=f"it is {found.state.value}, not shut off; left "
                "as it is",
            )
        if found is None:
            uuid = self.host.define(domain_xml)
            if uuid != instance_uuid:
                self.host.undefine(uuid)
                raise exception.HypervisorError(
                    uri=self.host.uri,
                    operation=f"resume of domain {instance_uuid}",
                    reason=f"its stored XML defines domain {uuid} instead",
                )
        self.host.start(instance_uuid)
        return True

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

    def host_resources(self) -> driver.HostResources:
        """CPUs and memory from libvirt; disk from the filesystem of
        ``[DEFAULT] state_path`` (where guest state lives)."""
        vcpus, memory_mb = self.host.node_info()
        path = str(self._conf.state_path)
        try:
            st = os.statvfs(path)
        except OSError as exc:
            raise exception.HypervisorError(
                uri=self.host.uri,
                operation="disk size query",
                reason=f"[DEFAULT] state_path {path!r}: {exc.strerror}",
            ) from None
        disk_gb = st.f_blocks * st.f_frsize // (1024**3)
        return driver.HostResources(vcpus, memory_mb, disk_gb)

    def explain_traits(self) -> tuple[driver.TraitExplanation, ...]:
        return tuple(
            driver.TraitExplanation(d.name, d.supported, d.reason)
            for d in self.trait_decisions()
        )
