"""The VIF model: a bound Neutron port as typed, validated values.

:meth:`VIF.from_port` turns the Neutron API v2.0 JSON body of a port,
read *after* binding, plus optionally its network, into a frozen
:class:`VIF`.  Everything the libvirt VIF builder
(:mod:`sriovirt.virt.libvirt.vif`) needs is checked here, once, so the
builder can trust its input: a missing or malformed value is a
:class:`~sriovirt.exception.VifError` that names the port and the field.

Supported bindings (``binding:vif_type`` x ``binding:vnic_type``):

====================  ===================  =========================
vif_type              vnic_type            required values
====================  ===================  =========================
``hw_veb``            ``direct``,          ``vif_details.vlan``
                      ``macvtap``          (0-4095; 0 = untagged),
                                           ``profile.pci_slot``
``802.1qbh``          ``direct``,          ``vif_details.profileid``,
                      ``macvtap``          ``profile.pci_slot``
``hostdev_physical``  ``direct-physical``  ``profile.pci_slot``
``ovs``               ``normal``           --
``bridge``            ``normal``           --
``tap``               ``normal``           --
====================  ===================  =========================

Any other pair is rejected, as are ``binding_failed`` and ``unbound``
(the port is not usable on this host) and vif types sriovirt does not
know.  This is what real Neutron returns for the SR-IOV mechanism
drivers: ``vlan`` is a string (``'42'``; ``'0'`` on a flat network) and
is normalised to an ``int`` here.

This module is pure: it must not talk to Neutron, libvirt, the database
or configuration, and must not render XML (that is policy of
:mod:`sriovirt.virt.libvirt.vif`).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sriovirt import exception
from sriovirt.pci.address import PciAddress

#: Linux interface names are at most 15 characters; Nova uses
#: ``tap`` + the first 11 characters of the port id, and so do we.
NIC_NAME_LEN = 14
#: Linux IFNAMSIZ (16 bytes) less the terminating NUL.
IFNAME_MAX = 15
MAX_VLAN = 4095
#: What QEMU's ``host_mtu`` accepts (Linux's IPv4 minimum to IP_MAX_MTU);
#: 0 is Neutron's "unknown" and writes no ``<mtu>``.
MIN_MTU, MAX_MTU = 68, 65535
MAX_SEGMENTATION_ID = 2**32 - 1
#: libvirt's 802.1Qbh port profile id limit (40 bytes with the NUL).
MAX_PROFILEID = 39
#: Longest value quoted in an error message; the rest is elided.
_SHOWN = 60

_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
# Enough digits for any field here; longer text is out of range without
# being converted (int() of 5000 digits raises ValueError).
_INT = re.compile(r"[+-]?[0-9]{1,20}")
_LONG_INT = re.compile(r"[+-]?[0-9]+")
_VENDOR_INFO = re.compile(r"([0-9a-f]{4}):([0-9a-f]{4})")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
# C0 and C1 controls, DEL, surrogates and the two non-characters: none of
# them can be written into libvirt's XML.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Linux dev_valid_name() refuses these in an interface name.
_IFNAME_BAD = re.compile(r"[/:\s]")
# libvirt's schema for <source bridge=...> (interface-bridge-attributes).
_BRIDGE_CHARS = re.compile(r"[a-zA-Z0-9_.\-\\]*")


def show(value: object) -> str:
    """A one-line, bounded ``repr`` of ``value`` for an error message.

    ``repr`` of an integer beyond 4300 digits raises ValueError, and a
    5 MB string does not belong on a terminal.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        digits = _digits(value)
        if digits > _SHOWN:
            return f"<an integer of {digits} digits>"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"<a {type(value).__name__}>"
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 3] + "..."
    return text


def _digits(value: int) -> int:
    """Decimal digits of ``value`` without converting it to text."""
    n = abs(value)
    if n < 10:
        return 1
    # An under-estimate from the bit length, then corrected upwards.
    digits = max(1, int((n.bit_length() - 1) * math.log10(2)))
    while 10**digits <= n:
        digits += 1
    return digits


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be written into libvirt XML, or None."""
    if _CONTROL.search(value):
        return "contains a control character"
    return None


def ifname_problem(name: str) -> str | None:
    """Why ``name`` cannot be a Linux network interface name, or None.

    The kernel's ``dev_valid_name()``: 1-15 bytes (IFNAMSIZ less the
    NUL), not ``.`` or ``..``, no ``/``, ``:`` or whitespace; and no
    control characters, which libvirt's XML cannot carry either.
    """
    problem = text_problem(name)
    if problem is not None:
        return problem
    if not name:
        return "is empty"
    if name in (".", ".."):
        return "is not a name"
    if _IFNAME_BAD.search(name):
        return "contains '/', ':' or whitespace"
    if len(name) > IFNAME_MAX:
        return f"is longer than {IFNAME_MAX} characters"
    if len(name.encode()) > IFNAME_MAX:
        return f"is longer than {IFNAME_MAX} bytes in UTF-8"
    return None


class VnicType(enum.StrEnum):
    """Neutron ``binding:vnic_type`` values (all known, not all usable)."""

    NORMAL = "normal"
    DIRECT = "direct"
    MACVTAP = "macvtap"
    DIRECT_PHYSICAL = "direct-physical"
    BAREMETAL = "baremetal"
    VIRTIO_FORWARDER = "virtio-forwarder"
    SMARTNIC = "smart-nic"
    VDPA = "vdpa"
    ACCELERATOR_DIRECT = "accelerator-direct"
    ACCELERATOR_DIRECT_PHYSICAL = "accelerator-direct-physical"
    REMOTE_MANAGED = "remote-managed"


class VifType(enum.StrEnum):
    """Neutron ``binding:vif_type`` values sriovirt can plug."""

    HW_VEB = "hw_veb"
    QBH = "802.1qbh"
    HOSTDEV_PHYSICAL = "hostdev_physical"
    OVS = "ovs"
    BRIDGE = "bridge"
    TAP = "tap"


#: vif types that mean "not bound": never pluggable.
UNBOUND_VIF_TYPES = frozenset({"binding_failed", "unbound"})

#: vnic types whose port is backed by a host PCI device (VF or PF) and
#: therefore needs ``binding:profile.pci_slot``.
PCI_VNIC_TYPES = frozenset(
    {VnicType.DIRECT, VnicType.MACVTAP, VnicType.DIRECT_PHYSICAL}
)

#: The supported vif_type -> vnic_types pairs (see the module docstring).
SUPPORTED_BINDINGS: Mapping[VifType, frozenset[VnicType]] = {
    VifType.HW_VEB: frozenset({VnicType.DIRECT, VnicType.MACVTAP}),
    VifType.QBH: frozenset({VnicType.DIRECT, VnicType.MACVTAP}),
    VifType.HOSTDEV_PHYSICAL: frozenset({VnicType.DIRECT_PHYSICAL}),
    VifType.OVS: frozenset({VnicType.NORMAL}),
    VifType.BRIDGE: frozenset({VnicType.NORMAL}),
    VifType.TAP: frozenset({VnicType.NORMAL}),
}


class _Fail:
    """Raise :class:`VifError` for one port; keeps call sites short."""

    def __init__(self, port_id: str) -> None:
        self.port_id = port_id

    def __call__(self, reason: str) -> exception.VifError:
        return exception.VifError(port_id=self.port_id, reason=reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class VifDetails:
    """The ``binding:vif_details`` values sriovirt uses.

    ``vlan`` is the VLAN id Neutron assigned (``0`` = untagged, as on a
    flat network); use :attr:`tagged_vlan` when deciding whether to
    write a ``<vlan>`` element.  Keys sriovirt does not use
    (``bound_drivers``, ``connectivity``, ...) are not kept, except the
    ones listed here.
    """

    vlan: int | None = None
    profileid: str | None = None
    bridge_name: str | None = None
    port_filter: bool = False
    ovs_hybrid_plug: bool = False
    datapath_type: str | None = None
    connectivity: str | None = None

    @property
    def tagged_vlan(self) -> int | None:
        """The VLAN tag to program, or None for untagged traffic.

        Nova writes ``<tag id='0'/>`` for a flat network because ``'0'``
        is a truthy string; VLAN 0 is "priority tagged", not a VLAN, so
        we treat it as untagged.
        """
        return self.vlan or None


@dataclass(frozen=True, slots=True, kw_only=True)
class PciProfile:
    """The PCI part of ``binding:profile`` for an SR-IOV port."""

    pci_slot: PciAddress
    vendor_id: str | None = None
    product_id: str | None = None
    physical_network: str | None = None
    trusted: bool = False

    @property
    def pci_vendor_info(self) -> str | None:
        """``vvvv:pppp`` as Neutron stores it, or None when unknown."""
        if self.vendor_id is None or self.product_id is None:
            return None
        return f"{self.vendor_id}:{self.product_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """One segment of a network (``provider:*`` or ``segments[]``)."""

    network_type: str | None = None
    physical_network: str | None = None
    segmentation_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    """The parts of a Neutron network a VIF needs."""

    id: str | None = None
    name: str | None = None
    mtu: int | None = None
    segments: tuple[Segment, ...] = ()

    @property
    def physical_networks(self) -> tuple[str, ...]:
        """Distinct physical networks of all segments, in order."""
        seen: dict[str, None] = {}
        for seg in self.segments:
            if seg.physical_network is not None:
                seen.setdefault(seg.physical_network, None)
        return tuple(seen)

    @property
    def physical_network(self) -> str | None:
        """The physical network when it is unambiguous, else None."""
        physnets = self.physical_networks
        return physnets[0] if len(physnets) == 1 else None

    @classmethod
    def from_dict(cls, body: Mapping[str, Any], port_id: str) -> Network:
        """Build from a Neutron network body (``{"network": {...}}`` or
        the inner object); errors name ``port_id``."""
        fail = _Fail(port_id)
        net = _unwrap(body, "network", fail)
        segments: list[Segment] = []
        if any(key.startswith("provider:") for key in net):
            segments.append(_segment(net, "network", fail))
        raw_segments = net.get("segments")
        if raw_segments is not None:
            if not isinstance(raw_segments, list):
                raise fail(
                    f"network.segments {show(raw_segments)} is not a list"
                )
            for index, raw in enumerate(raw_segments):
                if not isinstance(raw, Mapping):
                    raise fail(
                        f"network.segments[{index}] {show(raw)} is not an "
                        "object"
                    )
                segments.append(
                    _segment(raw, f"network.segments[{index}]", fail)
                )
        mtu = net.get("mtu")
        return cls(
            id=_opt_str(net, "id", "network.id", fail),
            name=_opt_str(net, "name", "network.name", fail),
            mtu=None if mtu is None else _mtu(mtu, fail),
            segments=tuple(segments),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VIF:
    """A bound Neutron port, ready to be turned into guest XML."""

    id: str
    address: str
    vnic_type: VnicType
    vif_type: VifType
    details: VifDetails
    profile: PciProfile | None = None
    network: Network | None = None
    network_id: str | None = None
    host: str | None = None

    @property
    def devname(self) -> str:
        """Host tap device name for non-PCI VIFs (``tap`` + id prefix)."""
        return ("tap" + self.id)[:NIC_NAME_LEN]

    @property
    def is_pci(self) -> bool:
        """True when a host PCI device (VF or PF) backs this port."""
        return self.vnic_type in PCI_VNIC_TYPES

    @property
    def pci_slot(self) -> PciAddress | None:
        return None if self.profile is None else self.profile.pci_slot

    @property
    def vlan(self) -> int | None:
        """The VLAN tag to program (None for untagged; see VifDetails)."""
        return self.details.tagged_vlan

    @property
    def mtu(self) -> int | None:
        return None if self.network is None else self.network.mtu

    @classmethod
    def from_port(
        cls,
        port: Mapping[str, Any],
        network: Mapping[str, Any] | None = None,
    ) -> VIF:
        """Build and validate a VIF from a bound port (and its network).

        ``port`` and ``network`` are Neutron API v2.0 JSON bodies, either
        wrapped (``{"port": {...}}``) or the inner objects.
        """
        port_id = _port_id(port)
        fail = _Fail(port_id)
        body = _unwrap(port, "port", fail)
        address = _mac(body.get("mac_address"), fail)
        vnic_type = _vnic_type(body.get("binding:vnic_type"), fail)
        vif_type = _vif_type(body.get("binding:vif_type"), body, fail)
        allowed = SUPPORTED_BINDINGS[vif_type]
        if vnic_type not in allowed:
            raise fail(
                f"binding:vif_type {vif_type.value!r} with "
                f"binding:vnic_type {vnic_type.value!r} is not supported "
                f"(vif_type {vif_type.value!r} needs vnic_type "
                f"{' or '.join(sorted(allowed))})"
            )
        details = _details(body.get("binding:vif_details"), fail)
        if vif_type is VifType.HW_VEB and details.vlan is None:
            raise fail(
                "binding:vif_details.vlan is missing; vif_type hw_veb "
                "needs the VLAN id Neutron assigned ('0' for flat)"
            )
        if vif_type is VifType.QBH and not details.profileid:
            raise fail(
                "binding:vif_details.profileid is missing; vif_type "
                "802.1qbh needs the port profile id"
            )
        profile = _profile(
            body.get("binding:profile"),
            required=vnic_type in PCI_VNIC_TYPES,
            vnic_type=vnic_type,
            fail=fail,
        )
        net = None if network is None else Network.from_dict(network, port_id)
        network_id = _opt_uuid(body, "network_id", fail)
        if (
            net is not None
            and net.id is not None
            and network_id is not None
            and net.id != network_id
        ):
            raise fail(
                f"network_id {show(network_id)} does not match the network "
                f"given ({show(net.id)})"
            )
        return cls(
            id=port_id,
            address=address,
            vnic_type=vnic_type,
            vif_type=vif_type,
            details=details,
            profile=profile,
            network=net,
            network_id=network_id,
            host=_opt_str(body, "binding:host_id", "binding:host_id", fail)
            or None,
        )


# --- field parsers ---------------------------------------------------------


def _inner(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The object of a ``{key: {...}}`` wrapper, else ``body`` itself."""
    inner = body.get(key)
    if len(body) == 1 and isinstance(inner, Mapping):
        return inner
    return body


def _unwrap(
    body: Mapping[str, Any], key: str, fail: _Fail
) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise fail(f"{key} body {show(body)} is not a JSON object")
    return _inner(body, key)


def _port_id(port: object) -> str:
    # Runs before _unwrap: every error after it names the port.
    port_id = (
        _inner(port, "port").get("id") if isinstance(port, Mapping) else None
    )
    if not isinstance(port_id, str) or not port_id.strip():
        raise exception.VifError(
            port_id="<unknown>",
            reason=f"port id {show(port_id)} is missing or not a string",
        )
    port_id = port_id.strip()
    # Neutron's ids are UUIDs, and the XML relies on it: the tap name is
    # cut from the id and OVS's interfaceid must be a UUID.
    if not _UUID.fullmatch(port_id):
        raise exception.VifError(
            port_id="<unknown>",
            reason=f"port id {show(port_id)} is not a UUID",
        )
    return port_id


def _mac(value: object, fail: _Fail) -> str:
    if not isinstance(value, str):
        raise fail(f"mac_address {show(value)} is missing or not a string")
    mac = value.strip().lower()
    if not _MAC.fullmatch(mac):
        raise fail(
            f"mac_address {show(value)} is not a MAC address like "
            "fa:16:3e:00:00:01"
        )
    # libvirt refuses a multicast guest MAC ("expected unicast mac
    # address"); say so here, where we can name the port.
    if int(mac[:2], 16) & 1:
        raise fail(f"mac_address {show(value)} is a multicast address")
    return mac


def _vnic_type(value: object, fail: _Fail) -> VnicType:
    if value is None:
        # Neutron's default when the attribute is not set.
        return VnicType.NORMAL
    if not isinstance(value, str):
        raise fail(f"binding:vnic_type {show(value)} is not a string")
    try:
        return VnicType(value)
    except ValueError:
        raise fail(
            f"binding:vnic_type {show(value)} is unknown; known: "
            f"{', '.join(v.value for v in VnicType)}"
        ) from None


def _vif_type(value: object, body: Mapping[str, Any], fail: _Fail) -> VifType:
    if value is None:
        raise fail("binding:vif_type is missing; is the port bound?")
    if not isinstance(value, str):
        # Checked first: `in` on a frozenset hashes, and a dict cannot.
        raise fail(f"binding:vif_type {show(value)} is not a string")
    if value in UNBOUND_VIF_TYPES:
        host = body.get("binding:host_id") or "<no host>"
        raise fail(
            f"binding:vif_type is {value!r}: Neutron did not bind the "
            f"port on host {show(host)}"
        )
    try:
        return VifType(value)
    except ValueError:
        raise fail(
            f"binding:vif_type {show(value)} is not supported; supported: "
            f"{', '.join(v.value for v in VifType)}"
        ) from None


def _details(value: object, fail: _Fail) -> VifDetails:
    if value is None:
        return VifDetails()
    if not isinstance(value, Mapping):
        raise fail(f"binding:vif_details {show(value)} is not an object")
    where = "binding:vif_details"
    vlan = value.get("vlan")
    return VifDetails(
        vlan=None if vlan is None else _vlan(vlan, fail),
        profileid=_profileid(value.get("profileid"), fail),
        bridge_name=_bridge_name(value.get("bridge_name"), fail),
        port_filter=_bool(
            value.get("port_filter", False), f"{where}.port_filter", fail
        ),
        ovs_hybrid_plug=_bool(
            value.get("ovs_hybrid_plug", False),
            f"{where}.ovs_hybrid_plug",
            fail,
        ),
        datapath_type=_opt_str(
            value, "datapath_type", f"{where}.datapath_type", fail
        ),
        connectivity=_opt_str(
            value, "connectivity", f"{where}.connectivity", fail
        ),
    )


def _vlan(value: object, fail: _Fail) -> int:
    field = "binding:vif_details.vlan"
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INT.fullmatch(value.strip()):
        number = int(value.strip())
    elif isinstance(value, str) and _LONG_INT.fullmatch(value.strip()):
        number = MAX_VLAN + 1  # too many digits to convert: out of range
    else:
        number = None
    if number is None:
        raise fail(f"{field} {show(value)} is not an integer VLAN id")
    if not 0 <= number <= MAX_VLAN:
        raise fail(f"{field} {show(value)} is outside 0-{MAX_VLAN}")
    return number


def _profileid(value: object, fail: _Fail) -> str | None:
    field = "binding:vif_details.profileid"
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(f"{field} {show(value)} is not a string")
    problem = text_problem(value)
    if problem is None and len(value) > MAX_PROFILEID:
        problem = f"is longer than {MAX_PROFILEID} characters"
    if problem is not None:
        raise fail(f"{field} {show(value)} {problem}")
    return value


def _bridge_name(value: object, fail: _Fail) -> str | None:
    field = "binding:vif_details.bridge_name"
    if value is None or value == "":
        # Unset: the builder picks the default bridge.
        return value
    if not isinstance(value, str):
        raise fail(f"{field} {show(value)} is not a string")
    problem = ifname_problem(value)
    if problem is None and not _BRIDGE_CHARS.fullmatch(value):
        problem = "has characters libvirt refuses in a bridge name"
    if problem is not None:
        raise fail(f"{field} {show(value)} {problem}")
    return value


def _profile(
    value: object,
    *,
    required: bool,
    vnic_type: VnicType,
    fail: _Fail,
) -> PciProfile | None:
    if value is None or value == "":
        value = {}
    if not isinstance(value, Mapping):
        raise fail(f"binding:profile {show(value)} is not an object")
    slot = value.get("pci_slot")
    if slot is None:
        if required:
            raise fail(
                f"binding:profile.pci_slot is missing; vnic_type "
                f"{vnic_type.value!r} is backed by a PCI device"
            )
        return None
    if not required:
        # A normal port does not use a PCI device; a pci_slot here means
        # the binding and the vnic type disagree.
        raise fail(
            f"binding:profile.pci_slot {show(slot)} is set but vnic_type "
            f"{vnic_type.value!r} does not use a PCI device"
        )
    address = _pci_address(slot)
    if address is None:
        raise fail(
            f"binding:profile.pci_slot {show(slot)} is not a PCI address "
            "like 0000:81:10.2"
        )
    vendor_id = product_id = None
    info = value.get("pci_vendor_info")
    if info is not None:
        match = (
            _VENDOR_INFO.fullmatch(info.strip().lower())
            if isinstance(info, str)
            else None
        )
        if match is None:
            raise fail(
                f"binding:profile.pci_vendor_info {show(info)} is not "
                "'vvvv:pppp' (4 hex digits each)"
            )
        vendor_id, product_id = match.groups()
    return PciProfile(
        pci_slot=address,
        vendor_id=vendor_id,
        product_id=product_id,
        physical_network=_opt_str(
            value,
            "physical_network",
            "binding:profile.physical_network",
            fail,
        ),
        trusted=_bool(
            value.get("trusted", False), "binding:profile.trusted", fail
        ),
    )


def _pci_address(value: object) -> PciAddress | None:
    # Only text is parsed: parse() quotes what it is given in its error,
    # and repr of a huge int raises.
    if not isinstance(value, str):
        return None
    try:
        return PciAddress.parse(value)
    except exception.InvalidPciAddress:
        return None


def _segment(body: Mapping[str, Any], where: str, fail: _Fail) -> Segment:
    seg_id = body.get("provider:segmentation_id")
    return Segment(
        network_type=_opt_str(
            body,
            "provider:network_type",
            f"{where}.provider:network_type",
            fail,
        ),
        physical_network=_opt_str(
            body,
            "provider:physical_network",
            f"{where}.provider:physical_network",
            fail,
        ),
        segmentation_id=None
        if seg_id is None
        else _int(
            seg_id,
            f"{where}.provider:segmentation_id",
            fail,
            top=MAX_SEGMENTATION_ID,
        ),
    )


def _opt_str(
    body: Mapping[str, Any], key: str, field: str, fail: _Fail
) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(f"{field} {show(value)} is not a string")
    return value


def _opt_uuid(body: Mapping[str, Any], key: str, fail: _Fail) -> str | None:
    value = _opt_str(body, key, key, fail)
    if value is not None and not _UUID.fullmatch(value):
        raise fail(f"{key} {show(value)} is not a UUID")
    return value


def _int(
    value: object, field: str, fail: _Fail, *, bottom: int = 0, top: int
) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            # Past 20 digits it is out of range; int() of thousands of
            # digits would raise ValueError instead.
            number = int(text) if len(text) <= 20 else top + 1
    if number is None:
        raise fail(f"{field} {show(value)} is not an integer")
    if not bottom <= number <= top:
        raise fail(f"{field} {show(value)} is outside {bottom}-{top}")
    return number


def _mtu(value: object, fail: _Fail) -> int:
    # Any integer first, so that -1 and 67 get the same message as 10**30.
    mtu = _int(value, "network.mtu", fail, bottom=-(10**20), top=10**20)
    if mtu != 0 and not MIN_MTU <= mtu <= MAX_MTU:
        raise fail(
            f"network.mtu {show(value)} is outside {MIN_MTU}-{MAX_MTU} "
            "(or 0: unknown)"
        )
    return mtu


_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def _bool(value: object, field: str, fail: _Fail) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise fail(f"{field} {show(value)} is not a boolean")
