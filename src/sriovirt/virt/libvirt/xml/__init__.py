"""Declarative models of libvirt XML: mapping only, no policy.

``base`` is the engine (frozen dataclasses <-> lxml, one declaration per
field) and ``convert`` its value converters; ``nodedev``, ``interface``,
``hostdev`` and ``domain`` are the models built on them.  Nothing in this
package imports libvirt, configuration, objects or the database, and
nothing here decides what a guest should get:
:mod:`sriovirt.virt.libvirt.vif` does.
"""
