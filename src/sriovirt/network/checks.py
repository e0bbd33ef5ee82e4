"""Checks of values a port or a host hands to Linux and libvirt.

:func:`ifname_problem` (a Linux network interface name) and
:func:`text_problem` (text libvirt's XML can carry) say why a value is
unusable, or None; :func:`show` quotes a value in an error message, one
line and bounded.  The Neutron body reader
(:mod:`~sriovirt.network.neutron_body`), the VIF builder and the host
inventory (:mod:`sriovirt.virt.libvirt.vif`, ``inventory``) all use these
same checks.

The name and MAC rules themselves live in :mod:`sriovirt.pci.netdev`
(the host's PCI netdevs and ``device_spec`` ``devname`` use them too);
:func:`ifname_problem` is re-exported from there.

Pure: this module must not raise for a bad value (callers name the port
or device it came from).
"""

from __future__ import annotations

import math

from sriovirt.pci.netdev import CONTROL, IFNAME_MAX, ifname_problem

__all__ = ["IFNAME_MAX", "ifname_problem", "show", "text_problem"]

#: Longest value quoted in an error message; the rest is elided.
_SHOWN = 60


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
    if CONTROL.search(value):
        return "contains a control character"
    return None
