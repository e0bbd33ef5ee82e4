"""What the compute side asks of the network service, and in which terms.

:class:`NetworkAPI` is the protocol both backends implement (the static
one, :mod:`~sriovirt.network.static`, and the Neutron one): show a port,
show a network, bind a port to this host with the PCI device claimed for
it (:class:`PortBinding`), and unbind it.  Bodies in and out are Neutron
API v2.0 JSON objects (the inner ``port``/``network`` objects).

:func:`port_request` reads an *unbound* port and its network into a
:class:`~sriovirt.network.values.PortRequest` (what to claim before
binding; a port that could never be plugged is refused there, before
anything is claimed); a *bound* port is read by
:meth:`sriovirt.network.model.VIF.from_port`.  :func:`unbound_fields`
says what unbinding writes: exactly the keys a binding added are
removed from ``binding:profile``, every other key stays.

This module must not talk to Neutron or to files, read configuration,
or decide a binding's vif type (that is the network service's job, and
:mod:`~sriovirt.network.binding` for the static backend).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sriovirt import exception
from sriovirt.network import neutron_body
from sriovirt.network.checks import show
from sriovirt.network.json_values import Fail
from sriovirt.network.values import PCI_DEV_TYPES, PortRequest, VnicType
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import hex_id
from sriovirt.pci.netdev import mac_problem

#: The ``binding:profile`` keys a binding writes (as Nova 34 does), and
#: therefore the keys unbinding removes.
PROFILE_KEYS = frozenset(
    {
        "pci_vendor_info",
        "pci_slot",
        "physical_network",
        "pf_mac_address",
        "vf_num",
    }
)

#: What ``device_owner`` Nova writes for an instance's port.
DEVICE_OWNER = "compute:nova"

#: The vnic types sriovirt can plug: a tap/bridge/OVS port or a PCI one.
SUPPORTED_VNIC_TYPES = frozenset({VnicType.NORMAL, *PCI_DEV_TYPES})


@dataclass(frozen=True, slots=True, kw_only=True)
class PciBinding:
    """The claimed PCI device, as ``binding:profile`` describes it.

    ``pf_mac_address`` and ``vf_num`` are set for a VF only (its PF's
    MAC and its index among the PF's VFs), as Nova 34 writes them.
    """

    address: PciAddress
    vendor_id: str
    product_id: str
    physical_network: str | None
    pf_mac_address: str | None = None
    vf_num: int | None = None

    def __post_init__(self) -> None:
        for field in ("vendor_id", "product_id"):
            value = getattr(self, field)
            if hex_id(value) != value:
                self._bad(f"{field} {show(value)} is not 4 lowercase hex")
        mac = self.pf_mac_address
        if mac is not None and mac_problem(mac) is not None:
            self._bad(f"pf_mac_address {show(mac)}: {mac_problem(mac)}")
        if self.vf_num is not None and not 0 <= self.vf_num < 2**16:
            self._bad(f"vf_num {show(self.vf_num)} is not in 0-65535")

    def _bad(self, what: str) -> None:
        raise exception.Invalid(
            reason=f"PCI binding of device {self.address}: {what}"
        )

    def profile(self) -> dict[str, Any]:
        """The ``binding:profile`` keys this device sets."""
        profile: dict[str, Any] = {
            "pci_vendor_info": f"{self.vendor_id}:{self.product_id}",
            "pci_slot": str(self.address),
            "physical_network": self.physical_network,
        }
        if self.pf_mac_address is not None:
            profile["pf_mac_address"] = self.pf_mac_address
        if self.vf_num is not None:
            profile["vf_num"] = self.vf_num
        return profile


@dataclass(frozen=True, slots=True, kw_only=True)
class PortBinding:
    """What binding a port to this host writes on the port."""

    host: str
    device_id: str
    device_owner: str = DEVICE_OWNER
    pci: PciBinding | None = None

    def fields(self, port: Mapping[str, Any]) -> dict[str, Any]:
        """The port attributes to write; ``port``'s own profile keys
        other than :data:`PROFILE_KEYS` are kept."""
        profile = _foreign_profile(port)
        if self.pci is not None:
            profile.update(self.pci.profile())
        return {
            "binding:host_id": self.host,
            "device_id": self.device_id,
            "device_owner": self.device_owner,
            "binding:profile": profile,
        }


@runtime_checkable
class NetworkAPI(Protocol):
    """A network service: the static backend or Neutron."""

    def show_port(self, port_id: str) -> dict[str, Any]:
        """The port body; :class:`~sriovirt.exception.PortNotFound`."""
        ...

    def show_network(self, network_id: str) -> dict[str, Any]:
        """The network body (with ``provider:*`` or ``segments``);
        :class:`~sriovirt.exception.NetworkNotFound`."""
        ...

    def bind_port(self, port_id: str, binding: PortBinding) -> dict[str, Any]:
        """Bind the port; return it as re-read after the binding.

        The returned port is bound: its ``binding:vif_type`` is never
        ``binding_failed`` (nor ``unbound``).  When no mechanism driver
        binds it, both backends leave the port unbound (as
        :meth:`unbind_port` would) and raise
        :class:`~sriovirt.exception.PortBindingFailed` naming the port,
        the host and why (where known).  Other failures raise before or
        after the write; the caller's rollback unbinds.
        """
        ...

    def unbind_port(self, port_id: str) -> dict[str, Any]:
        """Undo :meth:`bind_port` (see :func:`unbound_fields`); return
        the port as re-read.  Unbinding an unbound port is a no-op."""
        ...


def unbound_fields(port: Mapping[str, Any]) -> dict[str, Any]:
    """The port attributes unbinding writes: no host, no device, and
    ``binding:profile`` without :data:`PROFILE_KEYS` (the rest kept)."""
    return {
        "binding:host_id": "",
        "device_id": "",
        "device_owner": "",
        "binding:profile": _foreign_profile(port),
    }


def _foreign_profile(port: Mapping[str, Any]) -> dict[str, Any]:
    profile = port.get("binding:profile")
    if not isinstance(profile, Mapping):
        # Neutron shows an empty profile as {} (old releases as "").
        return {}
    return {k: v for k, v in profile.items() if k not in PROFILE_KEYS}


def port_request(
    port: Mapping[str, Any], network: Mapping[str, Any]
) -> PortRequest:
    """An unbound port and its network -> what to claim for it.

    Raises :class:`~sriovirt.exception.VifError` naming the port for a
    port another server or device uses (:func:`in_use`), an
    unsupported vnic type, a PCI vnic type on a network without a
    physical network, or a value binding does not change and the guest
    NIC needs (its ``mac_address``): a port that cannot be plugged is
    refused before a device is claimed or the port bound for it.
    """
    port_id = neutron_body.port_id(port)
    fail = Fail(port_id)
    body = neutron_body.unwrap(port, "port", fail)
    taken = in_use(body, None)
    if taken is not None:
        raise fail(taken)
    neutron_body.mac_address(body, fail)
    vnic_type = _vnic_type(body.get("binding:vnic_type"), fail)
    net = neutron_body.network(network, port_id)
    physnets = net.physical_networks
    dev_type = PCI_DEV_TYPES.get(vnic_type)
    if dev_type is not None and not physnets:
        raise fail(
            f"network {show(net.id)} has no segment with a "
            f"provider:physical_network; vnic_type {vnic_type.value!r} "
            f"needs a {dev_type.value} device on a physical network"
        )
    return PortRequest(
        port_id=port_id,
        network_id=neutron_body.network_id(body, net, fail),
        vnic_type=vnic_type,
        physical_network=physnets[0] if physnets else None,
        dev_type=dev_type,
    )


def in_use(port: Mapping[str, Any], device_id: str | None) -> str | None:
    """Why ``port`` cannot be bound to ``device_id`` (None: to a new
    server) because another server or device holds it, or None.

    As Nova does, a port whose ``device_id`` is set belongs to that
    device: binding it again would move its MAC and binding under a
    running guest.
    """
    holder = port.get("device_id")
    if holder in (None, "", device_id):
        return None
    return (
        f"it is in use: device_id {show(holder)} (device_owner "
        f"{show(port.get('device_owner'))}, binding:host_id "
        f"{show(port.get('binding:host_id'))}); delete that server or "
        "unbind the port first"
    )


def request_for(api: NetworkAPI, port_id: str) -> PortRequest:
    """Show the port and its network through ``api``; read them."""
    port = api.show_port(port_id)
    network_id = port.get("network_id")
    if not isinstance(network_id, str) or not network_id:
        raise exception.VifError(
            port_id=port_id,
            reason=f"network_id {show(network_id)} is missing",
        )
    return port_request(port, api.show_network(network_id))


def _vnic_type(value: object, fail: Fail) -> VnicType:
    if value is None:
        return VnicType.NORMAL  # Neutron's default
    if isinstance(value, str) and value in SUPPORTED_VNIC_TYPES:
        return VnicType(value)
    supported = ", ".join(sorted(SUPPORTED_VNIC_TYPES))
    raise fail(
        f"binding:vnic_type {show(value)} is not supported "
        f"(supported: {supported})"
    )
