"""What Linux accepts as a network device's name and MAC address.

A PCI network function has a netdev (``HostPciDevice.ifname``) and a MAC;
ports, ``device_spec`` entries (``devname``) and the guest XML carry the
same two kinds of value.  This module is the one place that says whether
such a value is usable: the whitelist, the host inventory, the Neutron
body reader, the VIF builder and the XML converters all ask it.

Pure: each check returns why a value is unusable, or ``None``; it never
raises (callers name the entry, device or port the value came from) and
imports nothing of the project.
"""

from __future__ import annotations

import re

#: Linux IFNAMSIZ (16 bytes) less the terminating NUL.
IFNAME_MAX = 15

# C0 and C1 controls, DEL, surrogates and the two non-characters: none of
# them can be written into libvirt's XML, nor belong in a name.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Linux dev_valid_name() refuses these in an interface name.
_IFNAME_BAD = re.compile(r"[/:\s]")
# Six lowercase hex octets separated by colons (callers lowercase first).
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")


def ifname_problem(name: str) -> str | None:
    """Why ``name`` cannot be a Linux network interface name, or None.

    The kernel's ``dev_valid_name()``: 1-15 bytes (IFNAMSIZ less the
    NUL), not ``.`` or ``..``, no ``/``, ``:`` or whitespace; and no
    control characters, which libvirt's XML cannot carry either.
    """
    if CONTROL.search(name):
        return "contains a control character"
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


def mac_problem(mac: str) -> str | None:
    """Why lowercase ``mac`` is not a MAC address ``xx:xx:xx:xx:xx:xx``."""
    if _MAC.fullmatch(mac) is None:
        return "is not a MAC address"
    return None
