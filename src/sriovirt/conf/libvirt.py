"""[libvirt] options: which hypervisor to talk to and NIC tuning."""

from __future__ import annotations

from oslo_config import cfg

from sriovirt import paths

libvirt_group = cfg.OptGroup(
    "libvirt", title="libvirt", help="libvirt connection and guest options."
)

opts: list[cfg.Opt] = [
    cfg.StrOpt(
        "connection_uri",
        default=paths.test_driver_uri(paths.sample_host("small")),
        sample_default="test:///<sriovirt>/etc/sriovirt/hosts/small.xml",
        help="libvirt URI of this host.  The default is libvirt's test "
        "driver on the packaged sample host (no daemon needed); real "
        "deployments use qemu:///system.",
    ),
    cfg.IntOpt(
        "rx_queue_size",
        choices=[256, 512, 1024],
        help="Receive queue size of virtio interfaces (vhost and "
        "vhostuser backends); unset leaves QEMU's default.",
    ),
    cfg.IntOpt(
        "tx_queue_size",
        choices=[256, 512, 1024],
        help="Transmit queue size of virtio interfaces (vhostuser "
        "backends); unset leaves QEMU's default.",
    ),
    cfg.IntOpt(
        "max_queues",
        min=1,
        help="Upper bound on virtio multiqueue; unset lets the guest's "
        "vCPU count decide.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(libvirt_group)
    conf.register_opts(opts, group=libvirt_group)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("libvirt", opts)]
