"""[pci] options: the device whitelist and the flavor aliases."""

from __future__ import annotations

from oslo_config import cfg

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


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(pci_group)
    conf.register_opts(opts, group=pci_group)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("pci", opts)]
