"""libvirt's integer versions and their text.

libvirt reports its own and the hypervisor's versions as one integer,
major * 1,000,000 + minor * 1,000 + micro.  :mod:`host` reports them and
:mod:`traits` decides on them; both spell them through this module, so a
version is never written two ways.  It must not import libvirt or decide
anything.
"""

from __future__ import annotations


def int_to_version(value: int) -> str:
    """``6003000`` -> ``"6.3.0"``."""
    return f"{value // 1_000_000}.{value // 1_000 % 1_000}.{value % 1_000}"
