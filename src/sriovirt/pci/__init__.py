"""Pure PCI domain logic: addresses, whitelist, devices, requests, pools.

Nothing in this package may import libvirt, oslo, SQLAlchemy or any other
part of sriovirt except :mod:`sriovirt.exception`; configuration arrives as
plain values.  A test enforces this.
"""
