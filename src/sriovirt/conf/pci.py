"""[pci] options: the device whitelist and the flavor aliases.

Besides registering the options, this module answers one question the
option object cannot: oslo.config merges the values of ``[pci]
device_spec`` and its deprecated names into one list, and
:func:`device_spec_values` says which name each value was read from, so
messages name the line the operator really wrote.  It must not parse the
values (that is :mod:`sriovirt.pci.whitelist`'s job).
"""

from __future__ import annotations

from collections import deque

from oslo_config import cfg

from sriovirt.pci.config_entries import OptionValue
from sriovirt.pci.devspec import DEFAULT_OPTION

pci_group = cfg.OptGroup(
    "pci", title="PCI passthrough", help="PCI and SR-IOV device options."
)

opts: list[cfg.Opt] = [
    cfg.MultiStrOpt(
        "device_spec",
        default=[],
        deprecated_opts=[
            cfg.DeprecatedOpt("passthrough_whitelist", group="pci"),
            cfg.DeprecatedOpt("pci_passthrough_whitelist", group="DEFAULT"),
        ],
        help="""
Host PCI devices instances may use.  Each value is a JSON object, or a JSON
list of objects; the first entry that matches a device wins.

Keys: ``vendor_id`` and ``product_id`` (4-digit hex, ``*`` for any);
``address``, either a glob ``[[[[domain]:]bus]:][slot][.[function]]`` with
``*`` fields, or an object of per-field regular expressions (``domain``,
``bus``, ``slot``, ``function``) that must match the whole field,
case-insensitively; ``devname``, a network interface name.  ``address``
and ``devname`` are mutually exclusive.  A fully specified PF address, or a
PF's interface name, matches the PF and its VFs.  Every other key is a tag:
``physical_network``, ``trusted``, ``remote_managed``, ``managed``,
``live_migratable``, ``one_time_use`` (booleans, normalised to
"true"/"false"), ``resource_class``, ``traits``, or your own.  An empty
object is rejected: write ``{"vendor_id": "*"}`` to whitelist everything
on purpose.

Example::

    device_spec = {"address": "0000:81:00.0", "physical_network": "physnet1"}
    device_spec = [{"vendor_id": "15b3", "product_id": "1018",
                    "physical_network": null}]
""",
    ),
    cfg.MultiStrOpt(
        "alias",
        default=[],
        help="""
Named PCI device requests for flavors (``pci_passthrough:alias``).  Each
value is a JSON object with ``name``, ``vendor_id``, ``product_id`` and
optionally ``device_type`` (``type-PCI``, ``type-PF``, ``type-VF``) and
``numa_policy`` (``required``, ``legacy``, ``preferred``, ``socket``).
""",
    ),
]


#: The deprecated names of ``device_spec``, as (group, name), in the order
#: oslo.config puts their values before ``device_spec``'s own.
DEPRECATED_DEVICE_SPEC = (
    ("DEFAULT", "pci_passthrough_whitelist"),
    ("pci", "passthrough_whitelist"),
)


def _label(group: str, name: str) -> str:
    return f"[{group}] {name}"


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(pci_group)
    conf.register_opts(opts, group=pci_group)
    # Each deprecated name is also registered on its own (and kept out of
    # list_opts, so the sample does not document it): reading it gives
    # that name's values alone, which device_spec_values needs.
    for group, name in DEPRECATED_DEVICE_SPEC:
        conf.register_opt(
            cfg.MultiStrOpt(
                name,
                default=[],
                help="Deprecated; read as [pci] device_spec.",
            ),
            group=None if group == "DEFAULT" else group,
        )


def device_spec_values(conf: cfg.ConfigOpts) -> list[OptionValue]:
    """The merged ``device_spec`` values, each with the option it is from.

    In oslo.config's merged order (the order entries are numbered and
    matched in).  A value is labelled with a deprecated name when that
    name holds it, in that name's own order; an override of
    ``device_spec`` replaces the files, so deprecated values absent from
    the merged list are not reported.
    """
    merged = list(conf.pci.device_spec)
    queues = []
    for group, name in DEPRECATED_DEVICE_SPEC:
        section = conf if group == "DEFAULT" else conf[group]
        values = section[name]
        if values:
            queues.append((_label(group, name), deque(values)))
    labelled = []
    for text in merged:
        option = DEFAULT_OPTION
        for label, queue in queues:
            if queue and queue[0] == text:
                queue.popleft()
                option = label
                break
        labelled.append(OptionValue(option, text))
    return labelled


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("pci", opts)]
