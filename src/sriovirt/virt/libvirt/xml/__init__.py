"""Declarative models of libvirt XML: mapping only, no policy.

``base`` is the engine (frozen dataclasses <-> lxml, one declaration per
field), ``fields`` its field kinds, ``convert`` its value converters and
``document`` text in and out (with ``RawXml`` for what no model knows);
``nodedev``, ``interface``, ``hostdev`` and ``domain`` are the models
built on them.  Nothing in this package imports libvirt, configuration,
objects or the database, and nothing here decides what a guest should
get: :mod:`sriovirt.virt.libvirt.vif` does.
"""
