"""Checks of values a port or a host hands to Linux and libvirt.

:func:`ifname_problem` (a Linux network interface name) and
:func:`text_problem` (text libvirt's XML can carry) say why a value is
unusable, or None; :func:`show` quotes a value in an error message, one
line and bounded.  The Neutron body reader
(:mod:`~sriovirt.network.neutron_body`), the VIF builder and the host
inventory (:mod:`sriovirt.virt.libvirt.vif`, ``inventory``) all use these
same checks.

Pure: this module must not raise for a bad value (callers name the port
or device it came from), and must not import anything of the project.
"""

from __future__ import annotations

import math
import re

#: Linux IFNAMSIZ (16 bytes) less the terminating NUL.
IFNAME_MAX = 15
#: Longest value quoted in an error message; the rest is elided.
_SHOWN = 60

# C0 and C1 controls, DEL, surrogates and the two non-characters: none of
# them can be written into libvirt's XML.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Linux dev_valid_name() refuses these in an interface name.
_IFNAME_BAD = re.compile(r"[/:\s]")


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
